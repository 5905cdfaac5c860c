"""The recovery admin: the report counts attempts, sent, clicked, UNKNOWN and recovered
orders with revenue (cents) per stage and channel, and only an order counts as recovered;
the attempts list and an attempt's timeline (UNKNOWN shown), "stop recovery"; the settings
form validated on write (plain POST and htmx); another merchant's attempt answers 404."""
from __future__ import annotations

import html
import sys
from datetime import timedelta
from pathlib import Path

from factories import csrf_token

from storefront.accounts.models import Company
from storefront.pricing.models import PromotionCode
from storefront.recovery import delivery, services
from storefront.recovery.models import CartSaveAttempt, CartSaveConfig
from storefront.recovery.restore import order_placed
from storefront.types import new_token, utcnow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "integration" / "recovery"))
from helpers import EMAIL, abandoned_cart, interventions  # noqa: E402

HX = {"HX-Request": "true"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _two_attempts(app, db, company, smtp):
    """One cart recovered after the incentive email's link, one whose reminder is UNKNOWN."""
    from storefront.checkout.models import Order

    app.config["REDIS_URL"] = ""
    now = utcnow()
    cart, won, left = abandoned_cart(company, left=now - timedelta(hours=30))
    delivery.claim_due(left + timedelta(hours=24, minutes=1))  # the reminder and the incentive go
    incentive = interventions(won)["INCENTIVE_EMAIL"]
    order = Order(company_id=company.id, number="#1001", token=new_token(), cart_id=cart.id, email=EMAIL,
                  currency="USD", subtotal_cents=4000, total_cents=3600, amount_paid_cents=3600)
    db.session.add(order)
    db.session.flush()
    incentive.clicked_at = left + timedelta(hours=25)
    order_placed(order, cart)
    db.session.commit()
    _, lost, left2 = abandoned_cart(company, fields={"email": "other@example.test"}, left=now - timedelta(hours=2))
    reminder = interventions(lost)["REMINDER_EMAIL"]
    reminder.status, reminder.message_key, reminder.updated_at = "SENDING", "recovery-x", now - timedelta(hours=1)
    db.session.commit()
    delivery.sweep_stuck(now)
    return won, lost


def test_the_report_counts_orders_not_clicks(app, db, company, smtp, admin):
    won, lost = _two_attempts(app, db, company, smtp)
    page = text(admin.get("/admin/recovery"))
    assert "Abandoned carts</dt><dd>2 ($80.00)" in page
    assert "Recovered</dt><dd>1 ($36.00)" in page
    assert "Orders through a recovery link</dt><dd>1 ($36.00)" in page
    assert "Recovery rate</dt><dd>50 %" in page
    assert "Offers used</dt><dd>0 of 1" in page and "Calls answered</dt><dd>0 of 0" in page
    won = db.session.get(CartSaveAttempt, won.id)
    hours = (won.completed_at - won.started_at).total_seconds() / 3600
    assert 29 < hours < 30 and f"Average time to the order</dt><dd>{hours:.1f} h" in page
    row = page.split('<th scope="row" data-label="Stage">Incentive email</th>')[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("<")[0] for c in row.split("<td")[1:]]
    assert cells == ["EMAIL", "2", "1", "1", "0", "0", "1", "$36.00"]
    assert 'data-cents="3600"' in row
    chart = page.split('<svg class="ea-chart"')[1].split("</svg>")[0]
    assert "Incentive email (EMAIL): 1 sent, 1 clicked, 1 recovered orders." in chart
    reminder = page.split('<th scope="row" data-label="Stage">Reminder email</th>')[1].split("</tr>")[0]
    assert [c.split(">", 1)[1].split("<")[0] for c in reminder.split("<td")[1:]][:5] == ["EMAIL", "2", "1", "0", "1"]
    code = interventions(won)["INCENTIVE_EMAIL"].offer_code
    db.session.execute(db.update(PromotionCode).where(PromotionCode.code == code).values(used_at=utcnow()))
    db.session.commit()
    assert "Offers used</dt><dd>1 of 1 (100 %)" in text(admin.get("/admin/recovery"))
    fragment = admin.get("/admin/recovery?days=7", headers=HX)
    assert fragment.status_code == 200 and text(fragment).strip().startswith("<div id=\"recovery-figures\">")
    assert admin.get("/admin/recovery?days=%C2%B2").status_code == 200  # unreadable: the default period


def test_the_attempts_list_and_timeline_show_unknown_and_stop_works(app, db, company, smtp, admin):
    won, lost = _two_attempts(app, db, company, smtp)
    listing = text(admin.get("/admin/recovery/attempts"))
    assert "Showing 1–2 of 2 attempts." in listing and "EMAIL: Unknown: not re-sent" in listing
    detail = text(admin.get(f"/admin/recovery/attempts/{lost.id}"))
    assert "Unknown: not re-sent" in detail and "1 h after the shopper&#39;s last activity" not in detail
    assert "1 h after the shopper's last activity" in detail
    response = admin.post(f"/admin/recovery/attempts/{lost.id}/stop",
                          data={"csrf_token": csrf_token(admin, f"/admin/recovery/attempts/{lost.id}")})
    assert response.status_code == 303
    db.session.expire_all()
    stopped = db.session.get(CartSaveAttempt, lost.id)
    assert stopped.status == "EXPIRED"
    assert {i.status for i in interventions(stopped).values()} == {"UNKNOWN", "CANCELLED"}


def test_another_merchants_attempt_answers_404(app, db, company, smtp, admin):
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    _, theirs, _ = abandoned_cart(other)
    assert admin.get(f"/admin/recovery/attempts/{theirs.id}").status_code == 404
    token = csrf_token(admin, "/admin/recovery/attempts")
    assert admin.post(f"/admin/recovery/attempts/{theirs.id}/stop", data={"csrf_token": token}).status_code == 404
    assert db.session.get(CartSaveAttempt, theirs.id).status == "ACTIVE"
    assert "Cart " + str(theirs.cart_id) not in text(admin.get("/admin/recovery/attempts"))


def _settings_form(admin, **changes) -> dict:
    data = {"csrf_token": csrf_token(admin, "/admin/recovery/settings"), "enabled": "1",
            "window_start": "09:00", "window_end": "20:00", "realtime_enabled": "1", "realtime_threshold": "50",
            "realtime_save": "AUTO", "realtime_offer": "5", "realtime_offer_hours": "24", "realtime_text": ""}
    for stage, delay, channel, offer, hours, minimum in (
            ("reminder_email", 60, "EMAIL", 0, 0, "0"), ("sms_nudge", 240, "SMS", 0, 0, "0"),
            ("incentive_email", 1440, "EMAIL", 10, 0, "0"), ("voice_call", 2880, "VOICE", 0, 0, "150.00"),
            ("final_offer_email", 4320, "EMAIL", 15, 24, "0")):
        data.update({f"{stage}_enabled": "1", f"{stage}_delay": str(delay), f"{stage}_channel": channel,
                     f"{stage}_offer": str(offer), f"{stage}_offer_hours": str(hours), f"{stage}_minimum": minimum})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_settings_are_validated_and_saved(app, db, company, admin):
    page = text(admin.get("/admin/recovery/settings"))
    assert 'name="incentive_email_offer"' in page and 'value="10"' in page

    bad = admin.post("/admin/recovery/settings", data=_settings_form(
        admin, incentive_email_offer="90", final_offer_email_delay="30", window_end="22:00",
        sms_nudge_channel="FAX"))
    assert bad.status_code == 422
    body = text(bad)
    assert "Incentive email: discount % must be a whole number from 0 to 50." in body
    assert "within 08:00–21:00" in body and "Choose a" in body
    assert db.session.query(CartSaveConfig).count() == 0

    backwards = admin.post("/admin/recovery/settings", headers=HX,
                           data=_settings_form(admin, final_offer_email_delay="30"))
    assert backwards.status_code == 422 and "Must not be earlier than Voice call" in text(backwards)

    saved = admin.post("/admin/recovery/settings", data=_settings_form(admin, sms_nudge_enabled=None))
    assert saved.status_code == 303
    settings = services.settings_for(company.id)
    assert settings.stage("SMS_NUDGE")["enabled"] is False
    assert settings.stage("VOICE_CALL")["min_cart_cents"] == 15000
    assert f"{settings.window.start:%H:%M}-{settings.window.end:%H:%M}" == "09:00-20:00"
    htmx = admin.post("/admin/recovery/settings", headers=HX, data=_settings_form(admin, enabled=None))
    assert htmx.status_code == 200 and "HX-Trigger" in htmx.headers
    assert services.settings_for(company.id).enabled is False


def test_preview_and_send_now(app, db, company, smtp, admin):
    app.config["REDIS_URL"] = ""  # the job runs in-process at once
    cart, attempt, left = abandoned_cart(company)
    rows = interventions(attempt)
    final = rows["FINAL_OFFER_EMAIL"]
    page = text(admin.get(f"/admin/recovery/attempts/{attempt.id}/preview/{final.id}"))
    assert "Subject:</strong> Last chance: 15 % off your cart at Acme Apparel, for 24 hours" in page
    assert "Use code SAVE-XXXXXXXX for 15 % off" in page and "2 × Classic Tee" in page
    db.session.expire_all()
    assert interventions(attempt)["FINAL_OFFER_EMAIL"].offer_code is None  # a preview issues nothing

    detail = f"/admin/recovery/attempts/{attempt.id}"
    response = admin.post(f"{detail}/send/{rows['REMINDER_EMAIL'].id}", data={"csrf_token": csrf_token(admin, detail)})
    assert response.status_code == 303 and len(smtp) == 1
    db.session.expire_all()
    sent = interventions(attempt)["REMINDER_EMAIL"]
    assert sent.status == "SENT" and sent.schedule_reason == "sent now by the merchant"
    # Not pending any more, or another attempt's message: 404, nothing sent.
    token = csrf_token(admin, detail)
    assert admin.post(f"{detail}/send/{sent.id}", data={"csrf_token": token}).status_code == 404
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    _, theirs, _ = abandoned_cart(other)
    their_reminder = interventions(theirs)["REMINDER_EMAIL"]
    assert admin.post(f"{detail}/send/{their_reminder.id}", data={"csrf_token": token}).status_code == 404
    assert admin.get(f"/admin/recovery/attempts/{theirs.id}/preview/{their_reminder.id}").status_code == 404
    assert admin.get(f"{detail}/preview/{their_reminder.id}").status_code == 404
    assert len(smtp) == 1


def test_send_me_a_test(app, db, company, smtp, admin):
    token = csrf_token(admin, "/admin/recovery/settings")
    refused = admin.post("/admin/recovery/settings/test", data={"csrf_token": token, "stage": "FINAL_OFFER_EMAIL"})
    assert refused.status_code == 303 and smtp == []  # no cart to show yet
    assert "no abandoned cart" in text(admin.get("/admin/recovery/settings"))
    abandoned_cart(company)
    response = admin.post("/admin/recovery/settings/test", data={"csrf_token": token, "stage": "FINAL_OFFER_EMAIL"})
    assert response.status_code == 303 and len(smtp) == 1 and smtp[0].rcpt_tos == ["owner@acme.test"]
    from helpers import parse

    mail = parse(smtp[0])
    assert mail["Subject"].startswith("[Test] Last chance: 15 %")
    assert "SAVE-XXXXXXXX" in mail.get_body(("plain",)).get_content()
    for stage in ("SMS_NUDGE", "REALTIME", "nonsense"):
        admin.post("/admin/recovery/settings/test", data={"csrf_token": token, "stage": stage})
    assert len(smtp) == 1
