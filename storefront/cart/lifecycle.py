"""Cart lifecycle: abandonment and expiry (run by the cron jobs in ``storefront/cron.py``),
and merging a returning shopper's old open cart into the current one.

Statuses: ACTIVE (in use) → ABANDONED (idle with a way to reach the shopper; recovery picks
it up, and the shopper who comes back keeps it: ``services.touch`` makes it ACTIVE again) →
EXPIRED (idle too long). CONVERTED is set by checkout, MERGED here.

``updated_at`` stays the shopper's last change: the jobs set it explicitly to itself, so the
column's ``onupdate`` does not move it. Recovery can then time its steps from the last change
with the same ``(status, updated_at)`` index the jobs use.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import Update

from storefront.cart.models import Cart, LineItem
from storefront.cart.services import USABLE_STATUSES, touch
from storefront.catalog.availability import availability
from storefront.catalog.models import Variant
from storefront.extensions import db
from storefront.types import utcnow

OPEN_STATUSES = USABLE_STATUSES
DEFAULT_ABANDON_MINUTES = 20  # as CartFlows: recovery starts soon after the shopper leaves
DEFAULT_EXPIRE_DAYS = 30


def abandon_after() -> timedelta:
    """How long an ACTIVE cart may sit unchanged before it counts as abandoned
    (app.config ``CART_ABANDON_MINUTES``, default 20)."""
    return timedelta(minutes=int(current_app.config.get("CART_ABANDON_MINUTES", DEFAULT_ABANDON_MINUTES)))


def expire_after() -> timedelta:
    """How long an open cart may sit unchanged before it expires
    (app.config ``CART_EXPIRE_DAYS``, default 30)."""
    return timedelta(days=int(current_app.config.get("CART_EXPIRE_DAYS", DEFAULT_EXPIRE_DAYS)))


def abandonment_statement(cutoff: datetime) -> Update:
    """The UPDATE that marks ABANDONED every ACTIVE cart last changed before ``cutoff`` (aware
    UTC) that has lines and a captured email or phone. One set-based statement: the index
    ``ix_carts_status_updated (status, updated_at)`` finds the rows."""
    fields = Cart.checkout_fields
    has_lines = exists().where(LineItem.cart_id == Cart.id)
    return (
        update(Cart)
        .where(
            Cart.status == "ACTIVE",
            Cart.updated_at < cutoff,
            has_lines,
            or_(fields["email"].as_string().is_not(None), fields["phone"].as_string().is_not(None)),
        )
        # Keep the shopper's last change as updated_at (no onupdate): see the module docstring.
        .values(status="ABANDONED", updated_at=Cart.updated_at)
        .execution_options(synchronize_session=False)
    )


def expiry_statement(cutoff: datetime) -> Update:
    """The UPDATE that marks EXPIRED every ACTIVE or ABANDONED cart last changed before
    ``cutoff`` (aware UTC). Uses ``ix_carts_status_updated``, one range per status."""
    return (
        update(Cart)
        .where(Cart.status.in_(OPEN_STATUSES), Cart.updated_at < cutoff)
        .values(status="EXPIRED", updated_at=Cart.updated_at)
        .execution_options(synchronize_session=False)
    )


def abandon_idle_carts(now: datetime | None = None) -> int:
    """Mark idle ACTIVE carts with lines and a captured email or phone ABANDONED.

    ``now`` (aware UTC) defaults to the current time. Idempotent: a second run finds nothing.
    Returns how many carts changed. Commits.
    """
    result = db.session.execute(abandonment_statement((now or utcnow()) - abandon_after()))
    db.session.commit()
    return result.rowcount


def expire_stale_carts(now: datetime | None = None) -> int:
    """Mark open (ACTIVE or ABANDONED) carts unchanged for ``expire_after()`` EXPIRED.

    Idempotent. Returns how many carts changed. Commits.
    """
    result = db.session.execute(expiry_statement((now or utcnow()) - expire_after()))
    db.session.commit()
    return result.rowcount


def _old_open_cart_ids(cart: Cart, email: str, known_ids: list[int]) -> list[int]:
    return list(db.session.execute(
        select(Cart.id).where(
            Cart.company_id == cart.company_id,
            Cart.id != cart.id,
            Cart.status.in_(OPEN_STATUSES),
            Cart.currency == cart.currency,
            or_(Cart.checkout_fields["email"].as_string() == email, Cart.id.in_(known_ids)),
        )
    ).scalars())


def merge_open_carts(cart: Cart, email: str, known_ids: list[int] = ()) -> int:
    """Merge the shopper's other open carts (same merchant, ACTIVE or ABANDONED, with ``email``
    in their checkout fields, or among ``known_ids``: carts the shopper is known to have typed
    ``email`` on) into ``cart``; returns the units added.

    Lines are added together, each capped at the variant's stock and at 99; a line that is no
    longer buyable is left behind. Every merged cart becomes MERGED with ``merged_into_id``;
    ``cart`` gets a new version (and is ACTIVE again if it was ABANDONED). The carts are
    locked FOR UPDATE in id order, and their states re-read under the lock, so two requests
    merging the same carts (or each into the other) merge once. Returns 0 when there is
    nothing to merge or ``cart`` itself was merged meanwhile. Does not commit: the calling
    service owns the transaction.
    """
    if not email:
        return 0
    # Nothing may be written before the locks are taken in id order (the caller may hold
    # unsaved changes to ``cart``); writing it first would lock it out of order.
    with db.session.no_autoflush:
        candidates = _old_open_cart_ids(cart, email, list(known_ids))
        if not candidates:
            return 0
        locked = db.session.execute(
            select(Cart.id, Cart.status)
            .where(Cart.id.in_([cart.id, *candidates]))
            .order_by(Cart.id)
            .with_for_update()
        ).all()
    statuses = dict(locked)
    old_ids = [cart_id for cart_id in candidates if statuses.get(cart_id) in OPEN_STATUSES]
    if statuses.get(cart.id) not in OPEN_STATUSES or not old_ids:
        return 0

    current = {
        line.variant_id: line
        for line in db.session.execute(
            select(LineItem).where(LineItem.cart_id == cart.id).execution_options(populate_existing=True)
        ).scalars()
    }
    old_lines = db.session.execute(
        select(LineItem).where(LineItem.cart_id.in_(old_ids)).order_by(LineItem.cart_id, LineItem.id)
    ).scalars().all()
    variants = {
        variant.id: variant
        for variant in db.session.execute(
            select(Variant).where(Variant.id.in_({line.variant_id for line in old_lines}))
            .options(joinedload(Variant.product))
        ).scalars()
    } if old_lines else {}

    added = 0
    for old in old_lines:
        variant = variants.get(old.variant_id)
        if variant is None or variant.company_id != cart.company_id:
            continue
        limit = availability(variant).line_limit
        line = current.get(old.variant_id)
        have = line.quantity if line is not None else 0
        target = min(have + old.quantity, limit)
        if target <= have:
            continue
        if line is None:
            # The price when first added travels along, so the cart can say it changed.
            line = LineItem(cart_id=cart.id, variant_id=old.variant_id, quantity=target,
                            unit_price_cents=old.unit_price_cents)
            db.session.add(line)
            current[old.variant_id] = line
        else:
            line.quantity = target
        added += target - have

    db.session.execute(
        update(Cart).where(Cart.id.in_(old_ids))
        .values(status="MERGED", merged_into_id=cart.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    # Lines were added by cart_id: reload the collection the next time it is read.
    db.session.expire(cart, ["lines"])
    touch(cart)
    return added


def merge_notice(added: int) -> str:
    """The shopper-facing sentence for ``added`` units merged from an earlier cart."""
    return f"We added {added} item{'' if added == 1 else 's'} from your earlier cart."


def shopper_identified(cart: Cart, email: str, known_ids: list[int] = ()) -> int:
    """A newly saved email at checkout: merge the shopper's earlier open carts into ``cart``
    (``merge_open_carts``) and attach this visitor's saved items to the email. Returns the
    units merged (say so with ``merge_notice``). Does not commit (the checkout service does).
    """
    from storefront.cart.saved import attach_saved_items

    added = merge_open_carts(cart, email, known_ids)
    attach_saved_items(cart, email)
    return added
