"""Opens of one recovery email arriving at once (mail clients and image proxies fetch the
image in parallel), on PostgreSQL: the row lock lets one record the open; the others are
no-ops, so the lead's timeline gets one EMAIL_OPENED and the status moves once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from helpers import abandoned_cart, interventions

from storefront.leads.models import LeadActivity
from storefront.recovery import delivery
from storefront.recovery.models import CartSaveAttempt
from storefront.recovery.tracking import mark_opened


@pytest.mark.postgres
def test_parallel_opens_record_one(app, db, company, smtp, is_postgres):
    if not is_postgres:
        pytest.skip("concurrency runs on PostgreSQL")
    app.config["REDIS_URL"] = ""
    cart, attempt, left = abandoned_cart(company, lead=True)
    delivery.claim_due(left + timedelta(hours=1))
    token = interventions(attempt)["REMINDER_EMAIL"].token
    barrier = threading.Barrier(6)
    firsts: list[bool] = []

    def fetch():
        with app.app_context():
            barrier.wait()
            firsts.append(mark_opened(token))
            db.session.remove()

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(firsts) == [False] * 5 + [True]
    db.session.expire_all()
    assert interventions(attempt)["REMINDER_EMAIL"].status == "OPENED"
    lead_id = db.session.get(CartSaveAttempt, attempt.id).lead_id
    assert db.session.query(LeadActivity).filter_by(lead_id=lead_id, type="EMAIL_OPENED").count() == 1
    history = db.session.get(CartSaveAttempt, attempt.id).stage_history
    assert [entry["event"] for entry in history].count("OPENED") == 1
