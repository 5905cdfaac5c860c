"""Admin screen: analytics (/admin/analytics). KPIs against the period before, the funnel
with the plan's targets, visits and orders over time, tables per landing page and per UTM
source / medium / campaign, top products, source types (with average cart size) and
abandonment per category, each table as CSV; and the merchant's event retention
(/admin/analytics/retention). Every figure comes from the hourly rollups
(``analytics.dashboard``), never from the event log.

The range and landing page filters are a real GET form; htmx swaps only the results. A bad
range answers 422 with the reason on the page; a landing page id that is not a number
answers 400; another merchant's page 404.
"""
from __future__ import annotations

from flask import Response, abort, request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.analytics.dashboard import (
    PRESETS,
    RangeError,
    build,
    change,
    export_rows,
    page_titles,
    read_range,
)
from storefront.analytics.forms import RetentionForm
from storefront.analytics.retention import MAX_DAYS, MIN_DAYS, save_retention
from storefront.csv_export import csv_text
from storefront.htmx import render
from storefront.inputs import optional_int
from storefront.landing.models import LandingPage
from storefront.routing import Routes
from storefront.types import utcnow

routes = Routes()
TABLES = ("pages", "campaigns", "series", "funnel", "products", "sources", "categories")


class _BadFilter(Exception):
    """A filter the screen cannot read: the message for the merchant and the status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _page_filter() -> int | None:
    raw = (request.args.get("page") or "").strip()
    if not raw:
        return None
    page_id = optional_int(raw, 1)
    if page_id is None:
        raise _BadFilter("Unknown landing page: choose one from the list.", 400)
    return get_or_404(LandingPage, page_id).id


def _board():
    company = current_user.company
    page_id = _page_filter()
    try:
        span = read_range(request.args, company.timezone, utcnow())
    except RangeError as error:
        raise _BadFilter(str(error), 422) from error
    return company, page_id, span, build(company.id, span, page_id)


@routes.get("/analytics")
@login_required
def analytics():
    """The dashboard; a GET form (range, start, end, page). htmx gets only the results block."""
    company = current_user.company
    context = {**kit.merchant(company), "presets": PRESETS, "args": request.args, "change": change,
               "titles": page_titles(company.id)}
    try:
        _company, page_id, span, board = _board()
    except _BadFilter as error:
        return render("admin/analytics/dashboard.html", "results", status=error.status, error=str(error),
                      board=None, page_id=None, **context)
    return render("admin/analytics/dashboard.html", "results", error=None, board=board, page_id=page_id, **context)


@routes.get("/analytics/export.csv")
@login_required
def analytics_csv():
    """One dashboard table as CSV (``table``, one of ``TABLES``, default the landing pages),
    for the same range and page filter as the screen's query string; an unknown table
    answers 404."""
    table = request.args.get("table") or "pages"
    if table not in TABLES:
        abort(404)
    try:
        company, _page_id, span, board = _board()
    except _BadFilter as error:
        return Response(str(error) + "\n", status=error.status, mimetype="text/plain")
    name = f"{company.slug}-{table}-{span.first:%Y%m%d}-{span.last:%Y%m%d}.csv"
    return Response(csv_text(export_rows(board, table)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


RETENTION_PAGE = "admin/analytics/retention.html"


def _retention_page(form: RetentionForm, status: int = 200):
    company = current_user.company
    return render(RETENTION_PAGE, "retention_form", status=status, form=form, low=MIN_DAYS, high=MAX_DAYS,
                  **kit.merchant(company))


@routes.route("/analytics/retention", methods=["GET", "POST"])
@login_required
def analytics_retention():
    """The merchant's event retention (days the raw event log is kept); POST saves it, 422
    with the reason on a bad number. Only the signed-in merchant's own setting: no id in
    the address."""
    company = current_user.company
    data = {"days": company.event_retention_days}
    form = RetentionForm.of(company, data)
    if request.method == "GET":
        return _retention_page(form)
    if not form.validate():
        return kit.invalid(_retention_page(form, 422))
    save_retention(company, form.days.data)
    return kit.done(f"Raw events are now kept for {form.days.data:,} days.", url_for("admin.analytics_retention"),
                    lambda: _retention_page(RetentionForm.of(company, {"days": company.event_retention_days},
                                                             fresh=True)))
