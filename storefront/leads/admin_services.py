"""Leads admin services: the filtered list (its statements, paged by the admin, and the
statement the CSV export streams) and bulk status changes.

Every read starts from ``accounts.scoping`` (the signed-in merchant's rows only): another
merchant's lead id is "not found", never "forbidden". Money is integer cents of the
merchant's currency; times are stored UTC and shown in the merchant's timezone.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.dates import merchant_zone
from storefront.extensions import db
from storefront.inputs import optional_int
from storefront.landing.models import LandingPage
from storefront.leads.models import AbandonmentAnalysis, Lead
from storefront.leads.status import STATUSES, LeadStatusError, change_status
from storefront.money import MoneyError, parse_amount
from storefront.visits.models import Visit

MAX_BULK = 500  # rows per bulk status change: a page's checkboxes, with room to spare
SOURCES = ("FUNNEL", "LANDING_PAGE", "CHECKOUT_ABANDON", "MANUAL", "IMPORT", "REFERRAL", "API")
REASONS = ("PAYMENT_FRICTION", "FORM_FATIGUE", "PRICE_SHOCK", "TRUST_CONCERN", "DISTRACTION",
           "TECHNICAL_ERROR", "COMPARISON_SHOPPING", "UNKNOWN")
SORTS = {"created": "Created", "activity": "Last activity", "value": "Estimated value"}
_DIGITS = re.compile(r"\D+")


def label(code: str | None) -> str:
    """"CHECKOUT_ABANDON" -> "Checkout abandon", for select options and badges."""
    return (code or "").replace("_", " ").capitalize()


def _day(raw: str) -> date | None:
    """A YYYY-MM-DD date, or None when ``raw`` is not one."""
    try:
        return date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        return None


def _reason_column():
    # The job writes the reason on the lead and in its analysis; either one counts.
    return func.coalesce(Lead.abandonment_reason, AbandonmentAnalysis.reason)


# ---------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class LeadQuery:
    """What the list (and the export) shows, parsed from query-string args. Unknown choices
    fall back to "any"; ``value_min``/``value_max`` and the dates are kept as typed so the
    form shows them again, and are checked by ``lead_conditions``."""

    q: str = ""
    status: str = ""
    source: str = ""
    page_id: int | None = None
    campaign: str = ""
    date_from: str = ""
    date_to: str = ""
    has_email: bool = False
    has_phone: bool = False
    value_min: str = ""
    value_max: str = ""
    reason: str = ""
    sort: str = "created"
    direction: str = "desc"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> LeadQuery:
        """Parse ``request.args``: q, status, source, page_id, campaign, from, to (YYYY-MM-DD),
        has_email, has_phone ("1"), min, max (decimal amounts), reason, sort
        (created|activity|value), dir (asc|desc), page (1-based)."""
        def text(name: str, limit: int = 200) -> str:
            return (args.get(name) or "").strip()[:limit]

        def number(name: str) -> int | None:
            return optional_int(args.get(name), 1)

        def choice(name: str, options) -> str:
            return args.get(name, "") if args.get(name) in options else ""

        sort = args.get("sort", "")
        direction = args.get("dir", "")
        return cls(
            q=text("q"), status=choice("status", STATUSES), source=choice("source", SOURCES),
            page_id=number("page_id"), campaign=text("campaign"),
            date_from=text("from", 10), date_to=text("to", 10),
            has_email=args.get("has_email") == "1", has_phone=args.get("has_phone") == "1",
            value_min=text("min", 20), value_max=text("max", 20), reason=choice("reason", REASONS),
            sort=sort if sort in SORTS else "created",
            direction=direction if direction in ("asc", "desc") else "desc",
            page=max(number("page") or 1, 1),
        )

    def args(self, **changes) -> dict:
        """Query-string args of this query with ``changes``, defaults left out, for url_for."""
        query = replace(self, **changes)
        out = {"q": query.q, "status": query.status, "source": query.source,
               "page_id": query.page_id, "campaign": query.campaign, "from": query.date_from,
               "to": query.date_to, "has_email": "1" if query.has_email else "",
               "has_phone": "1" if query.has_phone else "", "min": query.value_min,
               "max": query.value_max, "reason": query.reason, "sort": query.sort,
               "dir": query.direction, "page": query.page}
        if (query.sort, query.direction) == ("created", "desc"):
            del out["sort"], out["dir"]
        if query.page == 1:
            del out["page"]
        return {k: v for k, v in out.items() if v not in ("", None)}

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.status or self.source or self.page_id or self.campaign
                    or self.date_from or self.date_to or self.has_email or self.has_phone
                    or self.value_min or self.value_max or self.reason)


def lead_conditions(query: LeadQuery, company: Company) -> tuple[list, dict[str, str]]:
    """The WHERE conditions of ``query`` (beyond the tenant) and the errors of its typed
    inputs: {"min": "...", "from": "..."}. A filter with an error is left out, never guessed.

    Dates are whole days in the merchant's timezone: from 00:00 of ``from`` to 24:00 of ``to``.
    Amounts are decimals of the merchant's currency, compared in cents.
    """
    conditions, errors = [], {}
    if query.q:
        for term in query.q.split()[:8]:
            digits = _DIGITS.sub("", term)
            matches = [Lead.email.icontains(term, autoescape=True),
                       Lead.first_name.icontains(term, autoescape=True),
                       Lead.last_name.icontains(term, autoescape=True)]
            # Phones are stored E.164 (+15129742000): "(512) 974-2000" finds it by its digits.
            if len(digits) >= 3:
                matches.append(Lead.phone.contains(digits, autoescape=True))
            conditions.append(or_(*matches))
    if query.status:
        conditions.append(Lead.status == query.status)
    if query.source:
        conditions.append(Lead.source == query.source)
    if query.page_id is not None:
        conditions.append(Lead.landing_page_id == query.page_id)
    if query.campaign:
        conditions.append(func.lower(Visit.utm_campaign) == query.campaign.lower())
    if query.has_email:
        conditions.append(Lead.email.is_not(None))
    if query.has_phone:
        conditions.append(Lead.phone.is_not(None))
    if query.reason:
        conditions.append(_reason_column() == query.reason)
    tz = merchant_zone(company.timezone)
    bounds = {}
    for name, raw, shift in (("from", query.date_from, 0), ("to", query.date_to, 1)):
        if raw:
            day = _day(raw)
            if day is None:
                errors[name] = "Enter a date as YYYY-MM-DD, e.g. 2025-06-30."
            else:
                bounds[name] = datetime.combine(day + timedelta(days=shift), time(0), tz)
    if "from" in bounds and "to" in bounds and bounds["from"] >= bounds["to"]:
        errors["to"] = "The end date is before the start date."
    else:
        if "from" in bounds:
            conditions.append(Lead.created_at >= bounds["from"])
        if "to" in bounds:
            conditions.append(Lead.created_at < bounds["to"])
    amounts = {}
    for name, raw in (("min", query.value_min), ("max", query.value_max)):
        if raw:
            try:
                amounts[name] = parse_amount(raw, company.currency)
            except MoneyError:
                errors[name] = "Enter an amount such as 25 or 25.50."
    if "min" in amounts and "max" in amounts and amounts["min"] > amounts["max"]:
        errors["max"] = "The maximum is below the minimum."
    else:
        if "min" in amounts:
            conditions.append(Lead.estimated_value_cents >= amounts["min"])
        if "max" in amounts:
            conditions.append(Lead.estimated_value_cents <= amounts["max"])
    return conditions, errors


def _joined(statement: Select, conditions: list) -> Select:
    """``statement`` over leads with their visit, landing page and analysis (each at most
    one row per lead, so counts stay exact) and ``conditions``."""
    return (statement.select_from(Lead)
            .outerjoin(Visit, and_(Visit.id == Lead.visit_id, Visit.company_id == Lead.company_id))
            .outerjoin(LandingPage, and_(LandingPage.id == Lead.landing_page_id,
                                         LandingPage.company_id == Lead.company_id))
            .outerjoin(AbandonmentAnalysis, and_(AbandonmentAnalysis.lead_id == Lead.id,
                                                 AbandonmentAnalysis.company_id == Lead.company_id))
            .where(*conditions))


def activity_column():
    """When the lead last did something: its last activity, else its last update."""
    return func.coalesce(Lead.last_activity_at, Lead.updated_at)


def _order(query: LeadQuery) -> list:
    key = {"created": Lead.created_at, "activity": activity_column(),
           "value": Lead.estimated_value_cents}[query.sort]
    if query.direction == "asc":
        return [key.asc(), Lead.id.asc()]
    return [key.desc(), Lead.id.desc()]


def export_statement(query: LeadQuery, company: Company) -> Select:
    """The rows of the CSV export, in the list's order, with no page limit: one tuple per
    lead of (Lead columns..., landing page title, UTM campaign, reason). Filters with an
    error are left out, as on the list."""
    conditions, _errors = lead_conditions(query, company)
    columns = [Lead.id, Lead.created_at, Lead.status, Lead.source, Lead.source_detail,
               Lead.email, Lead.phone, Lead.first_name, Lead.last_name, Lead.completion_pct,
               Lead.captured_fields, Lead.last_active_field, Lead.estimated_value_cents,
               Lead.actual_value_cents, Lead.cart_value_cents, activity_column().label("activity"),
               Lead.erased_at, LandingPage.title.label("page_title"),
               Visit.utm_campaign.label("campaign"), _reason_column().label("reason")]
    return _joined(scoped(Lead, *columns), conditions).order_by(*_order(query))


# ---------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class LeadRow:
    """One lead of the list with its landing page title, UTM campaign and reason."""

    lead: Lead
    page_title: str | None
    campaign: str | None
    reason: str | None


def lead_statements(query: LeadQuery, conditions: list) -> tuple[Select, Select]:
    """(rows, count) of the merchant's leads under ``conditions`` (``lead_conditions``), in
    ``query``'s order; each row is a ``LeadRow``'s columns (lead, landing page title, UTM
    campaign, reason), joined in the same query. Page them with ``admin.kit.paginate``."""
    rows = _joined(scoped(Lead, Lead, LandingPage.title, Visit.utm_campaign, _reason_column()), conditions)
    return rows.order_by(*_order(query)), _joined(scoped(Lead, func.count(Lead.id)), conditions)


def lead_filter_choices() -> tuple[list[tuple[int, str]], list[str]]:
    """The list form's choices: the merchant's landing pages as (id, title), and the UTM
    campaigns their leads came from (at most 100). Two queries."""
    landing_pages = db.session.execute(
        scoped(LandingPage, LandingPage.id, LandingPage.title).order_by(LandingPage.title)).all()
    campaigns = db.session.scalars(
        scoped(Lead, Visit.utm_campaign).select_from(Lead).join(Visit, Visit.id == Lead.visit_id)
        .where(Visit.utm_campaign.is_not(None)).distinct().order_by(Visit.utm_campaign).limit(100)
    ).all()
    return [tuple(p) for p in landing_pages], list(campaigns)


# ---------------------------------------------------------------------------- bulk status


@dataclass
class BulkResult:
    """What a bulk status change did: ``changed`` leads, ``refused`` as (lead, why) for
    transitions the lifecycle does not allow, ``unchanged`` already in that status, and
    ``missing`` ids that are not this merchant's leads (ignored)."""

    status: str
    changed: list[Lead] = field(default_factory=list)
    refused: list[tuple[Lead, str]] = field(default_factory=list)
    unchanged: list[Lead] = field(default_factory=list)
    missing: int = 0


class BulkError(ValueError):
    """The bulk form cannot be applied (no lead selected, no status chosen)."""


def bulk_change_status(lead_ids: list[int], new_status: str, user) -> BulkResult:
    """Move each of the signed-in merchant's leads in ``lead_ids`` to ``new_status`` through
    the lifecycle's ``change_status``. Commits once.

    Ids of other merchants' (or deleted) leads are ignored and counted in ``missing``.
    Rows are locked in id order, so two bulk changes never deadlock.
    Raises BulkError for an empty selection or an unknown status.
    """
    if new_status not in STATUSES:
        raise BulkError("Choose the status to set.")
    if not lead_ids:
        raise BulkError("Select at least one lead.")
    leads = db.session.scalars(
        scoped(Lead).where(Lead.id.in_(lead_ids)).order_by(Lead.id).with_for_update()).all()
    result = BulkResult(new_status, missing=len(lead_ids) - len(leads))
    for lead in leads:
        try:
            moved = change_status(lead, new_status, user, commit=False)
        except LeadStatusError as error:
            result.refused.append((lead, str(error)))
        else:
            (result.changed if moved else result.unchanged).append(lead)
    db.session.commit()
    return result
