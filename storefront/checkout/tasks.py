"""RQ jobs of the checkout domain. Jobs take ids and are idempotent."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import update

from storefront.accounts.models import Company
from storefront.catalog.images import first_images
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.notifications.email import build_message, send_email
from storefront.types import utcnow


def send_order_confirmation(order_id: int) -> bool:
    """Email the order confirmation once; returns False when it was already sent.

    A NEEDS_REVIEW order (paid, but the amount or a discount did not match) is not
    confirmed: its email says the order is being reviewed (emails/order_review.*).
    The sent mark is claimed with a conditional UPDATE before sending and released when
    delivery fails, so a retried job never sends twice. Runs in an app context (worker.py).
    """
    claimed = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.confirmation_sent_at.is_(None))
        .values(confirmation_sent_at=utcnow())
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return False
    order = db.session.get(Order, order_id)
    if not order.email:
        return False
    company = db.session.get(Company, order.company_id)
    # Each line's product photo, as an absolute JPEG URL (components/_image.html email_image).
    context = {"order": order, "company": company, "images": first_images(line.variant_id for line in order.lines)}
    reviewing = order.status == "NEEDS_REVIEW"
    template = "emails/order_review" if reviewing else "emails/order_confirmation"
    message = build_message(
        order.email,
        f"{company.name}: order #{order.number} " + ("received, we're reviewing it" if reviewing else "confirmed"),
        render_template(f"{template}.txt", **context),
        render_template(f"{template}.html", **context),
    )
    try:
        send_email(message)
    except Exception:
        db.session.execute(update(Order).where(Order.id == order_id).values(confirmation_sent_at=None))
        db.session.commit()
        raise
    return True
