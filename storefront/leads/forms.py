"""The leads admin's forms (storefront.forms): a note on a lead, a move of its status, and
a move of many leads' status from the list.

The rules they check are the input's own (a note is required and at most MAX_NOTE_LENGTH
characters; a status is one of ``leads.status.STATUSES``); whether the move is allowed from
the lead's status is the lifecycle's (``leads.status``), reported by the view with ``fail``.
"""
from __future__ import annotations

from storefront.countries import CHECKOUT_COUNTRIES
from storefront.forms import AdminForm, Choice, Flag, Many, Paragraphs, Required, Text
from storefront.inputs import parse_ids
from storefront.leads.admin_services import MAX_BULK, label
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


class BulkStatusForm(AdminForm):
    """The list's bulk change: ``status`` (any known status; the lifecycle decides each
    lead's move) and the checked ``lead_id`` boxes, at least one; ``query``, the list's
    filters it was sent from (to show that list again). An unreadable id is
    dropped, as a row deleted meanwhile would be: the answer counts what was not found."""

    status = Choice("Set the status of the selected leads", choices=[(s, label(s)) for s in STATUSES],
                    message="Choose the status to set.")
    lead_id = Many("Leads", limit=MAX_BULK)
    query = Text("The list's filters", filters=[lambda text: (text or "")[:2000]])  # a query string

    def ids(self) -> list[int]:
        """The checked leads' ids, distinct, ascending (at most MAX_BULK)."""
        return sorted(parse_ids(self.lead_id.data, limit=MAX_BULK))

    def check(self) -> None:
        if self.ok("status") and not self.ids():
            self.fail("lead_id", "Select at least one lead.")


# ----------------------------------------------------------------------------- leads brought by the merchant

CONSENT_HINT = "Only tick what the person agreed to, and write the words they were shown."


class ManualLeadForm(AdminForm):
    """A lead typed in the admin (``leads.intake``): an email or a phone, names, and the
    channels the person consented to with the words they were shown. The contact rules
    (valid email, phone to E.164, consent words with any consent) are the intake's,
    reported on these inputs by the view with ``fail``."""

    email = Text("Email", max_length=254)
    phone = Text("Phone", max_length=32)
    first_name = Text("First name", max_length=100)
    last_name = Text("Last name", max_length=100)
    country = Choice("Country of the phone number", choices=list(CHECKOUT_COUNTRIES),
                     message="Choose a country from the list.")
    email_consent = Flag("Agreed to emails about their cart and offers")
    sms_consent = Flag("Agreed to text messages")
    voice_consent = Flag("Agreed to phone calls")
    consent_text = Paragraphs("The words the person agreed to", max_length=1000,
                              too_long="At most {limit} characters.")

    def channels(self) -> tuple[str, ...]:
        """The consented channels: EMAIL, SMS, VOICE."""
        return tuple(channel for channel, flag in (("EMAIL", self.email_consent), ("SMS", self.sms_consent),
                                                   ("VOICE", self.voice_consent)) if flag.data)


class LeadImportForm(AdminForm):
    """Beside the uploaded CSV (read by ``leads.lead_import``): the country national phone
    numbers in the file belong to."""

    country = Choice("Country of phone numbers written without +country code", choices=list(CHECKOUT_COUNTRIES),
                     message="Choose a country from the list.")
