"""Leads the merchant brings, at the same moment on PostgreSQL: the same CSV imported twice
at once imports once (the other is refused with a clear error, never a 5xx), and the same
lead typed twice at once is saved once."""
from __future__ import annotations

import threading

import pytest

from storefront.leads.intake import LeadInput, create_manual
from storefront.leads.lead_import import LeadImportError, import_leads
from storefront.leads.models import Lead
from storefront.notifications.models import PhoneConsent

CSV = (b"email,phone,sms_consent,consent_text\r\n"
       b"ada@example.com,+15125550100,yes,Text me.\r\n"
       b"grace@example.com,+15125550101,yes,Text me.\r\n")


def _at_once(app, db, n, call):
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def worker():
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(call())
            except LeadImportError as error:
                outcomes.append("refused: " + str(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
def test_one_file_imported_twice_at_once_imports_once(app, db, company, is_postgres):
    if not is_postgres:
        pytest.skip("concurrency runs on PostgreSQL")
    outcomes = _at_once(app, db, 4, lambda: f"imported {import_leads(company.id, CSV, None).created}")
    assert len(outcomes) == 4 and outcomes.count("imported 2") == 1
    assert all(o == "imported 2" or o.startswith("refused: ") for o in outcomes)
    assert db.session.query(Lead).count() == 2
    assert db.session.query(PhoneConsent).count() == 2


@pytest.mark.postgres
def test_one_lead_typed_twice_at_once_is_saved_once(app, db, company, is_postgres):
    if not is_postgres:
        pytest.skip("concurrency runs on PostgreSQL")

    def create():
        lead, errors = create_manual(company.id, LeadInput(email="ada@example.com"), None)
        return "saved" if lead is not None else "refused: " + errors["email"]

    outcomes = _at_once(app, db, 4, create)
    assert outcomes.count("saved") == 1 and len(outcomes) == 4
    assert db.session.query(Lead).count() == 1
