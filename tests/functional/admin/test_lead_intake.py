"""Leads the merchant brings: one by hand (source MANUAL) and a CSV import (source IMPORT),
each with its consent recorded (email on the timeline, texts and calls as phone consents);
with and without htmx; bad input: missing contact, consent without its words, formulas,
malformed, oversized, NUL and non-UTF-8 files, duplicates; all or nothing."""
from __future__ import annotations

import html
import io

import pytest
from factories import csrf_token

from storefront.accounts.models import Company
from storefront.leads.intake import may_contact
from storefront.leads.lead_import import MAX_FILE_BYTES
from storefront.leads.models import Lead, LeadActivity
from storefront.notifications.consent import has_consent
from storefront.notifications.models import PhoneConsent

HX = {"HX-Request": "true"}
WORDS = "Yes, email, text and call me about my order and offers from Acme."
HEADER = "email,phone,first_name,last_name,email_consent,sms_consent,voice_consent,consent_text,consented_at\r\n"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def leads(db):
    db.session.expire_all()
    return db.session.execute(db.select(Lead).order_by(Lead.id)).scalars().all()


def consent_activities(db, lead):
    return db.session.execute(db.select(LeadActivity).filter_by(lead_id=lead.id, type="CONSENT_RECORDED")).scalars().all()


def manual(admin, headers=None, **fields):
    data = {"email": "", "phone": "", "first_name": "", "last_name": "", "country": "US", "consent_text": "", **fields}
    token = csrf_token(admin, "/admin/leads/new")
    if headers:
        return admin.post("/admin/leads/new", data=data, headers={"X-CSRFToken": token, **headers})
    return admin.post("/admin/leads/new", data={**data, "csrf_token": token})


def upload(admin, body: bytes, headers=None, name="leads.csv"):
    token = csrf_token(admin, "/admin/leads/import")
    data = {"file": (io.BytesIO(body), name), "country": "US"}
    if headers:
        return admin.post("/admin/leads/import", data=data, headers={"X-CSRFToken": token, **headers},
                          content_type="multipart/form-data")
    return admin.post("/admin/leads/import", data={**data, "csrf_token": token}, content_type="multipart/form-data")


def test_a_lead_by_hand_without_javascript_records_its_consent(app, db, company, admin):
    assert "New lead" in text(admin.get("/admin/leads")) and "Import a CSV" in text(admin.get("/admin/leads"))
    response = manual(admin, email="Grace@Example.com", phone="(512) 555-0111", first_name="Grace",
                      email_consent="1", sms_consent="1", consent_text=WORDS)
    [lead] = leads(db)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin/leads/{lead.id}")
    assert (lead.source, lead.status, lead.email, lead.phone) == ("MANUAL", "NEW", "Grace@example.com", "+15125550111")
    [activity] = consent_activities(db, lead)
    assert activity.payload["channels"] == ["EMAIL", "SMS"] and activity.payload["text"] == WORDS
    assert activity.payload["source"] == "MANUAL"
    [phone] = db.session.execute(db.select(PhoneConsent)).scalars().all()
    assert (phone.channel, phone.source, phone.consent_text) == ("SMS", "MANUAL", WORDS)
    assert may_contact(lead, "EMAIL") and may_contact(lead, "SMS") and not may_contact(lead, "VOICE")
    page = text(admin.get(f"/admin/leads/{lead.id}"))
    assert "Consent recorded" in page and f"Emails, Texts, manual: “{WORDS}”" in page


def test_a_lead_by_hand_over_htmx_refuses_bad_input(app, db, company, admin):
    refused = manual(admin, HX, first_name="=HYPERLINK(\"http://x\")", sms_consent="1")
    assert refused.status_code == 422 and "HX-Trigger" in refused.headers
    body = text(refused)
    assert body.lstrip().startswith('<form id="lead-form"')
    assert "Give an email or a phone number." in body and "Write the words the person agreed to." in body
    assert "can't start with =" in body
    assert manual(admin, HX, email="not an email").status_code == 422
    assert manual(admin, HX, email="ada@example.com", consent_text="x" * 1001, email_consent="1").status_code == 422
    assert leads(db) == []
    ok = manual(admin, HX, email="ada@example.com")
    assert ok.status_code == 204 and ok.headers["HX-Redirect"].startswith("/admin/leads/")
    [lead] = leads(db)
    assert consent_activities(db, lead) == [] and not may_contact(lead, "EMAIL")  # no consent given
    again = manual(admin, HX, email="ada@example.com")
    assert again.status_code == 422 and "already exists" in text(again) and len(leads(db)) == 1


