"""The merchant's outbox: every email, text and call sent for the signed-in merchant, newest
first, read through ``accounts.scoping`` (another merchant's messages never appear)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func

from storefront.accounts.scoping import scoped
from storefront.notifications import records
from storefront.notifications.models import CHANNELS, OutboundMessage

CHANNEL_LABELS = {"EMAIL": "Email", "SMS": "Text (SMS)", "VOICE": "Call"}
STATUS_LABELS = {
    records.SENDING: "Sending", records.SENT: "Sent", records.DEFERRED: "Will retry", records.FAILED: "Failed",
    records.UNKNOWN: "Unknown: not re-sent", records.DELIVERED: "Delivered", records.UNDELIVERED: "Undelivered",
    records.COMPLETED: "Answered", records.NO_ANSWER: "No answer", records.BUSY: "Busy",
}


@dataclass(frozen=True)
class OutboxQuery:
    """The list's filters: ``channel`` (EMAIL, SMS, VOICE or "" for all) and ``page``."""

    channel: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args, page: int) -> OutboxQuery:
        channel = (args.get("channel") or "").upper()
        return cls(channel if channel in CHANNELS else "", page)

    def args(self, **changes) -> dict:
        """The query string of this list with ``changes``, defaults left out."""
        values = {"channel": self.channel, "page": self.page, **changes}
        return {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}


def outbox_statements(query: OutboxQuery) -> tuple[Select, Select]:
    """(rows newest first, their count) for the signed-in merchant; for ``admin.kit.paginate``.
    Served by the (company_id, created_at) index."""
    rows = scoped(OutboundMessage).order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
    count = scoped(OutboundMessage, func.count(OutboundMessage.id))
    if query.channel:
        rows = rows.where(OutboundMessage.channel == query.channel)
        count = count.where(OutboundMessage.channel == query.channel)
    return rows, count
