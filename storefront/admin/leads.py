"""Admin screen: leads. The list (active search, filters, sort, pages), bulk status change and
the streamed CSV export. The detail page, notes, status and erasure are in ``lead_detail``.

Every lead is read through ``accounts.scoping``: another merchant's ids are ignored in bulk
and answer 404 on their own.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl

from flask import Response, request, stream_with_context, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

import storefront.admin.kit as kit
from storefront.dates import merchant_zone
from storefront.htmx import render
from storefront.leads.admin_detail import field_label
from storefront.leads.admin_services import (
    REASONS,
    SORTS,
    SOURCES,
    STATUSES,
    LeadQuery,
    LeadRow,
    bulk_change_status,
    export_statement,
    label,
    lead_conditions,
    lead_filter_choices,
    lead_statements,
)
from storefront.leads.export import csv_rows
from storefront.leads.forms import BulkStatusForm
from storefront.routing import Routes

routes = Routes()

LIST = "admin/leads/list.html"
# Users may set these by hand; CONVERTED is the system's (an order placed).
SETTABLE = tuple(s for s in STATUSES if s != "CONVERTED")


def _list(query: LeadQuery, status: int = 200, bulk: BulkStatusForm | None = None, notice: str | None = None,
          notice_level: str = "success"):
    company = current_user.company
    conditions, errors = lead_conditions(query, company)
    if errors and status == 200:
        status = 422
    rows, count = lead_statements(query, conditions)
    page = kit.paginate(rows, query.page, count, row=LeadRow)
    landing_pages, campaigns = lead_filter_choices()
    return render(LIST, "results", status=status, page=page, query=query, errors=errors,
                  landing_pages=landing_pages, campaigns=campaigns, link=kit.list_link("admin.leads", query),
                  company=company, tz=merchant_zone(company.timezone), statuses=STATUSES, settable=SETTABLE,
                  sources=SOURCES, reasons=REASONS, sorts=SORTS, label=label,
                  field_label=field_label, bulk=bulk or BulkStatusForm.of(company, fresh=True),
                  settable_options=[(s, label(s)) for s in SETTABLE], notice=notice, notice_level=notice_level)


@routes.get("/leads")
@login_required
def leads():
    """The leads list. A GET form: q, status, source, page_id, campaign, from, to,
    has_email, has_phone, min, max, reason, sort, dir, page. htmx (active search, sort and
    page links) gets only the results block; unreadable filter inputs answer 422."""
    return _list(LeadQuery.from_args(request.args))


@routes.get("/leads/export.csv")
@login_required
def leads_export():
    """The filtered list as CSV, streamed in batches (memory stays flat at any size)."""
    company = current_user.company
    statement = export_statement(LeadQuery.from_args(request.args), company)
    stamp = datetime.now(merchant_zone(company.timezone)).strftime("%Y%m%d-%H%M")
    rows = stream_with_context(csv_rows(statement, company.currency, merchant_zone(company.timezone)))
    return Response(rows, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="leads-{company.slug}-{stamp}.csv"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })


def _query_from_form(form: BulkStatusForm) -> LeadQuery:
    """The list's query the bulk form came from (its hidden ``query`` input)."""
    return LeadQuery.from_args(MultiDict(parse_qsl(form.query.data)))


@routes.post("/leads/bulk-status")
@login_required
def leads_bulk_status():
    """Set the status of the checked leads (``lead_id``, many) to ``status``. Reports how many
    changed and which the lifecycle refused; other merchants' ids are ignored."""
    form = BulkStatusForm.of(current_user.company)
    query = _query_from_form(form)
    if not form.validate():
        message = next(iter(form.errors.values()))[0]
        return kit.invalid(_list(query, 422, form), message)
    new_status = form.status.data
    result = bulk_change_status(form.ids(), new_status, current_user._get_current_object())
    parts = []
    count = len(result.changed)
    parts.append(f"{count} lead{'s' if count != 1 else ''} moved to {label(new_status)}.")
    if result.unchanged:
        parts.append(f"{len(result.unchanged)} already {label(new_status)}.")
    if result.refused:
        names = ", ".join(f"#{lead.id} ({label(lead.status)})" for lead, _why in result.refused[:10])
        more = f" and {len(result.refused) - 10} more" if len(result.refused) > 10 else ""
        parts.append(f"Not allowed for {names}{more}: that status change is not in the lifecycle.")
    if result.missing:
        parts.append(f"{result.missing} selected lead{'s were' if result.missing != 1 else ' was'} not found.")
    message = " ".join(parts)
    level = "error" if result.refused else "success"
    # Over htmx the toast fades; the same words stay in the results block for screen readers.
    return kit.done(message, url_for("admin.leads", **query.args()),
                    lambda: _list(query, notice=message, notice_level=level), level=level)

