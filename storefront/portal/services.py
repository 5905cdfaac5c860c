"""The portal's reads and the account changes that are not billing's: orders, saved cards,
email preferences, name and addresses. Every read is scoped to the signed-in customer at
their merchant; an id or token of anyone else's answers None (the route's 404).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from storefront.billing.lifecycle import customer_subscriptions, subscription_of
from storefront.billing.models import Subscription
from storefront.checkout.models import Customer, Order
from storefront.extensions import db
from storefront.landing.models import LandingPage
from storefront.landing.services import shop_context
from storefront.notifications.suppression import is_suppressed, resubscribe, suppress
from storefront.payments import gateway
from storefront.payments import saved_cards as kept_cards

log = logging.getLogger(__name__)

ORDERS_SHOWN = 50
ADDRESS_KEYS = ("address1", "address2", "city", "postcode", "country")  # checkout's (checkout/orders.py)


def shop_for(company_id: int) -> dict:
    """The template context of the shop's look (``shop_page`` for its theme, name, link
    back): the merchant's most recently published landing page."""
    page_id = db.session.execute(
        select(LandingPage.id).where(LandingPage.company_id == company_id, LandingPage.status == "published")
        .order_by(LandingPage.id.desc()).limit(1)
    ).scalar_one_or_none()
    return shop_context(company_id, page_id)


def orders_of(customer: Customer) -> list[Order]:
    """The customer's orders at their merchant, newest first (by customer or by address)."""
    return list(db.session.execute(
        select(Order).where(Order.company_id == customer.company_id,
                            (Order.customer_id == customer.id) | (Order.email == customer.email))
        .order_by(Order.created_at.desc(), Order.id.desc()).limit(ORDERS_SHOWN)
    ).scalars())


def order_of(customer: Customer, token: str) -> Order | None:
    """The customer's order with that lookup token, or None (another's, or unknown)."""
    order = db.session.execute(select(Order).where(Order.token == token)).scalar_one_or_none()
    if order is None or order.company_id != customer.company_id:
        return None
    if order.customer_id != customer.id and (order.email or "").lower() != customer.email.lower():
        return None
    return order


@dataclass
class SavedCard:
    """One saved card: its PaymentMethod id, what Stripe says of it (brand, last4, expiry;
    empty when Stripe did not answer) and the subscriptions using it."""

    id: str
    details: dict
    subscriptions: list[Subscription] = field(default_factory=list)

    @property
    def needed(self) -> bool:
        """True while a subscription that is not cancelled would charge it."""
        return any(sub.status != "CANCELED" for sub in self.subscriptions)


def saved_cards(customer: Customer, describe: bool = True) -> list[SavedCard]:
    """The cards the customer's subscriptions keep, each with the subscriptions using it."""
    cards: dict[str, SavedCard] = {}
    for sub in customer_subscriptions(customer.company_id, customer.id):
        if sub.payment_method_id:
            cards.setdefault(sub.payment_method_id, SavedCard(sub.payment_method_id, {})).subscriptions.append(sub)
    if describe:
        for card in cards.values():
            try:
                card.details = kept_cards.describe_payment_method(card.id)
            except gateway.PaymentError:
                log.warning("could not describe a saved card of customer %s", customer.id)
    return list(cards.values())


def remove_card(customer: Customer, payment_method_id: str) -> tuple[bool, str]:
    """Forget a saved card no live subscription needs: detached in Stripe, cleared from the
    customer's cancelled subscriptions. Returns (removed, words); an unknown card or one
    still needed is refused. Raises gateway.PaymentError when Stripe fails."""
    card = next((c for c in saved_cards(customer, describe=False) if c.id == payment_method_id), None)
    if card is None:
        return False, "That card is not saved on your account."
    if card.needed:
        return False, "A subscription still uses this card: update that subscription's card first, or cancel it."
    kept_cards.detach_payment_method(card.id)
    for sub in card.subscriptions:
        subscription_of(sub.id, customer.company_id, customer.id, lock=True).payment_method_id = None
    db.session.commit()
    return True, "The card is removed."


def emails_wanted(customer: Customer) -> bool:
    """True unless the customer's address is on the merchant's suppression list."""
    return not is_suppressed(customer.company_id, customer.email)


def set_emails_wanted(customer: Customer, wanted: bool) -> tuple[bool, str]:
    """Unsubscribe from, or subscribe again to, the merchant's reminders and offers (order
    and account emails always come). Returns (changed, words)."""
    if wanted:
        changed = resubscribe(customer.company_id, customer.email)
        return changed, "You'll get our emails again." if changed else "You already get our emails."
    changed = suppress(customer.company_id, customer.email, "UNSUBSCRIBED", source="portal")
    return changed, "You're unsubscribed." if changed else "You're already unsubscribed."


def update_details(customer: Customer, first_name: str | None, last_name: str | None) -> str:
    """A new name. Commits; returns the words for the customer."""
    customer.first_name, customer.last_name = first_name or None, last_name or None
    db.session.commit()
    return "Your name is saved."


def update_address(customer: Customer, sub_id: int, address: dict) -> str:
    """The delivery address of one of the customer's subscriptions (ADDRESS_KEYS, cleaned by
    the form). Commits. Raises lifecycle.NotYours."""
    sub = subscription_of(sub_id, customer.company_id, customer.id, lock=True)
    sub.shipping_address = {key: address[key] for key in ADDRESS_KEYS if address.get(key)}
    db.session.commit()
    return "The delivery address is saved."
