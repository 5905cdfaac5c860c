"""The admin kit: one way to page a list and one way to answer a form.

A list screen takes its page from ``page_number()``, its rows and their count from the
owning domain (an ordered ``Select`` of the rows and a ``Select`` of their count) and gives
them to ``paginate``; the template shows ``Page`` with ``admin/_pager.html`` and builds its
links with ``list_link``. A form screen answers a saved form with ``done`` (a toast over
htmx, else a flash and a 303: post/redirect/get) and a refused one with ``invalid`` (422,
with an error toast over htmx); an action asked about first goes ahead when ``confirmed()``.
The form fields themselves are ``storefront.forms`` and
``admin/_forms.html``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, flash, redirect, request, url_for
from sqlalchemy import Select

from storefront.dates import local_stamp, merchant_zone
from storefront.extensions import db
from storefront.forms import ConfirmForm
from storefront.htmx import toast, wants_fragment
from storefront.inputs import optional_int

PER_PAGE = 25
NOT_SAVED = "Nothing was saved: please correct the fields marked below."


# ----------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class Page:
    """One page of a list: ``rows``, page ``number`` (1-based, within 1..pages), ``pages``
    (at least 1), ``total`` rows in the whole list and ``per_page``."""

    rows: list
    number: int
    pages: int
    total: int
    per_page: int = PER_PAGE

    @property
    def first(self) -> int:
        """The position of the page's first row in the list (1-based); 0 for an empty list."""
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        """The position of the page's last row; 0 for an empty list."""
        return min(self.number * self.per_page, self.total)


def page_number(args: Mapping[str, str] | None = None) -> int:
    """The ``page`` query parameter (ASCII digits, 1..DB_INT_MAX); 1 when absent or unreadable."""
    return optional_int((request.args if args is None else args).get("page"), 1, default=1)


def paginate(rows: Select, number: int, count: Select | int, per_page: int = PER_PAGE,
             row: Callable[..., Any] | None = None) -> Page:
    """Page ``number`` of ``rows`` (a Select in list order, without limit or offset); a page
    past the end shows the last one. ``count`` is a Select of the rows' count (or the count,
    when another query already gave it); ``row(*columns)`` makes each result row what the
    template shows (default: the row itself). Two queries, or one with a given count."""
    total = count if isinstance(count, int) else db.session.execute(count).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    number = min(max(number, 1), pages)
    result = db.session.execute(rows.limit(per_page).offset((number - 1) * per_page)).all()
    return Page([row(*r) for r in result] if row else list(result), number, pages, total, per_page)


def list_link(endpoint: str, query=None, **fixed) -> Callable[..., str]:
    """``link(**changes)``: the address of the list at ``endpoint`` with ``changes`` (page=3,
    sort="value", direction="asc"). With a ``query`` object (``.args(**changes)`` gives its
    query string, defaults left out) its filters are kept; otherwise only ``fixed`` (e.g. a
    status filter) and the page, page 1 left out."""

    def link(**changes) -> str:
        if query is not None:
            return url_for(endpoint, **fixed, **query.args(**changes))
        page = changes.get("page", 1)
        return url_for(endpoint, **fixed, page=page if page > 1 else None)

    return link


def merchant(company) -> dict:
    """What every admin template of a merchant uses: ``company`` and ``when(moment)``, a
    stored UTC time as a table cell in the merchant's timezone ("2025-07-01 12:00 EDT")."""
    zone = merchant_zone(company.timezone)
    return {"company": company, "when": lambda moment: local_stamp(moment, zone)}


# ----------------------------------------------------------------------------- answers


def done(message: str, target: str, fragment: Callable[[], Response] | None = None, *,
         level: str = "success", push: bool = False):
    """The answer to a form that did its work. Over htmx: ``fragment()`` (the part of the
    page to swap) with ``message`` as a toast, pushing ``target`` as the address when
    ``push``; with no fragment, htmx loads ``target`` whole (HX-Redirect) and the message
    is flashed. Without htmx: the message is flashed and the browser sent to ``target``
    with a 303 (post/redirect/get)."""
    if wants_fragment() and fragment is not None:
        response = toast(fragment(), message, level)
        if push:
            response.headers["HX-Push-Url"] = target
        return response
    flash(message, level)
    if wants_fragment():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


def confirmed() -> bool:
    """True on a POST carrying ``confirmed=yes`` (``ConfirmForm``): the merchant answered the
    question, in the browser's dialog or on the confirmation page shown without JavaScript.
    A GET, or a POST without it, is to show that page."""
    return request.method == "POST" and ConfirmForm(formdata=request.form).said_yes()


def invalid(response: Response, message: str = NOT_SAVED) -> Response:
    """A refused form, already rendered with status 422 and its errors: over htmx it also
    carries ``message`` as an error toast (the swapped form shows the details)."""
    if wants_fragment():
        toast(response, message, "error")
    return response
