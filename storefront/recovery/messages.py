"""What a recovery message says: in the merchant's own name, with the cart's lines (photo,
title, quantity and price read from the database now), the theme's colours, the support
email, the restore link and the stage's code. Lines out of stock are left out; with none
left there is nothing to send (``compose`` returns None).

The angle of the words comes from the diagnosed abandonment reason (stage DIAGNOSIS): a
price-shock message speaks of no surprises at the end, a payment-friction one of other
ways to pay.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.cart.services import cart_info
from storefront.extensions import db
from storefront.landing.models import LandingPage
from storefront.money import format_money
from storefront.notifications.suppression import unsubscribe_token
from storefront.recovery.models import CartIntervention
from storefront.themes.validation import ThemeError, resolve, validate_theme

ANGLES = {
    "PRICE_SHOCK": "Shipping and tax are shown before you pay: no surprises at the end.",
    "PAYMENT_FRICTION": "Paying takes a moment and is secure: your card goes straight to Stripe, and another card "
                        "works just as well.",
    "TECHNICAL_ERROR": "Sorry if something went wrong at checkout. Your details are saved, so you can pick up "
                       "where you left off.",
    "COMPARISON_SHOPPING": "Still comparing? Our returns are easy and every order is covered by our guarantee.",
    "TRUST_CONCERN": "Questions before you buy? Reply to this email and a person will answer.",
    "DISTRACTION": "Life gets busy. We kept everything just as you left it.",
    "FORM_FATIGUE": "Your details are saved, so finishing takes a few seconds.",
    "UNKNOWN": "We kept everything just as you left it.",
}
SUBJECTS = {
    "REMINDER": "You left something in your cart at {store}",
    "INCENTIVE": "{percent} % off your cart at {store}",
    "FINAL": "Last chance: {percent} % off your cart at {store}, for 24 hours",
}
VOICE_PROMPT = "Press 1 to get a text with your cart link, or press 2 for no more calls."


@dataclass
class Content:
    """A message ready to send: ``subject`` and the email template's ``context``; the SMS
    ``text``; the call's ``script`` and ``prompt``; ``lines`` sent (in stock) and
    ``left_out`` titles (out of stock)."""

    subject: str
    context: dict
    text: str
    script: str
    prompt: str
    lines: list[dict] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def restore_url(intervention: CartIntervention) -> str:
    """The 256-bit restore link of a message: PUBLIC_URL/recover/<token>."""
    return f"{current_app.config['PUBLIC_URL']}/recover/{intervention.token}"


def open_url(intervention: CartIntervention) -> str:
    """The email's open image (``tracking``): PUBLIC_URL/recover/<token>/open.gif."""
    return f"{current_app.config['PUBLIC_URL']}/recover/{intervention.token}/open.gif"


def unsubscribe_url(company_id: int, email: str) -> str:
    """The signed one-click unsubscribe link (never expires, no cookies needed)."""
    return f"{current_app.config['PUBLIC_URL']}/unsubscribe/{unsubscribe_token(company_id, email)}"


def theme_colours(cart: Cart) -> dict[str, str]:
    """The colours of the cart's landing page theme (the default theme without one)."""
    page = db.session.get(LandingPage, cart.landing_page_id) if cart.landing_page_id else None
    try:
        values = resolve(validate_theme(page.theme if page else {}))
    except ThemeError:
        values = resolve(validate_theme({}))
    return {name: values[name] for name in ("color-bg", "color-text", "color-primary", "color-primary-text",
                                            "color-muted", "color-border")}


def _absolute(src: str | None) -> str | None:
    if src and src.startswith("/"):
        return current_app.config["PUBLIC_URL"] + src
    return src


def compose(intervention: CartIntervention, cart: Cart, company: Company, email: str | None) -> Content | None:
    """The message of ``intervention`` for ``cart`` now, or None when no line is in stock."""
    info = cart_info(cart, cart.currency)
    lines, left_out = [], []
    for line in info.lines:
        if line.available is not None and line.available < 1:
            left_out.append(line.product_title)
            continue
        quantity = line.quantity if line.available is None else min(line.quantity, line.available)
        lines.append({"title": line.product_title, "variant": line.variant_label, "quantity": quantity,
                      "image": _absolute(line.image_src), "image_alt": line.image_alt,
                      "price": format_money(line.unit_price_cents * quantity, cart.currency, company.locale)})
    if not lines:
        return None
    store = company.name
    link = restore_url(intervention)
    percent = intervention.offer_percent
    code = intervention.offer_code
    angle = ANGLES.get(intervention.angle or "UNKNOWN", ANGLES["UNKNOWN"])
    subject = SUBJECTS.get(intervention.type, SUBJECTS["REMINDER"]).format(store=store, percent=percent)
    offer = None
    if code:
        offer = f"Use code {code} for {percent} % off"
        if intervention.offer_expires_at:
            offer += f" (valid until {intervention.offer_expires_at:%Y-%m-%d %H:%M} UTC)"
        offer += "; the link applies it for you."
    paragraphs = [angle] + ([offer] if offer else [])
    if left_out:
        paragraphs.append("Sold out since you left: " + ", ".join(left_out) + ".")
    context = {
        "company": company, "heading": "Your cart is waiting", "paragraphs": paragraphs, "lines": lines,
        "action_url": link, "action_label": "Return to my cart", "colours": theme_colours(cart),
        "code": code, "percent": percent, "open_url": open_url(intervention),
    }
    text = f"{store}: your cart is waiting. {link}"
    if code:
        text += f" Code {code}: {percent} % off."
    text += " Reply STOP to opt out."
    count = sum(line["quantity"] for line in lines)
    script = (f"Hello, this is {store}. You left {count} item{'s' if count != 1 else ''} in your cart, "
              f"including {lines[0]['title']}. We kept it for you.")
    return Content(subject=subject, context=context, text=text, script=script, prompt=VOICE_PROMPT, lines=lines,
                   left_out=left_out)


def unsubscribe_for(company_id: int, email: str | None) -> str | None:
    """The unsubscribe link of ``email``, None without one or when it is not an address."""
    if not email:
        return None
    try:
        return unsubscribe_url(company_id, email)
    except ValueError:
        return None
