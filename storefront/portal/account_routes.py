"""The signed-in customer's saved cards, email preferences and account settings.

- ``/account/cards``: the saved cards and the subscriptions using each; a card no live
  subscription needs can be removed.
- ``/account/subscriptions/<id>/card``: a new card for a subscription through a
  SetupIntent, on the same page and the same services as the dunning card-update link
  (``templates/billing/card.html``, ``billing.services``): an owed invoice is retried at once.
- ``/account/settings``: name, each subscription's delivery address, the email address
  (changed through a link sent to the new one) and email preferences.

Same rules as ``portal.routes``: 303 + flash without JavaScript, block + toast for htmx,
422 for a form that does not validate.
"""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, url_for

from storefront.accounts.services import AccountError
from storefront.billing.card_update import new_setup, owed_invoice, save_from_setup
from storefront.billing.lifecycle import NotYours, customer_subscriptions
from storefront.htmx import render, toast, wants_fragment
from storefront.notifications.records import SendError
from storefront.payments.gateway import PaymentError
from storefront.portal import links, services
from storefront.portal.forms import (
    AddressForm,
    DetailsForm,
    EmailChangeForm,
    PreferencesForm,
    RemoveCardForm,
)
from storefront.portal.routes import own_subscription, page_context, signed_in
from storefront.routing import Routes

routes = Routes()


def _done(endpoint: str, block: str, build, message: str, error: bool = False, **values):
    """303 + flash, or the refreshed block + toast for htmx."""
    if wants_fragment():
        return toast(build(), message, "error" if error else "info")
    flash(message, "error" if error else "success")
    return redirect(url_for(endpoint, **values), code=303)


# ----------------------------------------------------------------------------- cards


def _cards_page(status: int = 200, **ctx):
    try:
        cards = services.saved_cards(g.portal.customer)
    except PaymentError:
        cards = services.saved_cards(g.portal.customer, describe=False)
    ctx.setdefault("remove_form", RemoveCardForm.of(g.portal.company, fresh=True))
    return render("portal/cards.html", "cards", status, **page_context(cards=cards, **ctx))


@routes.get("/account/cards")
@signed_in
def cards():
    return _cards_page()


@routes.post("/account/cards/remove")
@signed_in
def remove_card():
    form = RemoveCardForm.of(g.portal.company)
    if not form.validate():
        return _cards_page(422, remove_form=form)
    try:
        removed, message = services.remove_card(g.portal.customer, form.card.data)
    except PaymentError as error:
        removed, message = False, str(error)
    return _done("portal.cards", "cards", _cards_page, message, error=not removed)


@routes.route("/account/subscriptions/<int:sub_id>/card", methods=["GET", "POST"])
@signed_in
def update_card(sub_id: int):
    sub = own_subscription(sub_id)
    if sub.status == "CANCELED" or not sub.stripe_customer_id:
        abort(404)
    owed = owed_invoice(sub)
    error = None
    if request.method == "POST":
        error = save_from_setup(sub, request.form.get("setup_intent", ""))
        if error is None:
            flash("Your new card is saved." + (" We're taking the payment now." if owed else ""), "success")
            return redirect(url_for("portal.subscription", sub_id=sub.id), code=303)
    client_secret, unavailable = new_setup(sub)
    # Stripe not answering: the page still answers (the rest of the account works) and says why.
    return render("billing/card.html", "card", 422 if error else 200,
                  **page_context(sub=sub, owed=owed, error=error or unavailable, client_secret=client_secret,
                                 stripe_js_url=current_app.config["STRIPE_JS_URL"],
                                 stripe_publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"]))


# ----------------------------------------------------------------------------- settings


def _settings_page(status: int = 200, **forms):
    customer, company = g.portal.customer, g.portal.company
    subs = [sub for sub in customer_subscriptions(company.id, customer.id) if sub.status != "CANCELED"]
    ctx = {
        "subscriptions": subs,
        "details_form": DetailsForm.of(company, {"first_name": customer.first_name or "",
                                                 "last_name": customer.last_name or ""}, fresh=True),
        "address_forms": {sub.id: AddressForm.of(company, dict(sub.shipping_address or {}), fresh=True)
                          for sub in subs},
        "email_form": EmailChangeForm.of(company, fresh=True),
        "preferences_form": PreferencesForm.of(
            company, {"emails": "yes" if services.emails_wanted(customer) else "no"}, fresh=True),
    }
    if "address_form" in forms:
        ctx["address_forms"][forms.pop("address_sub")] = forms.pop("address_form")
    ctx.update(forms)
    return render("portal/settings.html", "settings", status, **page_context(**ctx))


@routes.get("/account/settings")
@signed_in
def settings():
    return _settings_page()


@routes.post("/account/settings/details")
@signed_in
def save_details():
    form = DetailsForm.of(g.portal.company)
    if not form.validate():
        return _settings_page(422, details_form=form)
    message = services.update_details(g.portal.customer, form.first_name.data, form.last_name.data)
    return _done("portal.settings", "settings", _settings_page, message)


@routes.post("/account/settings/address/<int:sub_id>")
@signed_in
def save_address(sub_id: int):
    form = AddressForm.of(g.portal.company)
    if not form.validate():
        own_subscription(sub_id)  # another's id: 404 before showing anything
        return _settings_page(422, address_form=form, address_sub=sub_id)
    try:
        message = services.update_address(g.portal.customer, sub_id, form.data)
    except NotYours:
        abort(404)
    return _done("portal.settings", "settings", _settings_page, message)


@routes.post("/account/settings/email")
@signed_in
def change_email():
    form = EmailChangeForm.of(g.portal.company)
    if not form.validate():
        return _settings_page(422, email_form=form)
    try:
        message = links.request_email_change(g.portal.customer, form.email.data)
    except AccountError as error:
        form.fail("email", str(error))
        return _settings_page(422, email_form=form)
    except SendError:
        form.fail("email", "We couldn't send the email just now. Please try again in a minute.")
        return _settings_page(503, email_form=form)
    return _done("portal.settings", "settings", _settings_page, message)


@routes.post("/account/settings/emails")
@signed_in
def save_preferences():
    form = PreferencesForm.of(g.portal.company)
    if not form.validate():
        return _settings_page(422, preferences_form=form)
    _changed, message = services.set_emails_wanted(g.portal.customer, form.emails.data == "yes")
    return _done("portal.settings", "settings", _settings_page, message)
