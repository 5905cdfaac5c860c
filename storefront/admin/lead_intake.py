"""Admin screens: leads the merchant brings. ``/admin/leads/new`` creates one by hand (source
MANUAL), ``/admin/leads/import`` imports a CSV (source IMPORT, all or nothing, errors by
line and column); each with the consent the person gave (``leads.intake``). Both forms
work without JavaScript (303 and a flash, 422 with the errors) and over htmx (the form's
block, with a toast).
"""
from __future__ import annotations

from flask import abort, request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.htmx import render
from storefront.leads.forms import LeadImportForm, ManualLeadForm
from storefront.leads.intake import LeadInput, create_manual
from storefront.leads.lead_import import (
    COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    LeadImportError,
    import_leads,
)
from storefront.routing import Routes

routes = Routes()

NEW = "admin/leads/new.html"
IMPORT = "admin/leads/import.html"
# The multipart body around the file (boundary, CSRF token, country) fits in this margin; a
# file over MAX_FILE_BYTES but under it gets the importer's own message.
REQUEST_LIMIT = MAX_FILE_BYTES + 64 * 1024


@routes.url_value_preprocessor
def _limit_upload(endpoint: str | None, _values: dict | None) -> None:
    # Before CSRFProtect reads the body: the limit must be set before anything parses it.
    if endpoint == "admin.lead_import":
        request.max_content_length = REQUEST_LIMIT


def _new_page(form: ManualLeadForm, status: int = 200):
    return render(NEW, "lead_form", status=status, form=form)


@routes.route("/leads/new", methods=["GET", "POST"])
@login_required
def lead_new():
    """Create a lead by hand: an email or a phone, names, and the consent given."""
    company = current_user.company
    form = ManualLeadForm.of(company, {"country": "US"})
    if request.method == "GET":
        return _new_page(form)
    if request.method != "POST":
        abort(405)
    if form.validate():
        data = LeadInput(email=form.email.data, phone=form.phone.data, first_name=form.first_name.data,
                         last_name=form.last_name.data, channels=form.channels(),
                         consent_text=form.consent_text.data or "", country=form.country.data or "US")
        lead, errors = create_manual(company.id, data, current_user.id)
        for name, message in errors.items():
            form.fail(name if name in form else None, message)
    if form.errors or form.form_errors:
        return kit.invalid(_new_page(form, 422))
    return kit.done(f"Lead #{lead.id} created.", url_for("admin.lead", lead_id=lead.id))


def _import_page(form: LeadImportForm, status: int = 200, error: LeadImportError | None = None, result=None):
    return render(IMPORT, "import_form", status=status, form=form, error=error, result=result, columns=COLUMNS,
                  max_kb=MAX_FILE_BYTES // 1024, max_rows=MAX_ROWS)


@routes.route("/leads/import", methods=["GET", "POST"])
@login_required
def lead_import():
    """Import a CSV of leads with their consent (``leads.lead_import``): all or nothing."""
    company = current_user.company
    form = LeadImportForm.of(company, {"country": "US"})
    if request.method == "GET":
        return _import_page(form)
    if request.method != "POST":
        abort(405)
    upload = request.files.get("file")
    if not form.validate():
        return kit.invalid(_import_page(form, 422))
    if upload is None or not (upload.filename or "").strip():
        form.fail(None, "Choose a CSV file to upload.")
        return kit.invalid(_import_page(form, 422))
    raw = upload.stream.read(MAX_FILE_BYTES + 1)
    try:
        result = import_leads(company.id, raw, current_user.id, form.country.data or "US")
    except LeadImportError as error:
        return kit.invalid(_import_page(form, 422, error=error), "Nothing was imported: see the lines below.")
    message = (f"{result.created} lead{'s' if result.created != 1 else ''} imported, "
               f"{result.with_consent} with consent.")
    return kit.done(message, url_for("admin.leads", source="IMPORT"),
                    lambda: _import_page(LeadImportForm.of(company, {"country": "US"}, fresh=True), result=result))
