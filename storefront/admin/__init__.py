"""The merchant admin under /admin: one module per screen, each calling domain services."""
from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__, url_prefix="/admin")

# (endpoint, label) of the admin's top navigation; screens add themselves here.
NAV: list[tuple[str, str]] = [("admin.home", "Home")]


@bp.app_context_processor
def _admin_nav() -> dict:
    return {"admin_nav": NAV}


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
