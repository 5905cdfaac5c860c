"""Reads shared by the billing engine, its services and dunning."""
from __future__ import annotations

from sqlalchemy import select

from storefront.billing.models import PaymentAttempt
from storefront.extensions import db


def attempts_of(invoice_id: int) -> list[PaymentAttempt]:
    """The invoice's attempts, by number, read fresh (the session keeps objects across
    commits, so a loaded ``Invoice.attempts`` may be stale)."""
    return list(db.session.execute(
        select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice_id).order_by(PaymentAttempt.number)
        .execution_options(populate_existing=True)
    ).scalars())
