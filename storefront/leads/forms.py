"""The leads admin's forms (storefront.forms): a note on a lead and a move of its status.

The rules they check are the input's own (a note is required and at most MAX_NOTE_LENGTH
characters; a status is one of ``leads.status.STATUSES``); whether the move is allowed from
the lead's status is the lifecycle's (``leads.status``), reported by the view with ``fail``.
"""
from __future__ import annotations

from storefront.forms import AdminForm, Choice, Paragraphs, Required
from storefront.leads.admin_services import label
from storefront.leads.services import MAX_NOTE_LENGTH
from storefront.leads.status import STATUSES


class NoteForm(AdminForm):
    """A note: 1..MAX_NOTE_LENGTH characters once trimmed, line breaks kept."""

    body = Paragraphs("Add a note", [Required("Write a note first.")], max_length=MAX_NOTE_LENGTH,
                      too_long="A note has at most {limit} characters.")


class StatusForm(AdminForm):
    """The status to move a lead to: any known status here; the lifecycle decides the move."""

    status = Choice("Move to", choices=[(status, label(status)) for status in STATUSES],
                    message="Choose the status to move the lead to.")
