"""Public landing pages: ``GET /lp/<slug>``."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from storefront.cart.services import cart_summary_for_request
from storefront.landing.services import published_page, rendered_sections
from storefront.landing.visits import set_visit_cookies, track_landing_view

bp = Blueprint("landing", __name__)


@bp.get("/lp/<slug>")
def landing_page(slug: str):
    """Render a published landing page; 404 for a draft or unknown slug."""
    page = published_page(slug)
    if page is None:
        abort(404)
    visit, is_new = track_landing_view(page)
    sections_html = Markup(rendered_sections(page, generate_csrf()))
    response = make_response(
        render_template(
            "landing/page.html",
            page=page,
            sections_html=sections_html,
            cart=cart_summary_for_request(page.company_id),
        )
    )
    response.vary.add("HX-Request")
    response.headers["Cache-Control"] = "private, no-cache"
    if is_new:
        set_visit_cookies(response, visit)
    return response
