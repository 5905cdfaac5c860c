"""Admin screen: promotions (/admin/promotions). The list by status, creating and editing a
promotion, deactivating one (after a confirmation), generating single-use codes (for
recovery emails) and the usage report.

Every promotion is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user, login_required

from storefront.accounts.scoping import get_or_404
from storefront.dates import local_stamp, merchant_zone
from storefront.htmx import render, toast, wants_fragment
from storefront.inputs import optional_int
from storefront.pricing import admin_codes as codes
from storefront.pricing import admin_services as promos
from storefront.pricing.codes import promotion_status
from storefront.pricing.form_values import FormError
from storefront.pricing.models import Promotion
from storefront.routing import Routes
from storefront.types import utcnow

routes = Routes()

LIST = "admin/promotions/list.html"
EDIT = "admin/promotions/edit.html"
DEACTIVATE = "admin/promotions/deactivate.html"
CODES = "admin/promotions/codes.html"
USAGE = "admin/promotions/usage.html"
STATUS_FILTERS = (("", "All"), ("active", "Active"), ("scheduled", "Scheduled"), ("expired", "Expired"),
                  ("inactive", "Inactive"))


def _common() -> dict:
    company = current_user.company
    zone = merchant_zone(company.timezone)
    return {"company": company, "when": lambda moment: local_stamp(moment, zone),
            "describe": lambda promotion: promos.describe(promotion, company),
            "status_of": lambda promotion: promotion_status(promotion, utcnow())}


def _page_number() -> int:
    return optional_int(request.args.get("page"), 1, default=1)


@routes.get("/promotions")
@login_required
def promotions():
    """The promotions, newest first; ``?status=`` filters (htmx gets the list block)."""
    listing = promos.list_promotions(request.args.get("status", ""), _page_number())

    def page_url(n: int) -> str:
        return url_for("admin.promotions", status=listing.status or None, page=n if n > 1 else None)

    return render(LIST, "promotion_list", listing=listing, filters=STATUS_FILTERS, page_url=page_url,
                  types=promos.TYPE_LABELS, **_common())


def _editor(promotion: Promotion | None, values: dict, errors: dict, status: int = 200):
    response = render(EDIT, "editor", status=status, promotion=promotion, values=values, errors=errors,
                      choices=promos.catalogue_choices(values), types=promos.TYPE_LABELS,
                      scopes=promos.SCOPE_LABELS, **_common())
    if status == 422 and wants_fragment():
        toast(response, "Nothing was saved: please correct the fields marked below.", "error")
    return response


def _saved(promotion: Promotion, message: str):
    target = url_for("admin.promotion_edit", promotion_id=promotion.id)
    if wants_fragment():
        response = _editor(promotion, promos.promotion_values(promotion, current_user.company), {})
        response.headers["HX-Push-Url"] = target
        return toast(response, message, "success")
    flash(message, "success")
    return redirect(target, code=303)


@routes.route("/promotions/new", methods=["GET", "POST"])
@login_required
def promotion_new():
    """The new-promotion form; POST creates it (422 with the typed values on errors)."""
    if request.method == "GET":
        return _editor(None, promos.new_promotion_values(), {})
    try:
        promotion = promos.create_promotion(current_user.company, request.form)
    except FormError as error:
        return _editor(None, error.values, error.errors, status=422)
    return _saved(promotion, f"Promotion “{promotion.name}” created.")


@routes.route("/promotions/<int:promotion_id>", methods=["GET", "POST"])
@login_required
def promotion_edit(promotion_id: int):
    """A promotion's form; POST saves it (422 with the typed values on errors)."""
    promotion = get_or_404(Promotion, promotion_id)
    if request.method == "GET":
        return _editor(promotion, promos.promotion_values(promotion, current_user.company), {})
    try:
        promos.update_promotion(promotion, current_user.company, request.form)
    except FormError as error:
        return _editor(promotion, error.values, error.errors, status=422)
    return _saved(promotion, "Promotion saved. Shoppers get the new terms now.")


@routes.route("/promotions/<int:promotion_id>/deactivate", methods=["GET", "POST"])
@login_required
def promotion_deactivate(promotion_id: int):
    """Switch a promotion off. GET, or a POST without ``confirmed`` (a plain form with
    JavaScript off, where no dialog asked), shows the confirmation page."""
    promotion = get_or_404(Promotion, promotion_id)
    if request.method == "GET" or request.form.get("confirmed") != "yes":
        return render(DEACTIVATE, "content", promotion=promotion, **_common())
    changed = promos.deactivate_promotion(promotion)
    message = (f"“{promotion.name}” is deactivated: shoppers can no longer use it." if changed
               else f"“{promotion.name}” was already inactive.")
    return _saved(promotion, message)


@routes.route("/promotions/<int:promotion_id>/codes", methods=["GET", "POST"])
@login_required
def promotion_codes(promotion_id: int):
    """The promotion's single-use codes; POST generates 1..500 more with an expiry."""
    promotion = get_or_404(Promotion, promotion_id)
    company = current_user.company
    values, errors, status = codes.new_codes_values(company), {}, 200
    if request.method == "POST":
        try:
            made = codes.generate_codes(promotion, company, request.form)
        except FormError as error:
            values, errors, status = error.values, error.errors, 422
        else:
            message = f"{len(made)} single-use code{'s' if len(made) != 1 else ''} generated."
            if not wants_fragment():
                flash(message, "success")
                return redirect(url_for("admin.promotion_codes", promotion_id=promotion.id), code=303)
            response = render(CODES, "codes", promotion=promotion, summary=codes.code_summary(promotion),
                              values=values, errors={}, **_common())
            return toast(response, message, "success")
    response = render(CODES, "codes", status=status, promotion=promotion, summary=codes.code_summary(promotion),
                      values=values, errors=errors, **_common())
    if status == 422 and wants_fragment():
        toast(response, "No codes were generated: please correct the fields marked below.", "error")
    return response


@routes.get("/promotions/<int:promotion_id>/codes.csv")
@login_required
def promotion_codes_csv(promotion_id: int):
    """Every generated code of the promotion as a CSV download (code, expires, used)."""
    promotion = get_or_404(Promotion, promotion_id)
    body = codes.codes_csv(promotion, current_user.company)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="promotion-{promotion.id}-codes.csv"',
        "Cache-Control": "no-store"})


@routes.get("/promotions/<int:promotion_id>/usage")
@login_required
def promotion_usage(promotion_id: int):
    """Times used, discount given, revenue, and the orders that used the promotion."""
    promotion = get_or_404(Promotion, promotion_id)
    def page_url(n: int) -> str:
        return url_for("admin.promotion_usage", promotion_id=promotion.id, page=n if n > 1 else None)

    return render(USAGE, "report", promotion=promotion, report=codes.usage_report(promotion, _page_number()),
                  page_url=page_url, **_common())
