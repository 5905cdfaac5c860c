"""Admin screen: offers (/admin/offers). The exit-intent offer's settings: on or off, the
percentage off (1 to 50 %), the headline and how many hours a code stays valid.

The settings are the signed-in merchant's own (``current_user.company``): there is no id in
the address, so no other merchant's settings can be named.
"""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from storefront.htmx import render, toast, wants_fragment
from storefront.landing.offers import (
    MAX_HEADLINE,
    MAX_HOURS,
    offer_form_values,
    offer_settings,
    save_exit_offer,
)
from storefront.pricing.form_values import FormError, percent_text
from storefront.routing import Routes

routes = Routes()

PAGE = "admin/offers/page.html"


def _page(values: dict, errors: dict, status: int = 200):
    company = current_user.company
    response = render(PAGE, "offer_form", status=status, values=values, errors=errors, company=company,
                      settings=offer_settings(company), percent=percent_text, max_headline=MAX_HEADLINE,
                      max_hours=MAX_HOURS)
    if status == 422 and wants_fragment():
        toast(response, "Nothing was saved: please correct the fields marked below.", "error")
    return response


@routes.route("/offers", methods=["GET", "POST"])
@login_required
def offers():
    """The exit-intent offer form; POST saves it (422 with what was typed on errors)."""
    company = current_user.company
    if request.method == "GET":
        return _page(offer_form_values(company), {})
    try:
        saved = save_exit_offer(company, request.form)
    except FormError as error:
        return _page(error.values, error.errors, 422)
    message = "Exit offer saved: it is on." if saved.enabled else "Exit offer saved: it is off."
    if wants_fragment():
        return toast(_page(offer_form_values(company), {}), message, "success")
    flash(message, "success")
    return redirect(url_for("admin.offers"), code=303)
