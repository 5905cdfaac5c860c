"""The merchant admin under /admin: one module per screen, each calling domain services."""
from __future__ import annotations

from flask import Blueprint, Flask
from flask_login import current_user

# (endpoint, label) of the admin's top navigation, in the order shown.
NAV: tuple[tuple[str, str], ...] = (
    ("admin.home", "Home"), ("admin.carts", "Carts"), ("admin.leads", "Leads"), ("admin.offers", "Offers"),
    ("admin.pages", "Pages"), ("admin.products", "Products"), ("admin.promotions", "Promotions"),
    ("admin.shipping", "Shipping & tax"), ("admin.outbox", "Outbox"),
    ("admin.billing_dashboard", "Billing"),
    ("admin.recovery_report", "Recovery"),
    ("admin.analytics", "Analytics"),
    ("admin.experiments", "Experiments"),
    ("admin.workers", "Workers"),
)


def _admin_context() -> dict:
    # current_user only in admin templates, so shopper pages never load a user or touch the
    # session cookie for Flask-Login's session protection.
    return {"admin_nav": NAV, "current_user": current_user}


def _private(response):
    # Admin pages show personal data (leads, orders, carts): never kept by a browser's
    # history cache or a shared proxy. The theme preview's stylesheet (content-addressed,
    # no personal data) keeps its own caching.
    if response.mimetype != "text/css":
        response.headers["Cache-Control"] = "no-store, private"
    return response


def register_admin(app: Flask) -> None:
    """Add every screen's routes to ``bp`` and register it on ``app``."""
    from storefront.admin import analytics as analytics_screen
    from storefront.admin import (
        auth,
        carts,
        home,
        lead_detail,
        leads,
        offers,
        outbox,
        page_sections,
        pages,
        product_import,
        products,
        promotions,
        shipping,
        tax,
        themes,
    )
    from storefront.admin import dunning_messages as dunning_messages_screen
    from storefront.admin import experiments as experiments_screen
    from storefront.admin import lead_intake as lead_intake_screen
    from storefront.admin import product_images as product_images_screen
    from storefront.admin import recovery as recovery_screen
    from storefront.admin import subscriptions as subscriptions_screen
    from storefront.admin import workers as workers_screen

    # A blueprint per app: one that was registered once takes no more routes.
    bp = Blueprint("admin", __name__, url_prefix="/admin")
    bp.context_processor(_admin_context)
    bp.after_request(_private)
    for screen in (auth, home, carts, leads, lead_detail, offers, pages, page_sections, products,
                   product_import, promotions, shipping, tax, themes, outbox):
        screen.routes.register(bp)
    analytics_screen.routes.register(bp)
    experiments_screen.routes.register(bp)
    recovery_screen.routes.register(bp)
    lead_intake_screen.routes.register(bp)
    product_images_screen.routes.register(bp)
    subscriptions_screen.routes.register(bp)
    dunning_messages_screen.routes.register(bp)
    workers_screen.routes.register(bp)
    app.register_blueprint(bp)
