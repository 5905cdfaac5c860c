"""The recovery report's breakdowns: messages by channel and stage (sent, opened, clicked,
orders through the link), attempts by reason, landing page and campaign (recovered,
running, lost, rate), grouped in the database; another merchant's attempts never count;
the htmx period switch carries them too."""
from __future__ import annotations

import html
import sys
from datetime import timedelta
from pathlib import Path

from factories import make_page, make_product

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.checkout.models import Order
from storefront.recovery import delivery
from storefront.recovery.breakdowns import breakdowns
from storefront.recovery.restore import order_placed
from storefront.recovery.tracking import mark_opened
from storefront.types import new_token, utcnow
from storefront.visits.models import Visit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "integration" / "recovery"))
from helpers import EMAIL, abandoned_cart, interventions  # noqa: E402

HX = {"HX-Request": "true"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def cells(page: str, table: str, label: str) -> list[str]:
    body = page.split(f'id="{table}"')[1].split("</table>")[0]
    row = body.split(f'">{label}</th>')[1].split("</tr>")[0]
    return [c.split(">", 1)[1].split("<")[0] for c in row.split("<td")[1:]]


def _from_campaign(db, company, cart, page, campaign):
    visit = Visit(token=new_token(), company_id=company.id, landing_page_id=page.id, visitor_id=new_token(),
                  utm_campaign=campaign)
    db.session.add(visit)
    db.session.flush()
    db.session.execute(db.update(Cart).where(Cart.id == cart.id).values(visit_id=visit.id, landing_page_id=page.id))
    db.session.commit()


def _period(db, app, company):
    """A recovered cart from the spring campaign's page (price shock; its incentive opened and
    clicked), and one still running with no visit (reason unknown)."""
    app.config["REDIS_URL"] = ""
    page = make_page(company, [make_product(company, "Cap", price_cents=1500)], slug="spring")
    now = utcnow()
    cart, won, left = abandoned_cart(company, left=now - timedelta(hours=30), lead=True)
    _from_campaign(db, company, cart, page, "spring-24")
    delivery.claim_due(left + timedelta(hours=24, minutes=1))
    incentive = interventions(won)["INCENTIVE_EMAIL"]
    assert mark_opened(incentive.token, now)
    order = Order(company_id=company.id, number="#1001", token=new_token(), cart_id=cart.id, email=EMAIL,
                  currency="USD", subtotal_cents=4000, total_cents=3600, amount_paid_cents=3600)
    db.session.add(order)
    db.session.flush()
    incentive = interventions(won)["INCENTIVE_EMAIL"]
    incentive.clicked_at = now
    order_placed(order, db.session.get(Cart, cart.id))
    db.session.commit()
    _, running, _ = abandoned_cart(company, fields={"email": "other@example.test"}, left=now - timedelta(hours=2))
    delivery.claim_due(now)
    return won, running


def test_the_breakdowns_on_the_report(app, db, company, smtp, admin):
    _period(db, app, company)
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    abandoned_cart(other, lead=True)  # another merchant's attempt: never in our figures

    page = text(admin.get("/admin/recovery"))
    # Emails: three per attempt scheduled; two sent for the recovered cart, one for the running
    # one; the incentive opened, clicked and ordered through.
    assert cells(page, "by-channel", "Email") == ["6", "3", "1", "1", "33 %", "1", "$36.00"]
    assert cells(page, "by-stage", "Incentive email") == ["2", "1", "1", "1", "100 %", "1", "$36.00"]
    assert cells(page, "by-stage", "Reminder email")[:4] == ["2", "2", "0", "0"]
    assert cells(page, "by-reason", "Price shock") == ["1", "$40.00", "1", "$36.00", "0", "0", "100 %"]
    assert cells(page, "by-reason", "Unknown") == ["1", "$40.00", "0", "$0.00", "1", "0", "0 %"]
    spring = cells(page, "by-campaign", "spring-24")
    assert spring == ["1", "$40.00", "1", "$36.00", "0", "0", "100 %"]
    assert cells(page, "by-campaign", "No campaign")[:1] == ["1"]
    assert cells(page, "by-landing-page", "No landing page")[:1] == ["1"]

    fragment = text(admin.get("/admin/recovery?days=7", headers=HX))
    assert fragment.strip().startswith('<div id="recovery-figures">') and 'id="by-campaign"' in fragment


def test_a_landing_page_is_named_by_its_title(app, db, company, smtp):
    won, running = _period(db, app, company)
    now = utcnow()
    result = breakdowns(company.id, now - timedelta(days=30), now + timedelta(seconds=1))
    pages = {row.label: (row.attempts, row.recovered, row.recovered_cents) for row in result.landing_pages}
    titled = [label for label in pages if label != "No landing page"]
    assert len(titled) == 1 and pages[titled[0]] == (1, 1, 3600) and pages["No landing page"] == (1, 0, 0)
    # Outside the period: nothing.
    assert breakdowns(company.id, now - timedelta(days=90), now - timedelta(days=60)).empty


def test_a_merchant_without_attempts_sees_no_breakdowns(app, db, company, admin):
    page = text(admin.get("/admin/recovery"))
    assert 'id="by-channel"' not in page and "No cart was abandoned in this period." in page
