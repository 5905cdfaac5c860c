"""The outbox at /admin/outbox: every email, text and call sent for the merchant, newest
first, a page at a time, by channel, with and without htmx; one message's detail; another
merchant's messages neither listed nor reachable (404)."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from storefront.accounts.models import Company
from storefront.notifications import records
from storefront.notifications.models import EMAIL, SMS, VOICE, OutboundMessage
from storefront.types import utcnow

HX = {"HX-Request": "true"}


def sent(db, company, key, channel=SMS, status=records.DELIVERED, minutes_ago=0, **fields):
    message = OutboundMessage(company_id=company.id, channel=channel, idempotency_key=key, status=status,
                              recipient=fields.pop("recipient", "+15125550100"), body=fields.pop("body", f"body {key}"),
                              created_at=utcnow() - timedelta(minutes=minutes_ago), **fields)
    db.session.add(message)
    db.session.commit()
    return message


def titles(response) -> list[str]:
    return re.findall(r'class="ea-title" href="[^"]+">([^<]+)</a>', html.unescape(response.get_data(as_text=True)))


def test_newest_first_with_channel_and_status_in_words(admin, db, company):
    sent(db, company, "k-email", EMAIL, records.SENT, minutes_ago=30, recipient="jane@example.test",
         subject="You left something behind")
    sent(db, company, "k-sms", SMS, records.UNDELIVERED, minutes_ago=20, body="Your cart is waiting",
         error="Twilio error 30003")
    sent(db, company, "k-call", VOICE, records.NO_ANSWER, minutes_ago=10, body="Hello from Acme")
    sent(db, company, "k-lost", SMS, records.UNKNOWN, minutes_ago=5, body="Lost in the crash")

    response = admin.get("/admin/outbox")

    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store, private"
    assert titles(response) == ["Lost in the crash", "Hello from Acme", "Your cart is waiting",
                                "You left something behind"]
    for words in ("Unknown: not re-sent", "No answer", "Undelivered", "Sent", "Twilio error 30003",
                  "jane@example.test", "Text (SMS)", "Call", "Showing 1–4 of 4 messages."):
        assert words in page, words
    assert 'href="/admin/outbox"' in page and 'aria-current="page"' in page  # in the admin's navigation


def test_pages_of_25_and_the_channel_filter_with_and_without_htmx(admin, db, company):
    for n in range(30):
        sent(db, company, f"k{n}", SMS if n % 3 else EMAIL, minutes_ago=100 - n, subject=f"Mail {n}",
             body=f"Text {n}")

    first = admin.get("/admin/outbox")
    second = admin.get("/admin/outbox?page=2", headers=HX)

    assert len(titles(first)) == 25 and titles(first)[0] == "Text 29"
    assert 'rel="next"' in first.get_data(as_text=True)
    assert second.status_code == 200 and "<html" not in second.get_data(as_text=True)
    assert "HX-Request" in second.headers["Vary"] and len(titles(second)) == 5
    emails = admin.get("/admin/outbox?channel=email")
    assert titles(emails) == [f"Mail {n}" for n in range(27, -1, -3)]
    assert "Showing 1–10 of 10 messages." in emails.get_data(as_text=True)
    # Unreadable filters fall back to the whole list rather than failing.
    for query in ("channel=FAX", "page=abc", "page=%C2%B2", "page=99999999999", "page=-3"):
        assert admin.get(f"/admin/outbox?{query}").status_code == 200, query


def test_one_message_in_detail(admin, db, company):
    call = sent(db, company, "intervention-7", VOICE, records.COMPLETED, body="Hello from Acme, about your cart.",
                subject="Press 1 for a text", digits="1", provider_id="CA123", sent_at=utcnow(), finished_at=utcnow())

    page = html.unescape(admin.get(f"/admin/outbox/{call.id}").get_data(as_text=True))

    for words in ("Call to +15125550100", "Answered", "Press 1 for a text", "Key pressed", "CA123",
                  "intervention-7", "Hello from Acme, about your cart."):
        assert words in page, words
    assert admin.get(f"/admin/outbox/{call.id}", headers=HX).status_code == 200


def test_another_merchants_messages_are_neither_listed_nor_reachable(admin, db, company):
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    theirs = sent(db, other, "theirs", body="OTHER-MERCHANT-SECRET", recipient="+14155550123")
    mine = sent(db, company, "mine", body="Mine")

    listing = admin.get("/admin/outbox").get_data(as_text=True)
    assert "OTHER-MERCHANT-SECRET" not in listing and "+14155550123" not in listing and "Mine" in listing
    assert admin.get(f"/admin/outbox/{theirs.id}").status_code == 404
    assert admin.get(f"/admin/outbox/{theirs.id}", headers=HX).status_code == 404
    assert admin.get(f"/admin/outbox/{mine.id}").status_code == 200
    assert admin.get("/admin/outbox/99999999999").status_code == 404


def test_signed_out_is_sent_to_the_login(client, db, company):
    message = sent(db, company, "k")
    for path in ("/admin/outbox", f"/admin/outbox/{message.id}"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/admin/login" in response.headers["Location"]
