"""RQ jobs of the checkout domain. Jobs take ids and are idempotent."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import update

from storefront.accounts.models import Company
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.notifications.email import build_message, send_email
from storefront.types import utcnow


def send_order_confirmation(order_id: int) -> bool:
    """Email the order confirmation once; returns False when it was already sent.

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
    context = {"order": order, "company": company}
    message = build_message(
        order.email,
        f"{company.name}: order #{order.number} confirmed",
        render_template("emails/order_confirmation.txt", **context),
        render_template("emails/order_confirmation.html", **context),
    )
    try:
        send_email(message)
    except Exception:
        db.session.execute(update(Order).where(Order.id == order_id).values(confirmation_sent_at=None))
        db.session.commit()
        raise
    return True
