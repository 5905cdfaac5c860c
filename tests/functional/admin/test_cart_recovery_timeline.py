"""The cart detail's recovery: each attempt's messages with their schedule, sent, opened and
clicked times; "send now" and "stop recovery" with and without htmx; replays are told, not
refused; another merchant's cart or message answers 404 and changes nothing."""
from __future__ import annotations

import html
import sys
from pathlib import Path

from factories import csrf_token

from storefront.accounts.models import Company
from storefront.recovery.models import CartSaveAttempt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "integration" / "recovery"))
from helpers import abandoned_cart, interventions  # noqa: E402

HX = {"HX-Request": "true"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_timeline_shows_each_message_and_sends_one_now_without_javascript(app, db, company, smtp, admin):
    app.config["REDIS_URL"] = ""  # the job runs in-process at once
    cart, attempt, left = abandoned_cart(company)
    rows = interventions(attempt)
    page = text(admin.get(f"/admin/carts/{cart.id}"))
    assert 'id="recovery"' in page
    for label in ("Reminder email", "Incentive email", "Final offer email"):
        assert label in page
    assert page.count("Send now<span") == 3 and "Stop recovery" in page
    assert "1 h after the shopper's last activity" in page  # why then

    url = f"/admin/carts/{cart.id}/recovery/send/{rows['REMINDER_EMAIL'].id}"
    response = admin.post(url, data={"csrf_token": csrf_token(admin, f"/admin/carts/{cart.id}")})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin/carts/{cart.id}#recovery")
    assert len(smtp) == 1
    assert interventions(attempt)["REMINDER_EMAIL"].status == "SENT"
    page = text(admin.get(f"/admin/carts/{cart.id}"))
    assert "Message sent to the queue" in page and page.count("Send now<span") == 2

    # Replayed: told, nothing sent again.
    response = admin.post(url, data={"csrf_token": csrf_token(admin, f"/admin/carts/{cart.id}")})
    assert response.status_code == 303 and len(smtp) == 1
    assert "no longer waiting" in text(admin.get(f"/admin/carts/{cart.id}"))


def test_stop_recovery_over_htmx_swaps_the_section(app, db, company, smtp, admin):
    cart, attempt, left = abandoned_cart(company)
    token = csrf_token(admin, f"/admin/carts/{cart.id}")
    response = admin.post(f"/admin/carts/{cart.id}/recovery/stop", headers={"X-CSRFToken": token, **HX})
    assert response.status_code == 200 and "Recovery stopped: 3 messages cancelled." in response.headers["HX-Trigger"]
    body = text(response)
    assert body.lstrip().startswith('<section class="ea-card" id="recovery"') and "<html" not in body
    assert "Stop recovery" not in body and "Send now<span" not in body and body.count("Cancelled") >= 3
    assert response.headers["Vary"] == "HX-Request" or "HX-Request" in response.headers["Vary"]
    db.session.expire_all()
    assert db.session.get(CartSaveAttempt, attempt.id).status == "EXPIRED"
    assert {row.status for row in interventions(attempt).values()} == {"CANCELLED"}

    again = admin.post(f"/admin/carts/{cart.id}/recovery/stop", headers={"X-CSRFToken": token, **HX})
    assert again.status_code == 200 and "nothing to stop" in again.headers["HX-Trigger"]
    # A message of an ended attempt is not sent now.
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    late = admin.post(f"/admin/carts/{cart.id}/recovery/send/{reminder.id}", headers={"X-CSRFToken": token, **HX})
    assert late.status_code == 200 and "no longer waiting" in late.headers["HX-Trigger"] and smtp == []


def test_another_merchants_cart_or_message_is_404(app, db, company, smtp, admin):
    app.config["REDIS_URL"] = ""
    mine, my_attempt, _ = abandoned_cart(company)
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    theirs, their_attempt, _ = abandoned_cart(other)
    their_reminder = interventions(their_attempt)["REMINDER_EMAIL"]
    token = csrf_token(admin, f"/admin/carts/{mine.id}")
    assert admin.get(f"/admin/carts/{theirs.id}").status_code == 404
    assert admin.post(f"/admin/carts/{theirs.id}/recovery/stop", data={"csrf_token": token}).status_code == 404
    assert admin.post(f"/admin/carts/{theirs.id}/recovery/send/{their_reminder.id}",
                      data={"csrf_token": token}).status_code == 404
    # Their message through my cart's address: not this cart's, 404.
    assert admin.post(f"/admin/carts/{mine.id}/recovery/send/{their_reminder.id}",
                      data={"csrf_token": token}).status_code == 404
    assert admin.post(f"/admin/carts/{mine.id}/recovery/send/99999999999", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(CartSaveAttempt, their_attempt.id).status == "ACTIVE" and smtp == []
    assert {row.status for row in interventions(their_attempt).values()} == {"SCHEDULED"}


def test_a_cart_without_recovery_says_so(app, db, company, admin):
    from storefront.cart.models import Cart
    from storefront.types import new_token

    cart = Cart(token=new_token(), company_id=company.id, currency="USD", status="ACTIVE", checkout_fields={})
    db.session.add(cart)
    db.session.commit()
    assert "No recovery attempt for this cart." in text(admin.get(f"/admin/carts/{cart.id}"))
    token = csrf_token(admin, f"/admin/carts/{cart.id}")
    response = admin.post(f"/admin/carts/{cart.id}/recovery/stop", data={"csrf_token": token})
    assert response.status_code == 303
