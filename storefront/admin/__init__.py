"""The merchant admin under /admin: one module per screen, each calling domain services."""
from __future__ import annotations

from flask import Blueprint, Flask
from flask_login import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")

# (endpoint, label) of the admin's top navigation; screens add themselves here.
NAV: list[tuple[str, str]] = [("admin.home", "Home")]


@bp.context_processor
def _admin_context() -> dict:
    # current_user only in admin templates, so shopper pages never load a user or touch the
    # session cookie for Flask-Login's session protection.
    return {"admin_nav": NAV, "current_user": current_user}


@bp.after_request
def _private(response):
    # Admin pages show personal data (leads, orders, carts): never kept by a browser's
    # history cache or a shared proxy. The theme preview's stylesheet (content-addressed,
    # no personal data) keeps its own caching.
    if response.mimetype != "text/css":
        response.headers["Cache-Control"] = "no-store, private"
    return response


def register_admin(app: Flask) -> None:
    """Import the screens (they add routes to ``bp``) and register the blueprint."""
    from storefront.admin import (  # noqa: F401
        auth,
        carts,
        home,
        leads,
        offers,
        pages,
        products,
        promotions,
        shipping,
        themes,
    )

    app.register_blueprint(bp)
