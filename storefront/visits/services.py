"""Visits (LandingPageSession) and their event log.

A visit is kept in a 256-bit HttpOnly cookie; a long-lived second cookie names the
returning visitor. A landing view writes to the visit buffer (``visits.buffer``: one Redis
round trip) and the flush job moves it into the database; without the buffer a new visit
is one INSERT of the visit plus its page_view event.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Response, request
from sqlalchemy import bindparam, insert, literal, select

from storefront.cookies import (
    VISIT_COOKIE,
    VISIT_COOKIE_AGE,
    VISITOR_COOKIE,
    VISITOR_COOKIE_AGE,
    set_shopper_cookie,
)
from storefront.extensions import db
from storefront.security import hash_ip
from storefront.types import new_token, utcnow
from storefront.visits import buffer
from storefront.visits.flush import insert_ignoring, write_entries
from storefront.visits.models import Visit, VisitEvent

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# A visit idle this long is over; the next page view starts a new one.
VISIT_IDLE_LIMIT = timedelta(minutes=30)
# Don't write last_activity_at more often than this, so repeat views stay read-only.
ACTIVITY_WRITE_INTERVAL = timedelta(minutes=1)
MAX_UTM_LENGTH = 200


def _clean(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def utm_from_request() -> dict[str, str | None]:
    """The five UTM parameters from the query string, trimmed to 200 characters each."""
    return {field: _clean(request.args.get(field), MAX_UTM_LENGTH) for field in UTM_FIELDS}


def current_visit(company_id: int | None = None) -> Visit | None:
    """The visit named by the cookie, if it exists (and belongs to ``company_id`` when given).

    A visit still in the buffer (``visits.buffer``: landed a moment ago, not flushed yet) is
    inserted now, in the caller's transaction, so what the caller attaches to it (a cart, an
    event) has its row; the flush later finds it there and skips it.
    """
    token = request.cookies.get(VISIT_COOKIE)
    if not token or len(token) > 64:
        return None
    visit = _visit_row(token)
    if visit is None:
        pending = buffer.pending_visit(token)
        if pending is not None:
            db.session.execute(insert_ignoring(Visit, "token"), [pending])
            visit = _visit_row(token)
    if visit is None or (company_id is not None and visit.company_id != company_id):
        return None
    return visit


# Built once: every shopper action starts by finding its visit.
_VISIT_BY_TOKEN = db.select(Visit).where(Visit.token == bindparam("token"))


def _visit_row(token: str) -> Visit | None:
    return db.session.execute(_VISIT_BY_TOKEN, {"token": token}).scalar_one_or_none()


def record_event(visit: Visit | None, event_type: str, payload: dict | None = None) -> None:
    """Add an event to the visit's log (in the caller's transaction); no-op without a visit."""
    if visit is None:
        return
    db.session.add(
        VisitEvent(
            visit_id=visit.id,
            company_id=visit.company_id,
            landing_page_id=visit.landing_page_id,
            type=event_type,
            payload=payload or {},
        )
    )


def _landed_visit(token: str | None, company_id: int) -> tuple[Visit | None, bool]:
    """The cookie's visit for a landing view: (visit, is a row). A visit still in the buffer
    comes back as an unsaved copy: the landing page only reads it."""
    if not token or len(token) > 64:
        return None, False
    visit = _visit_row(token)
    if visit is None:
        pending = buffer.pending_visit(token)
        visit = Visit(**pending) if pending is not None else None
        saved = False
    else:
        saved = True
    if visit is None or visit.company_id != company_id:
        return None, False
    return visit, saved


def track_landing_view(page) -> tuple[Visit, bool]:
    """Start or resume the visit for a view of ``page`` (a landing page: its ``id``,
    ``company_id`` and ``slug`` are read) and record the view; returns (visit, is_new).

    A new visit starts when there is no visit cookie, when it belongs to another page or
    merchant, when it has been idle for 30 minutes, or when the URL carries new UTM values
    (a new ad click is a new visit). Every view is one page_view event (``{"slug"}`` for the
    visit's first, ``{"returning": true}`` after). Both go through the visit buffer; when it
    is off or its Redis is away, they are written here and committed (the fallback).
    """
    utm = utm_from_request()
    now = utcnow()
    visit, saved = _landed_visit(request.cookies.get(VISIT_COOKIE), page.company_id)
    fresh_utm = any(utm.values()) and visit is not None and any(
        utm[f] != getattr(visit, f) for f in UTM_FIELDS
    )
    if (
        visit is not None
        and visit.landing_page_id == page.id
        and not fresh_utm
        and now - visit.last_activity_at < VISIT_IDLE_LIMIT
    ):
        event = buffer.new_event("page_view", {"returning": True}, now)
        touch_at = now if now - visit.last_activity_at > ACTIVITY_WRITE_INTERVAL else None
        if buffer.buffer_view(visit.token, event, touch_at) != buffer.BUFFERED:
            entry = {"kind": "view", "token": visit.token, "event": event, "touch_at": touch_at}
            if not saved:
                entry = {"kind": "visit", "visit": _columns(visit), "event": event, "touch_at": touch_at}
            write_entries([entry])
            db.session.commit()
        return visit, False

    visitor_id = request.cookies.get(VISITOR_COOKIE)
    if not visitor_id or len(visitor_id) > 64:
        visitor_id = new_token()
    values = {
        "token": new_token(), "company_id": page.company_id, "landing_page_id": page.id,
        "visitor_id": visitor_id, "referrer": _clean(request.referrer, 2000),
        "user_agent": _clean(request.user_agent.string, 500), "ip_hash": hash_ip(request.remote_addr),
        "started_at": now, "last_activity_at": now, **utm,
    }
    event = buffer.new_event("page_view", {"slug": page.slug}, now)
    if buffer.buffer_visit(values, event) != buffer.BUFFERED:
        _insert_visit_with_page_view(values, event)
        db.session.commit()
    # Only the cookie values are needed from here on: no need to load the row back.
    return Visit(**values), True


def _columns(visit: Visit) -> dict:
    return {column: getattr(visit, column) for column in ("token", "company_id", "landing_page_id", "visitor_id",
                                                          "referrer", "user_agent", "ip_hash", "started_at",
                                                          "last_activity_at", *UTM_FIELDS)}


def _insert_visit_with_page_view(values: dict, event: dict) -> None:
    """Insert the visit and its first page_view: one statement on PostgreSQL (a data-
    modifying CTE), two elsewhere. The landing page's only write when the buffer is not used.
    The event keeps its ``event_key``: had the buffer taken it after all (Redis answered
    too late), the flush finds the row and inserts nothing."""
    event = {"company_id": values["company_id"], "landing_page_id": values["landing_page_id"], **event}
    new_visit = insert(Visit).values(**values).returning(Visit.id)
    if db.session.get_bind().dialect.name == "postgresql":
        inserted = new_visit.cte("new_visit")
        columns = ["visit_id", *event]
        db.session.execute(insert(VisitEvent).from_select(
            columns, select(inserted.c.id, *(literal(v, VisitEvent.__table__.c[k].type) for k, v in event.items()))
        ))
        return
    visit_id = db.session.execute(new_visit).scalar_one()
    db.session.execute(insert(VisitEvent).values(visit_id=visit_id, **event))


def set_visit_cookies(response: Response, visit: Visit) -> None:
    """Write the visit and visitor cookies (``storefront.cookies``)."""
    set_shopper_cookie(response, VISIT_COOKIE, visit.token, VISIT_COOKIE_AGE)
    set_shopper_cookie(response, VISITOR_COOKIE, visit.visitor_id, VISITOR_COOKIE_AGE)
