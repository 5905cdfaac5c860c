"""Admin home: today's and the last 7 days' headline metrics."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from storefront.analytics.metrics import headline
from storefront.dates import period_start
from storefront.routing import Routes
from storefront.types import utcnow

routes = Routes()


@routes.get("/")
@login_required
def home():
    """Visits, add-to-carts, orders, revenue and new leads, in the merchant's timezone."""
    company = current_user.company
    now = utcnow()
    periods = [
        ("Today", headline(company.id, period_start(company.timezone, 1, now))),
        ("Last 7 days", headline(company.id, period_start(company.timezone, 7, now))),
    ]
    return render_template("admin/home.html", periods=periods, company=company)
