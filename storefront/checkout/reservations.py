"""Stock held while a shopper pays, so that no one is charged for stock that is gone.

Pay holds the cart's tracked units for STOCK_RESERVATION_MINUTES (default 10: Spree holds
stock for the same time), before any PaymentIntent is created or confirmed; when the units
are not there the shopper is told which item sold out, and nothing is charged. What others
can buy is the stock minus the active (unexpired) reservations of other carts
(``catalog.models.Variant.available``); an expired reservation counts nowhere.

The transitions, each idempotent and each locking variant rows in id order (the order
``complete_order`` has always locked them in, so the two never deadlock):

- ``reserve_cart`` (Pay): holds each tracked line when stock minus other carts' active
  reservations covers it. The same cart paying again updates its own rows in place:
  the same version extends them, a changed cart re-sizes them and drops lines it no longer
  has; never a second hold.
- ``take_reserved_stock`` (order creation): turns the hold into the sale with the
  conditional ``UPDATE variants SET stock = stock - :qty WHERE stock - <other carts' active
  reservations> >= :qty``, then deletes the cart's rows. It fails only when the cart's own
  hold had expired and the stock went meanwhile: the order is then refunded (the last resort).
- ``release_cart``: drops a cart's hold.
- ``release_expired`` (cron): deletes expired rows, claimed with FOR UPDATE SKIP LOCKED.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from storefront.cart.models import Cart, LineItem
from storefront.catalog.models import StockReservation, Variant
from storefront.extensions import db
from storefront.types import utcnow

DEFAULT_MINUTES = 10
RELEASE_BATCH = 500


def hold_time() -> timedelta:
    """How long Pay holds stock: STOCK_RESERVATION_MINUTES (default 10)."""
    return timedelta(minutes=int(current_app.config.get("STOCK_RESERVATION_MINUTES", DEFAULT_MINUTES)))


@dataclass(frozen=True)
class Shortage:
    """A line the stock cannot cover: ``available`` units of ``wanted`` (units, not cents)."""

    variant_id: int
    title: str
    wanted: int
    available: int


class SoldOut(ValueError):
    """Pay could not hold the stock of one or more lines; ``str(error)`` names the items and
    says that nothing was charged. ``shortages`` lists them in variant id order."""

    def __init__(self, shortages: list[Shortage]):
        self.shortages = shortages
        gone = [s.title for s in shortages if s.available == 0]
        low = [f"{s.available} of {s.title}" for s in shortages if s.available > 0]
        parts = []
        if gone:
            parts.append(f"{_join(gone)} sold out while you were shopping")
        if low:
            parts.append(f"only {_join(low)} left")
        super().__init__(f"Sorry, {'; '.join(parts)}. Nothing was charged: please review your cart.")


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _others_reserved(cart_id: int, now: datetime):
    """Units held by other carts' active reservations of the variant being updated: a
    scalar subquery correlated to ``variants``."""
    return (
        select(func.coalesce(func.sum(StockReservation.quantity), 0))
        .where(
            StockReservation.variant_id == Variant.id,
            StockReservation.cart_id != cart_id,
            StockReservation.expires_at > now,
        )
        .scalar_subquery()
    )


def _lock_tracked(variant_ids) -> dict[int, int]:
    """Lock the tracked variants among ``variant_ids`` (FOR UPDATE, in id order); {id: stock}."""
    if not variant_ids:
        return {}
    rows = db.session.execute(
        select(Variant.id, Variant.stock)
        .where(Variant.id.in_(sorted(variant_ids)), Variant.track_inventory.is_(True))
        .order_by(Variant.id)
        .with_for_update()
    ).all()
    return {variant_id: stock for variant_id, stock in rows}


def _title(variant_id: int) -> str:
    variant = db.session.get(Variant, variant_id)
    return f"{variant.product.title} ({variant.label})" if variant.label else variant.product.title


def reserve_cart(cart: Cart, *, now: datetime | None = None) -> datetime | None:
    """Hold the cart's tracked lines until ``now`` + ``hold_time()``; returns that time, or
    None when no line is tracked (nothing to hold). Commits.

    Each tracked line needs ``quantity`` <= stock minus other carts' active reservations,
    checked under the variants' row locks. The cart's own rows are updated in place (one row
    per cart and variant: a repeat click extends, a changed cart re-sizes); rows for variants
    no longer in the cart are dropped. Raises SoldOut (and changes nothing) naming every
    line the stock cannot cover.
    """
    now = now or utcnow()
    wanted = dict(db.session.execute(
        select(LineItem.variant_id, LineItem.quantity).where(LineItem.cart_id == cart.id)
    ).all())
    cart_id, version = cart.id, cart.version
    stock = _lock_tracked(wanted)
    # Read after the locks are held: every hold is written under the same locks, so this
    # statement sees all of them.
    others = dict(db.session.execute(
        select(StockReservation.variant_id, func.sum(StockReservation.quantity))
        .where(StockReservation.variant_id.in_(list(stock)), StockReservation.cart_id != cart_id,
               StockReservation.expires_at > now)
        .group_by(StockReservation.variant_id)
    ).all()) if stock else {}
    shortages = []
    for variant_id, units in stock.items():
        free = max(units - others.get(variant_id, 0), 0)
        if wanted[variant_id] > free:
            shortages.append(Shortage(variant_id, _title(variant_id), wanted[variant_id], free))
    if shortages:
        db.session.rollback()
        raise SoldOut(shortages)
    expires_at = now + hold_time()
    for variant_id in stock:
        values = {"quantity": wanted[variant_id], "cart_version": version, "expires_at": expires_at}
        extended = db.session.execute(
            update(StockReservation)
            .where(StockReservation.cart_id == cart_id, StockReservation.variant_id == variant_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if extended.rowcount == 0:
            # None yet, or the cron job deleted an expired one while this waited for it.
            db.session.add(StockReservation(company_id=cart.company_id, cart_id=cart_id,
                                            variant_id=variant_id, **values))
    db.session.execute(
        delete(StockReservation)
        .where(StockReservation.cart_id == cart_id, StockReservation.variant_id.not_in(list(stock)))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return expires_at if stock else None


def take_reserved_stock(cart_id: int, lines: dict[int, int], *, now: datetime | None = None) -> bool:
    """Take ``lines`` ({variant id: units}) out of stock for the cart's order; True when every
    tracked line was covered. Does not commit: ``complete_order`` owns the transaction.

    Locks the tracked variants in id order, then decrements each by the conditional UPDATE
    ``stock - <other carts' active reservations> >= units``: the cart's own hold (expired or
    not) is what it takes, and no other cart's active hold is ever taken. When a line
    fails, the lines already taken go back and nothing changes but the cart's hold, which is
    dropped either way (the cart is converted).
    """
    now = now or utcnow()
    taken: list[tuple[int, int]] = []
    covered = True
    for variant_id in _lock_tracked(lines):
        units = lines[variant_id]
        result = db.session.execute(
            update(Variant)
            .where(Variant.id == variant_id, Variant.stock - _others_reserved(cart_id, now) >= units)
            .values(stock=Variant.stock - units)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            covered = False
            break
        taken.append((variant_id, units))
    if not covered:
        for variant_id, units in taken:
            db.session.execute(
                update(Variant).where(Variant.id == variant_id).values(stock=Variant.stock + units)
                .execution_options(synchronize_session=False)
            )
    db.session.execute(
        delete(StockReservation).where(StockReservation.cart_id == cart_id)
        .execution_options(synchronize_session=False)
    )
    return covered


def release_cart(cart_id: int) -> int:
    """Drop the cart's hold; returns how many rows went. Idempotent. Commits."""
    result = db.session.execute(
        delete(StockReservation).where(StockReservation.cart_id == cart_id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def release_expired(now: datetime | None = None, batch: int = RELEASE_BATCH) -> int:
    """Delete reservations whose ``expires_at`` is at or before ``now``; returns how many.

    The cron job (``storefront.cron.release_reservations``). Claims rows on the indexed
    ``expires_at`` with FOR UPDATE SKIP LOCKED (ignored by SQLite), so two runs at once, or a
    shopper extending a hold meanwhile, never collide. Idempotent. Commits per batch.
    """
    now = now or utcnow()
    released = 0
    while True:
        ids = db.session.execute(
            select(StockReservation.id).where(StockReservation.expires_at <= now)
            .order_by(StockReservation.expires_at, StockReservation.id).limit(batch)
            .with_for_update(skip_locked=True)
        ).scalars().all()
        if not ids:
            db.session.rollback()
            return released
        result = db.session.execute(
            delete(StockReservation).where(StockReservation.id.in_(ids), StockReservation.expires_at <= now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        released += result.rowcount
        if len(ids) < batch:
            return released
