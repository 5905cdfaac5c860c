"""The real-time save in the recovery admin: the report's churn detection table (flagged,
took the save, left, bought anyway, precision, false positives) and its banner over 30 %;
the attempt a save made shows the save; another merchant's save is not shown."""
from __future__ import annotations

import html
import sys
from datetime import timedelta
from pathlib import Path

from storefront.accounts.models import Company
from storefront.recovery import realtime, services
from storefront.types import utcnow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "integration" / "recovery"))
from test_realtime import on_checkout, order_for  # noqa: E402


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flagged(company, n, bought):
    """``n`` shoppers flagged on checkout who said "No thanks"; the first ``bought`` buy,
    the others leave (the lifecycle tick records them abandoned)."""
    carts = [on_checkout(company, fields={"email": f"s{i}@{company.slug}.test"}) for i in range(n)]
    for cart in carts:
        realtime.answer(cart, realtime.offer_save(cart).id, accept=False)
    for cart in carts[:bought]:
        order_for(company, cart, email=cart.checkout_fields["email"])
    services.lifecycle(utcnow() + timedelta(minutes=25))
    return carts


def test_the_report_shows_the_detectors_figures_and_the_banner_over_thirty_percent(app, db, admin, company):
    flagged(company, 10, bought=4)

    page = text(admin.get("/admin/recovery"))

    table = page[page.index('id="churn-detection"'):]
    table = table[:table.index("</table>")]
    cells = [cell.split(">", 1)[1] for cell in table.split("<td ")[1:]]
    assert [c.split("<")[0] for c in cells] == ["10", "0", "6", "0", "4", "0", "60 %", "40 %"]
    assert "4 of 10 flagged shoppers bought without the save (40% false positives, over 30%)" in page
    fragment = admin.get("/admin/recovery?days=7", headers={"HX-Request": "true"})
    assert 'id="churn-detection"' in text(fragment) and "<html" not in text(fragment)


def test_under_the_alert_line_there_is_no_banner(app, db, admin, company):
    flagged(company, 10, bought=3)
    page = text(admin.get("/admin/recovery"))
    assert "flagged shoppers bought without the save" not in page and "70 %" in page


def test_the_attempt_of_a_save_shows_it_and_another_merchants_is_404(app, db, admin, company):
    [cart] = flagged(company, 1, bought=0)
    save = realtime.find_save(cart)
    other = Company(name="Other Shop", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    [theirs] = flagged(other, 1, bought=1)

    page = text(admin.get(f"/admin/recovery/attempts/{save.attempt_id}"))

    assert "Real-time save on checkout" in page and save.offer_code in page and "churn risk 50 of 100" in page
    assert admin.get(f"/admin/recovery/attempts/{realtime.find_save(theirs).attempt_id}").status_code == 404
    # The save is no message: nothing to preview.
    assert f"/preview/{save.id}" not in page
    assert admin.get(f"/admin/recovery/attempts/{save.attempt_id}/preview/{save.id}").status_code == 404
