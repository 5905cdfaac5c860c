"""Admin screen: offers (/admin/offers). The exit-intent offer's settings: on or off, the
percentage off (1 to 50 %), the headline and how many hours a code stays valid.

The settings are the signed-in merchant's own (``current_user.company``): there is no id in
the address, so no other merchant's settings can be named.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.htmx import render
from storefront.money import percent_text
from storefront.pricing.exit_offer import offer_form_data, offer_settings, save_exit_offer
from storefront.pricing.forms import ExitOfferForm
from storefront.routing import Routes

routes = Routes()

PAGE = "admin/offers/page.html"


def _page(form: ExitOfferForm, status: int = 200):
    company = current_user.company
    return render(PAGE, "offer_form", status=status, form=form, company=company, settings=offer_settings(company),
                  percent=percent_text)


@routes.route("/offers", methods=["GET", "POST"])
@login_required
def offers():
    """The exit-intent offer form; POST saves it (422 with what was typed on errors)."""
    company = current_user.company
    form = ExitOfferForm.of(company, offer_form_data(company))
    if request.method == "GET":
        return _page(form)
    if not form.validate():
        return kit.invalid(_page(form, 422))
    saved = save_exit_offer(company, form.enabled.data, form.percent.data, form.headline.data, form.valid_hours.data)
    return kit.done("Exit offer saved: it is on." if saved.enabled else "Exit offer saved: it is off.",
                    url_for("admin.offers"),
                    lambda: _page(ExitOfferForm.of(company, offer_form_data(company), fresh=True)))