def test_a_csv_import_without_javascript(app, db, company, admin):
    body = (HEADER + "ada@example.com,+15125550100,Ada,Lovelace,yes,yes,no,\"Text me, please.\",2025-06-01\r\n"
            "grace@example.com,,Grace,,no,no,no,,\r\n"
            ",(512) 555-0102,,,n,y,y,Call or text me.,\r\n"
            "\r\n").encode()
    response = upload(admin, body)
    assert response.status_code == 303 and "source=IMPORT" in response.headers["Location"]
    rows = leads(db)
    assert [lead.source for lead in rows] == ["IMPORT"] * 3
    assert [lead.email for lead in rows] == ["ada@example.com", "grace@example.com", None]
    assert has_consent(company.id, "+15125550100", "SMS") and not has_consent(company.id, "+15125550100", "VOICE")
    assert has_consent(company.id, "+15125550102", "VOICE")
    [ada] = consent_activities(db, rows[0])
    assert ada.payload["consented_at"].startswith("2025-06-01") and ada.payload["channels"] == ["EMAIL", "SMS"]
    assert not may_contact(rows[1], "EMAIL") and may_contact(rows[0], "EMAIL")
    assert "3 leads imported, 2 with consent." in text(admin.get("/admin/leads"))


def test_a_csv_import_over_htmx_answers_its_block(app, db, company, admin):
    response = upload(admin, (HEADER + "ada@example.com,,,,,,,,\r\n").encode("utf-8-sig"), HX)
    assert response.status_code == 200 and "1 lead imported, 0 with consent." in text(response)
    assert text(response).lstrip().startswith('<div id="lead-import">') and len(leads(db)) == 1


@pytest.mark.parametrize("body, where, words", [
    (HEADER + "ada@example.com,,,,maybe,,,,\r\n", "<td data-label=\"Line\">2</td><td data-label=\"Column\">5 (email_consent)",
     "Write yes or no."),
    (HEADER + "ada@example.com,,=cmd|' /C calc'!A0,,,,,,\r\n", "3 (first_name)", "can't start with ="),
    (HEADER + "@SUM(1+1)@example.com,,,,,,,,\r\n", "1 (email)", ""),
    (HEADER + "ada@example.com,,,\r\n", "<td data-label=\"Line\">2</td>", "Expected 9 cells, found 4."),
    (HEADER + "ada@example.com,,,,,yes,,Text me.,\r\n", "2 (phone)", "Texts and calls need a phone number."),
    (HEADER + "ada@example.com,,,,yes,,,,\r\n", "8 (consent_text)", "Write the words the person agreed to."),
    (HEADER + "ada@example.com,,,,,,,,2999-01-01\r\n", "9 (consented_at)", "in the future"),
    (HEADER + "ada@example.com,,,,,,,,yesterday\r\n", "9 (consented_at)", "YYYY-MM-DD"),
    (HEADER + "ada@example.com,,,,,,,,\r\nADA@example.com,,,,,,,,\r\n", "<td data-label=\"Line\">3</td>",
     "The same email as line 2."),
    ("mail,phone\r\nada@example.com,\r\n", "1 (mail)", "Unknown column"),
    ("first_name\r\nAda\r\n", "The file", "needs an email or a phone column"),
    (HEADER, "The file", "no lead in it"),
    (HEADER + "\"ada@example.com,,,,,,,,\r\n", "", "malformed"),
    (HEADER + "ada@example.com,,Ada\x07,,,,,,\r\n", "3 (first_name)", "control character"),
])
def test_a_bad_csv_imports_nothing_and_says_where(app, db, company, admin, body, where, words):
    response = upload(admin, body.encode() if isinstance(body, str) else body)
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was saved." in page and where in page and words in page
    assert leads(db) == []


def test_nul_non_utf8_and_oversized_files_are_refused(app, db, company, admin):
    nul = upload(admin, (HEADER + "ada@example.com,,A\x00da,,,,,,\r\n").encode())
    assert nul.status_code == 422 and "NUL character" in text(nul) and '<td data-label="Line">2</td>' in text(nul)
    latin = upload(admin, (HEADER + "ada@example.com,,Zoë,,,,,,\r\n").encode("latin-1"))
    assert latin.status_code == 422 and "not UTF-8" in text(latin)
    big = HEADER + "".join(f"user{i}@example.com,,,,,,,,\r\n" for i in range(40000))
    assert MAX_FILE_BYTES < len(big) < MAX_FILE_BYTES + 32 * 1024 or len(big) > MAX_FILE_BYTES
    too_large = upload(admin, big.encode()[: MAX_FILE_BYTES + 1000])
    assert too_large.status_code in (413, 422) and leads(db) == []
    far_too_large = upload(admin, b"x" * (MAX_FILE_BYTES + 200 * 1024))
    assert far_too_large.status_code == 413 and leads(db) == []
    assert upload(admin, b"").status_code == 422


def test_an_import_clashing_with_a_lead_imports_nothing(app, db, company, admin):
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    db.session.add(Lead(company_id=other.id, email="grace@example.com", source="IMPORT"))  # another merchant's
    db.session.commit()
    assert upload(admin, (HEADER + "grace@example.com,,,,,,,,\r\n").encode()).status_code == 303
    replay = upload(admin, (HEADER + "ada@example.com,,,,,,,,\r\ngrace@example.com,,,,,,,,\r\n").encode())
    assert replay.status_code == 422 and "grace@example.com is already a lead" in text(replay)
    mine = db.session.execute(db.select(Lead).filter_by(company_id=company.id)).scalars().all()
    assert [lead.email for lead in mine] == ["grace@example.com"]
