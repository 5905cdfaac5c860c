"""Admin screen: promotions (/admin/promotions). The list by status, creating and editing a
promotion, deactivating one (after a confirmation), generating single-use codes (for
recovery emails) and the usage report.

Every promotion is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import Response, request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.checkout.queries import UsageRow, promotion_usage_rows, promotion_usage_totals
from storefront.htmx import render
from storefront.pricing import admin_codes as codes
from storefront.pricing import admin_services as promos
from storefront.pricing.codes import promotion_status
from storefront.pricing.forms import CodesForm, PromotionForm
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
    return {**kit.merchant(company), "describe": lambda promotion: promos.describe(promotion, company),
            "status_of": lambda promotion: promotion_status(promotion, utcnow())}


@routes.get("/promotions")
@login_required
def promotions():
    """The promotions, newest first; ``?status=`` filters (htmx gets the list block)."""
    now = utcnow()
    status = request.args.get("status", "")
    status = status if status in promos.STATUSES else ""
    rows, count = promos.promotion_statements(status, now)
    page = kit.paginate(rows, kit.page_number(), count, promos.PER_PAGE,
                        row=lambda promotion, code_count: promos.promotion_row(promotion, code_count, now))
    return render(LIST, "promotion_list", page=page, shown=status, filters=STATUS_FILTERS,
                  link=kit.list_link("admin.promotions", status=status or None), types=promos.TYPE_LABELS,
                  **_common())


def _form(promotion: Promotion | None, fresh: bool = False) -> PromotionForm:
    company = current_user.company
    return PromotionForm.of(company, PromotionForm.stored(promotion) if promotion else None, fresh=fresh,
                            promotion_id=promotion.id if promotion else None)


def _editor(promotion: Promotion | None, form: PromotionForm, status: int = 200):
    return render(EDIT, "editor", status=status, promotion=promotion, form=form, **_common())


def _saved(promotion: Promotion, message: str):
    return kit.done(message, url_for("admin.promotion_edit", promotion_id=promotion.id),
                    lambda: _editor(promotion, _form(promotion, fresh=True)), push=True)


def _save(promotion: Promotion | None):
    """Validate the posted form and create or update; 422 with what was typed on errors."""
    form = _form(promotion)
    if form.validate():
        try:
            if promotion is None:
                return _saved(promos.create_promotion(current_user.company, form.fields()),
                              f"Promotion “{form.name.data}” created.")
            promos.update_promotion(promotion, form.fields())
            return _saved(promotion, "Promotion saved. Shoppers get the new terms now.")
        except promos.CodeTaken as error:
            form.fail("code", str(error))
    return kit.invalid(_editor(promotion, form, 422))


@routes.route("/promotions/new", methods=["GET", "POST"])
@login_required
def promotion_new():
    """The new-promotion form; POST creates it (422 with the typed values on errors)."""
    return _editor(None, _form(None)) if request.method == "GET" else _save(None)


@routes.route("/promotions/<int:promotion_id>", methods=["GET", "POST"])
@login_required
def promotion_edit(promotion_id: int):
    """A promotion's form; POST saves it (422 with the typed values on errors)."""
    promotion = get_or_404(Promotion, promotion_id)
    return _editor(promotion, _form(promotion)) if request.method == "GET" else _save(promotion)


@routes.route("/promotions/<int:promotion_id>/deactivate", methods=["GET", "POST"])
@login_required
def promotion_deactivate(promotion_id: int):
    """Switch a promotion off. GET, or a POST without ``confirmed`` (a plain form with
    JavaScript off, where no dialog asked), shows the confirmation page."""
    promotion = get_or_404(Promotion, promotion_id)
    if not kit.confirmed():
        return render(DEACTIVATE, "content", promotion=promotion, **_common())
    changed = promos.deactivate_promotion(promotion)
    message = (f"“{promotion.name}” is deactivated: shoppers can no longer use it." if changed
               else f"“{promotion.name}” was already inactive.")
    return _saved(promotion, message)


def _codes_page(promotion: Promotion, form: CodesForm, status: int = 200, block: str = "codes"):
    summary = codes.code_summary(promotion)
    page = kit.paginate(codes.code_rows(promotion), kit.page_number(), summary.total, row=lambda code: code)
    return render(CODES, block, status=status, promotion=promotion, summary=summary, page=page, form=form,
                  link=kit.list_link("admin.promotion_codes", promotion_id=promotion.id), **_common())


@routes.route("/promotions/<int:promotion_id>/codes", methods=["GET", "POST"])
@login_required
def promotion_codes(promotion_id: int):
    """The promotion's single-use codes, 25 a page (``?page=``; over htmx the list alone);
    POST generates 1..500 more with an expiry."""
    promotion = get_or_404(Promotion, promotion_id)
    form = CodesForm.of(current_user.company)
    if request.method == "GET":
        # The pager swaps the list alone, so a half-typed form above it is kept.
        return _codes_page(promotion, form, block="code_list")
    if form.validate():
        try:
            made = codes.generate_codes(promotion, form.count.data, form.prefix.data, form.expires_at.data)
        except codes.CodesCollided as error:
            form.fail("count", str(error))
        else:
            return kit.done(f"{len(made)} single-use code{'s' if len(made) != 1 else ''} generated.",
                            url_for("admin.promotion_codes", promotion_id=promotion.id),
                            lambda: _codes_page(promotion, CodesForm.of(current_user.company, fresh=True)))
    return kit.invalid(_codes_page(promotion, form, 422), "No codes were generated: please correct the fields marked below.")


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
    totals = promotion_usage_totals(promotion.id)
    page = kit.paginate(promotion_usage_rows(promotion.id), kit.page_number(), totals.orders, promos.PER_PAGE,
                        row=UsageRow)
    return render(USAGE, "report", promotion=promotion, totals=totals, page=page,
                  link=kit.list_link("admin.promotion_usage", promotion_id=promotion.id), **_common())
