"""One route, two renderings (ARCHITECTURE §4): a full page, or one named block for htmx."""
from __future__ import annotations

import json

from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block


def wants_fragment() -> bool:
    """True for a plain htmx swap; boosted and history-restore requests get the full page."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, block: str, status: int = 200, **ctx):
    """Render ``template`` whole, or only ``block`` for an htmx request.

    Returns a Response with ``Vary: HX-Request``.
    """
    body = render_block(template, block, **ctx) if wants_fragment() else render_template(template, **ctx)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def trigger(response, event: str, detail: dict | str | None = None, first: bool = False):
    """Add ``event`` to the response's ``HX-Trigger`` header, merging with any already set.

    htmx fires the events in header order; ``first`` puts this one before the others.
    """
    current = response.headers.get("HX-Trigger")
    events = json.loads(current) if current else {}
    value = detail if detail is not None else True
    events = {event: value, **events} if first else {**events, event: value}
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def toast(response, message: str, level: str = "info"):
    """Ask the page to show a toast; our ``app.js`` listens for the ``toast`` event."""
    return trigger(response, "toast", {"message": message, "level": level})


def no_store(response):
    """Mark a cart or checkout response as never cacheable."""
    response.headers["Cache-Control"] = "no-store"
    return response


def live_status(message: str) -> str:
    """An out-of-band fragment that puts ``message`` in the page's live region
    (``#cart-status``, role=status), so screen readers announce it; append it to an htmx
    response body."""
    return render_template("components/_live_status.html", message=message)


def with_live_status(response, message: str):
    """Append ``live_status(message)`` to an HTML ``response`` (a 2xx htmx answer); returns it."""
    if response.status_code < 300 and response.mimetype == "text/html":
        response.set_data(response.get_data(as_text=True) + live_status(message))
    return response
