"""Public landing pages: ``GET /lp/<slug>``, old addresses redirected, and the private draft
preview ``GET /lp/preview/<token>``."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from storefront.cookies import SAVED_HINT_COOKIE, VISITOR_COOKIE
from storefront.countries import visitor_country
from storefront.landing import hooks
from storefront.landing.pages import preview_page, redirected_page
from storefront.landing.recently_viewed import recently_viewed
from storefront.landing.services import (
    cached_whole_page,
    keep_whole_page,
    published_page,
    rendered_sections,
    whole_page_key,
)
from storefront.landing.versions import version_page
from storefront.routing import Routes
from storefront.visits.services import set_visit_cookies, track_landing_view

routes = Routes()
# A renamed page's old address: browsers may cache the 301, but not for ever, since the
# merchant can give the old address to another page later.
REDIRECT_MAX_AGE = 3600
PREVIEW_BANNER = Markup(
    '<p class="preview-banner" role="status">Preview: this is how the page looks now, whatever '
    'its status. Only people with this link can see it.</p>'
)


def _page_response(page, sections_html: Markup, look=None, welcome: bool = False, viewed=()):
    """The page rendered with its sections and the shopper's cart (shared by the public view
    and the preview, so both always get the same context); ``look`` is the page whose theme
    is shown (an experiment's version, else the page); ``welcome`` shows the returning
    visitor's note (with their open cart or saved items); ``viewed``: the visitor's recently
    viewed products (``landing.recently_viewed``)."""
    response = make_response(
        render_template(
            "landing/page.html",
            page=page,
            look=look or page,
            sections_html=sections_html,
            welcome=welcome,
            saved_hint=welcome and bool(request.cookies.get(SAVED_HINT_COOKIE)),
            viewed=viewed,
        )
    )
    response.vary.add("HX-Request")
    return response


def _has_shop_cookie() -> bool:
    """Whether the request carries any cookie of the shop's: its own (``sf_*``: visit,
    returning visitor, cart, saved items), the session (CSRF, flashes) or the admin's
    remember-me. Other sites' cookies on the domain (an analytics tag's) change nothing on
    the page."""
    own = (current_app.config["SESSION_COOKIE_NAME"], current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return any(name.startswith("sf_") or name in own for name in request.cookies)


@routes.get("/lp/<slug>")
def landing_page(slug: str):
    """Render a published landing page; 301 from a renamed page's old address (keeping the
    query string, e.g. UTM tags); 404 for a draft, archived or unknown slug."""
    page = published_page(slug)
    if page is None:
        # Only a miss pays for the redirect lookup.
        target = redirected_page(slug)
        if target is None:
            abort(404)
        location = url_for("landing.landing_page", slug=target.slug)
        if request.args:
            location += "?" + urlencode(list(request.args.items(multi=True)))
        response = redirect(location, code=301)
        response.headers["Cache-Control"] = f"public, max-age={REDIRECT_MAX_AGE}"
        return response
    visit, is_new = track_landing_view(page)
    # A running experiment may show this visitor another version (landing.hooks).
    version = hooks.first(hooks.page_version, page, visit.visitor_id, request.user_agent.string, is_new)
    shown = page
    if version is not None and version.page_id is not None:
        # The version's sections, products and theme; the page's address, title and shop.
        shown = version_page(version.page_id, page.company_id) or page
    token = generate_csrf()
    # A first view without any cookie of the shop's (an ad click) sees what every such visitor sees.
    key = whole_page_key(page, shown, visitor_country()) if not _has_shop_cookie() else None
    html = cached_whole_page(key, token) if key else None
    if html is not None:
        response = make_response(html)
        response.vary.add("HX-Request")
    else:
        # A new visit of a visitor seen before (the returning-visitor cookie, nothing new tracked).
        welcome = is_new and bool(request.cookies.get(VISITOR_COOKIE))
        # Only a visitor seen before can have viewed other pages: a first view pays nothing.
        visitor_id = request.cookies.get(VISITOR_COOKIE)
        viewed = recently_viewed(page.company_id, visitor_id if visitor_id and len(visitor_id) <= 64 else None,
                                 page.id)
        response = _page_response(page, Markup(rendered_sections(shown, token)), shown, welcome, viewed)
        if key:
            keep_whole_page(key, response.get_data(as_text=True), token, shown, (visit.token, visit.visitor_id))
    response.headers["Cache-Control"] = "private, no-cache"
    if is_new:
        set_visit_cookies(response, visit)
    return response


@routes.get("/lp/preview/<token>")
def preview(token: str):
    """The page behind a private preview link, whatever its status: never indexed, never
    cached, and no visit recorded. 404 for an unknown token."""
    page = preview_page(token)
    if page is None:
        abort(404)
    response = _page_response(page, PREVIEW_BANNER + Markup(rendered_sections(page, generate_csrf())))
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "private, no-store"
    # The token is the only key to a draft: don't send it to other sites as a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

