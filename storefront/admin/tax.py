"""Admin screen: tax rates, part of shipping & tax (/admin/shipping/tax). The rates chosen
by the shipping address, adding, editing and deleting one, replacing them all from a
WooCommerce tax CSV, and the "prices include tax" setting.

Every rate is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.admin.shipping import CONFIRM, screen_context
from storefront.htmx import render
from storefront.inputs import multiline
from storefront.money import percent_text
from storefront.pricing import admin_shipping as svc
from storefront.pricing.forms import TaxRateForm, TaxSettingsForm, TaxUploadForm
from storefront.pricing.models import TaxRate
from storefront.pricing.tax_import import MAX_BYTES, TaxImportError
from storefront.routing import Routes

routes = Routes()

TAX = "admin/shipping/tax.html"
RATE = "admin/shipping/tax_rate.html"
# The multipart body around the file (boundary, CSRF token, checkbox) fits in this margin;
# a file just over 5 MB still reaches the importer, which names the limit.
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024


@routes.url_value_preprocessor
def _limit_tax_upload(endpoint: str | None, _values: dict | None) -> None:
    # Before CSRFProtect reads the form: the limit must be set before the body is parsed.
    if endpoint == "admin.tax_upload":
        request.max_content_length = UPLOAD_LIMIT


def _rates_page() -> kit.Page:
    """The rates' page ``?page=`` (25 a page), in the order checkout tries them."""
    rows, count = svc.tax_rate_statements()
    return kit.paginate(rows, kit.page_number(), count, row=lambda rate: rate)


def _tax_page(status: int = 200, block: str = "tax_rates", **extra):
    company = current_user.company
    settings = TaxSettingsForm.of(company, {"prices_include_tax": company.prices_include_tax}, fresh=True)
    context = screen_context(listing=_rates_page(), link=kit.list_link("admin.tax_rates"), upload_error=None,
                             percent=percent_text, settings=settings)
    context.update(extra)
    return render(TAX, block, status=status, **context)


def _back(message: str, level: str = "success"):
    """htmx: the rates section with a toast; otherwise post/redirect/get with a flash (to
    the page of the list the change was made on)."""
    return kit.done(message, kit.list_link("admin.tax_rates")(page=kit.page_number()), _tax_page, level=level)


@routes.get("/shipping/tax")
@login_required
def tax_rates():
    """The tax rates (25 a page, ``?page=``), the CSV upload and the prices-include-tax setting."""
    return _tax_page()


def _rate_page(rate: TaxRate | None, form: TaxRateForm, status: int = 200):
    return render(RATE, "rate_form", status=status, **screen_context(rate=rate, form=form))


def _save_rate(rate: TaxRate | None):
    """The rate's form; POST saves it and goes back to the list (another page: htmx loads it
    whole), or answers 422 with what was typed."""
    form = TaxRateForm.of(current_user.company, TaxRateForm.stored(rate) if rate else None)
    if request.method == "GET":
        return _rate_page(rate, form)
    if not form.validate():
        return kit.invalid(_rate_page(rate, form, 422))
    if rate is None:
        rate = svc.create_tax_rate(current_user.company, form.fields())
        message = f"Tax rate “{rate.name}” ({percent_text(rate.rate_micro, 4)} %) added."
    else:
        svc.update_tax_rate(rate, form.fields())
        message = f"Tax rate “{rate.name}” saved."
    return kit.done(message, url_for("admin.tax_rates"))


@routes.route("/shipping/tax/new", methods=["GET", "POST"])
@login_required
@multiline("postcodes", "cities")
def tax_rate_new():
    """The new-rate form; POST adds the rate and returns to the list."""
    return _save_rate(None)


@routes.route("/shipping/tax/<int:rate_id>", methods=["GET", "POST"])
@login_required
@multiline("postcodes", "cities")
def tax_rate_edit(rate_id: int):
    """A rate's form; POST saves it and returns to the list."""
    return _save_rate(get_or_404(TaxRate, rate_id))


@routes.route("/shipping/tax/<int:rate_id>/delete", methods=["GET", "POST"])
@login_required
def tax_rate_delete(rate_id: int):
    """Delete a rate after a confirmation (a page when JavaScript is off)."""
    rate = get_or_404(TaxRate, rate_id)
    if not kit.confirmed():
        where = " ".join(filter(None, [rate.country or "every country", rate.state])) or "everywhere"
        return render(CONFIRM, "content", **screen_context(
            title=f"Delete the tax rate “{rate.name}” ({percent_text(rate.rate_micro, 4)} %)?",
            action=url_for("admin.tax_rate_delete", rate_id=rate.id), back=url_for("admin.tax_rates"),
            button="Yes, delete the rate", text=f"Orders shipped to {where} will no longer be charged it."))
    name = rate.name
    svc.delete_tax_rate(rate)
    return _back(f"Tax rate “{name}” deleted.")


@routes.post("/shipping/tax/upload")
@login_required
def tax_upload():
    """Replace every rate with a WooCommerce tax CSV (at most 5 MB). With rates in place the
    form must carry ``replace=yes`` (a checkbox: a confirmation that works without
    JavaScript). A bad file changes nothing and is answered 422 with its line and column."""
    upload = request.files.get("file")
    has_rates = _rates_page().total > 0
    if has_rates and not TaxUploadForm.of(current_user.company).replace.data:
        error = "Tick “Replace my current tax rates” to confirm: the file replaces all of them."
        return _upload_failed(error)
    try:
        count = svc.import_tax_upload(current_user.company, upload.filename if upload else None,
                                           upload.stream if upload else None)
    except TaxImportError as error:
        return _upload_failed(str(error))
    return _back(f"{count} tax rate{'s' if count != 1 else ''} imported: they replace the previous rates.")


def _upload_failed(message: str):
    return kit.invalid(_tax_page(422, upload_error=message), "Nothing was imported: see the error below the upload.")


@routes.post("/shipping/tax/settings")
@login_required
def tax_settings():
    """Save whether the merchant's prices include tax (VAT style) or not (US style)."""
    include = TaxSettingsForm.of(current_user.company).prices_include_tax.data
    changed = svc.set_prices_include_tax(current_user.company, include)
    if not changed:
        return _back("Nothing changed.", "info")
    return _back("Prices now include tax." if include else "Tax is now added on top of prices.")
