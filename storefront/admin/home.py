"""Admin home: today's and the last 7 days' headline metrics."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from storefront.admin import bp
from storefront.analytics.metrics import headline, period_start


@bp.get("/")
@login_required
def home():
    """Visits, add-to-carts, orders, revenue and new leads, in the merchant's timezone."""
    company = current_user.company
    periods = [
        ("Today", headline(company.id, period_start(company.timezone, 1))),
        ("Last 7 days", headline(company.id, period_start(company.timezone, 7))),
    ]
    return render_template("admin/home.html", periods=periods, company=company)
