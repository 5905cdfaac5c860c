"""Admin screen: one lead. Identity and capture progress, the field-by-field timeline, the
abandonment analysis, the cart snapshot, notes (htmx, with a plain-form fallback), status
changes limited to the lifecycle's allowed moves, the linked customer and orders, and
erasure (owners only, after a confirmation).

Every route fetches the lead with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.dates import merchant_zone
from storefront.htmx import render, wants_fragment
from storefront.inputs import multiline
from storefront.leads.admin_detail import (
    NoteError,
    add_note,
    field_label,
    lead_detail,
    set_status,
)
from storefront.leads.admin_services import label
from storefront.leads.erasure import EraseError, can_erase, erase_lead
from storefront.leads.forms import NoteForm, StatusForm
from storefront.leads.models import Lead
from storefront.leads.status import LeadStatusError
from storefront.routing import Routes

routes = Routes()

DETAIL = "admin/leads/detail.html"
ERASE = "admin/leads/erase.html"


def _detail(lead: Lead, block: str = "detail", status: int = 200, note_form: NoteForm | None = None,
            status_form: StatusForm | None = None):
    company = current_user.company
    return render(DETAIL, block, status=status, info=lead_detail(lead), lead=lead, company=company,
                  tz=merchant_zone(company.timezone), label=label, field_label=field_label,
                  note_form=note_form or NoteForm.of(company, fresh=True),
                  status_form=status_form or StatusForm.of(company, fresh=True),
                  may_erase=can_erase(current_user))


@routes.get("/leads/<int:lead_id>")
@login_required
def lead(lead_id: int):
    """The lead's page."""
    return _detail(get_or_404(Lead, lead_id))


@routes.post("/leads/<int:lead_id>/notes")
@login_required
@multiline("body")
def lead_note(lead_id: int):
    """Add a note (``body``, 1..5,000 characters). htmx gets the notes block with the new note;
    a plain form is answered 303 to the page. Errors keep the typed text (422)."""
    found = get_or_404(Lead, lead_id)
    form = NoteForm.of(current_user.company)
    if form.validate():
        try:
            add_note(found, current_user._get_current_object(), form.body.data)
        except NoteError as error:
            form.fail("body", str(error))
    if form.errors:
        block = "notes" if wants_fragment() else "detail"
        return kit.invalid(_detail(found, block, 422, note_form=form), form.body.errors[0])
    return kit.done("Note added.", url_for("admin.lead", lead_id=found.id, _anchor="notes"),
                    lambda: _detail(found, "notes"))


@routes.post("/leads/<int:lead_id>/status")
@login_required
def lead_status(lead_id: int):
    """Move the lead to ``status``; only the lifecycle's allowed moves are accepted (422)."""
    found = get_or_404(Lead, lead_id)
    form = StatusForm.of(current_user.company)
    if form.validate():
        try:
            set_status(found, form.status.data, current_user._get_current_object())
        except LeadStatusError as error:
            form.fail("status", str(error))
    if form.errors:
        return kit.invalid(_detail(found, "detail", 422, status_form=form), form.status.errors[0])
    return kit.done(f"Status set to {label(form.status.data)}.", url_for("admin.lead", lead_id=found.id),
                    lambda: _detail(found))


@routes.route("/leads/<int:lead_id>/erase", methods=["GET", "POST"])
@login_required
def lead_erase(lead_id: int):
    """Erase the lead's personal data (owners only). GET, or a POST without ``confirmed``
    (a plain form with JavaScript off, where no dialog could ask), shows the confirmation."""
    found = get_or_404(Lead, lead_id)
    if not can_erase(current_user):
        abort(403)
    if not kit.confirmed():
        return render(ERASE, "content", lead=found, label=label)
    try:
        erased = erase_lead(found, current_user._get_current_object())
    except EraseError:
        abort(403)
    message = ("Lead erased: its personal data is gone; the anonymous counts stay."
               if erased else "This lead was already erased.")
    return kit.done(message, url_for("admin.lead", lead_id=found.id), lambda: _detail(found), push=True)
