"""Admin screen: the outbox (/admin/outbox). Every email, text and call sent for the
merchant, newest first, a page at a time, filtered by channel; and one message with its
text, status, provider id, error and times. Read through ``accounts.scoping``: another
merchant's message id answers 404.
"""
from __future__ import annotations

from flask import current_app, request
from flask_login import current_user, login_required

from storefront.accounts.scoping import get_or_404
from storefront.admin.kit import list_link, merchant, page_number, paginate
from storefront.htmx import render
from storefront.notifications.models import OutboundMessage
from storefront.notifications.outbox import (
    CHANNEL_LABELS,
    STATUS_LABELS,
    OutboxQuery,
    outbox_statements,
)
from storefront.routing import Routes

routes = Routes()


def _context(**extra) -> dict:
    config = current_app.config
    return {**merchant(current_user.company), "channels": CHANNEL_LABELS, "statuses": STATUS_LABELS,
            "local_twilio": config.get("TWILIO_LOCAL"), "email_folder": not config.get("SMTP_HOST"), **extra}


@routes.get("/outbox")
@login_required
def outbox():
    """The outbox list; a GET form (channel, page). htmx gets only the results block."""
    query = OutboxQuery.from_args(request.args, page_number())
    rows, count = outbox_statements(query)
    page = paginate(rows, query.page, count, row=lambda message: message)
    return render("admin/outbox/list.html", "results", **_context(
        page=page, query=query, link=list_link("admin.outbox", query)))


@routes.get("/outbox/<int:message_id>")
@login_required
def outbox_message(message_id: int):
    """One message sent: what it said, to whom, and what became of it."""
    message = get_or_404(OutboundMessage, message_id)
    return render("admin/outbox/detail.html", "content", **_context(message=message))
