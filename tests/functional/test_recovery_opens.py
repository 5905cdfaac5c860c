"""The open image of recovery emails: the email carries it under the message's own token;
the first fetch moves SENT to OPENED and writes EMAIL_OPENED on the lead's timeline; a
replay, a later click and a late answer of the provider never move the status backwards;
malformed, unknown and SMS tokens answer 404, never 5xx."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

from storefront.leads.models import LeadActivity
from storefront.notifications import records
from storefront.recovery import delivery
from storefront.recovery.models import CartSaveAttempt
from storefront.recovery.tracking import PIXEL, mark_opened

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration" / "recovery"))
from helpers import abandoned_cart, interventions, parse  # noqa: E402


def _sent_reminder(app, db, company, fields=None):
    app.config["REDIS_URL"] = ""  # the tick sends in-process
    cart, attempt, left = abandoned_cart(company, lead=True, fields=fields)
    delivery.claim_due(left + timedelta(hours=1))
    return cart, attempt, interventions(attempt)["REMINDER_EMAIL"]


def _activities(db, attempt, kind):
    db.session.expire_all()
    lead_id = db.session.get(CartSaveAttempt, attempt.id).lead_id
    return db.session.execute(db.select(LeadActivity).filter_by(lead_id=lead_id, type=kind)).scalars().all()


def test_the_email_carries_its_open_image_and_the_first_open_is_recorded(app, db, company, smtp, client):
    cart, attempt, reminder = _sent_reminder(app, db, company)
    assert reminder.status == "SENT"
    [envelope] = smtp
    body = parse(envelope).get_body(("html",)).get_content()
    assert f"/recover/{reminder.token}/open.gif" in body
    assert [a.payload["stage"] for a in _activities(db, attempt, "EMAIL_SENT")] == ["REMINDER_EMAIL"]

    response = client.get(f"/recover/{reminder.token}/open.gif")
    assert response.status_code == 200 and response.mimetype == "image/gif" and response.data == PIXEL
    assert response.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in response.headers
    opened = interventions(attempt)["REMINDER_EMAIL"]
    assert opened.status == "OPENED" and opened.opened_at is not None
    assert [a.payload["intervention_id"] for a in _activities(db, attempt, "EMAIL_OPENED")] == [reminder.id]
    assert "OPENED" in [e["event"] for e in db.session.get(CartSaveAttempt, attempt.id).stage_history]

    # Replayed (image proxies fetch again): same answer, nothing more recorded.
    first = opened.opened_at
    assert client.get(f"/recover/{reminder.token}/open.gif").status_code == 200
    assert interventions(attempt)["REMINDER_EMAIL"].opened_at == first
    assert len(_activities(db, attempt, "EMAIL_OPENED")) == 1

    # Clicked after the open: CLICKED, and a later open never takes it back to OPENED.
    assert client.get(f"/recover/{reminder.token}").status_code == 303
    assert interventions(attempt)["REMINDER_EMAIL"].status == "CLICKED"
    assert len(_activities(db, attempt, "EMAIL_CLICKED")) == 1
    client.get(f"/recover/{reminder.token}/open.gif")
    assert interventions(attempt)["REMINDER_EMAIL"].status == "CLICKED"


def test_a_click_before_any_open_stays_clicked_when_the_image_loads_later(app, db, company, smtp, client):
    cart, attempt, reminder = _sent_reminder(app, db, company)
    client.get(f"/recover/{reminder.token}")
    assert mark_opened(reminder.token) is True
    row = interventions(attempt)["REMINDER_EMAIL"]
    assert row.status == "CLICKED" and row.opened_at is not None


def test_an_open_before_the_send_is_recorded_is_kept(app, db, company, smtp):
    """The image fetched while the worker has not yet recorded the provider's answer
    (SENDING): the settled send is OPENED, not SENT."""
    cart, attempt, reminder = _sent_reminder(app, db, company)
    row = interventions(attempt)["REMINDER_EMAIL"]
    row.status, row.sent_at = "SENDING", None
    db.session.commit()
    assert mark_opened(row.token) is True
    assert interventions(attempt)["REMINDER_EMAIL"].status == "SENDING"
    row = interventions(attempt)["REMINDER_EMAIL"]
    assert delivery.settle_sending(row, row.updated_at) == "OPENED"
    db.session.commit()
    assert interventions(attempt)["REMINDER_EMAIL"].sent_at is not None
    assert records.message_by_key(row.message_key).status == "SENT"


def test_a_message_not_sent_is_not_opened(app, db, company, smtp, client):
    cart, attempt, reminder = _sent_reminder(app, db, company)
    final = interventions(attempt)["FINAL_OFFER_EMAIL"]
    assert final.status == "SCHEDULED"
    assert client.get(f"/recover/{final.token}/open.gif").status_code == 200  # no tell-tale answer
    row = interventions(attempt)["FINAL_OFFER_EMAIL"]
    assert row.status == "SCHEDULED" and row.opened_at is None


@pytest.mark.parametrize("token", ["unknown-token", "x" * 65, "x" * 5000, "abc!def", "é" * 10, "%F0%9F%98%80",
                                   "%ED%A0%80"])
def test_bad_tokens_answer_404(app, db, company, smtp, client, token):
    _sent_reminder(app, db, company)
    response = client.get(f"/recover/{token}/open.gif")
    assert response.status_code == 404


def test_a_nul_in_the_token_is_refused_at_the_input_boundary(app, db, company, smtp, client):
    cart, attempt, reminder = _sent_reminder(app, db, company)
    response = client.get(f"/recover/{reminder.token[:10]}%00{reminder.token[10:]}/open.gif")
    assert response.status_code in (400, 404)
    assert interventions(attempt)["REMINDER_EMAIL"].opened_at is None


def test_a_text_message_token_is_not_an_email_open(app, db, company, smtp, client):
    from storefront.notifications.consent import record_consent

    record_consent(company.id, "+15125550100", "Text me.", "CHECKOUT")
    cart, attempt, reminder = _sent_reminder(app, db, company,
                                             fields={"email": "jane@example.test", "phone": "+15125550100"})
    nudge = interventions(attempt)["SMS_NUDGE"]
    assert client.get(f"/recover/{nudge.token}/open.gif").status_code == 404
    assert interventions(attempt)["SMS_NUDGE"].opened_at is None


def test_the_lead_timeline_names_each_message(app, db, company, smtp, client):
    from factories import make_user, sign_in

    cart, attempt, reminder = _sent_reminder(app, db, company)
    client.get(f"/recover/{reminder.token}/open.gif")
    client.get(f"/recover/{reminder.token}")
    make_user(company)
    admin = app.test_client()
    assert sign_in(admin).status_code == 303
    lead_id = db.session.get(CartSaveAttempt, attempt.id).lead_id
    page = admin.get(f"/admin/leads/{lead_id}").get_data(as_text=True)
    for title in ("Email sent", "Email opened", "Email clicked"):
        assert title in page
    assert page.count("Reminder email") >= 3
