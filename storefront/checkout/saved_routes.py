"""Save for later and the wishlist, on the cart blueprint. Each POST works over htmx (the
drawer, or the wishlist block, re-rendered with a toast) and as a plain form (303 with a flash).

The saved list under the cart is drawn by ``saved_items()``, a template function: it reads the
database only when the shopper may have saved items (the ``sf_saved`` hint cookie, a change in
this request, or the full /cart page), so the drawer of a shopper who never saved anything
costs no query.
"""
from __future__ import annotations

from flask import (
    after_this_request,
    flash,
    g,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from storefront.cart.saved import (
    SavedItemMissing,
    SavedList,
    add_to_wishlist,
    move_to_cart,
    remove_saved,
    save_for_later,
    saved_list,
    shopper_for_request,
    visitor_id_from_request,
)
from storefront.cart.services import CartError, cart_info, current_cart
from storefront.checkout.cart_routes import (
    _after_change,
    _refuse,
    _render_cart,
    _same_site_referrer,
)
from storefront.cookies import (
    SAVED_HINT_COOKIE,
    VISITOR_COOKIE,
    VISITOR_COOKIE_AGE,
    delete_shopper_cookie,
    set_cart_cookie,
    set_shopper_cookie,
)
from storefront.htmx import live_status, no_store, render, toast, wants_fragment
from storefront.landing.services import shop_context
from storefront.limits import per_ip_and_visit
from storefront.routing import Routes
from storefront.types import new_token
from storefront.visits.services import current_visit

routes = Routes()
VIEWS = ("cart", "wishlist")


def _visitor_id(create: bool = True) -> str | None:
    """The returning-visitor id; with ``create``, a new one (its cookie set on the response)
    for a shopper who has none, so what they save stays theirs."""
    visitor_id = g.get("saved_visitor_id") or visitor_id_from_request()
    if visitor_id is None and create:
        visitor_id = new_token()

        @after_this_request
        def _set_visitor(response):
            set_shopper_cookie(response, VISITOR_COOKIE, visitor_id, VISITOR_COOKIE_AGE)
            return response

    g.saved_visitor_id = visitor_id
    return visitor_id


def _sync_hint(has_items: bool) -> None:
    """Keep the hint cookie in step with what the database said, on this response."""
    present = bool(request.cookies.get(SAVED_HINT_COOKIE))
    if has_items == present or g.get("saved_hint_synced"):
        return
    g.saved_hint_synced = True

    @after_this_request
    def _hint(response):
        if has_items:
            set_shopper_cookie(response, SAVED_HINT_COOKIE, "1", VISITOR_COOKIE_AGE)
        else:
            delete_shopper_cookie(response, SAVED_HINT_COOKIE)
        return response


@routes.app_context_processor
def _saved_items_function():
    return {"saved_items": saved_items}


def saved_items() -> SavedList | None:
    """The shopper's saved list for the cart drawer and page, or None when it is not worth a
    query (see the module docstring). Computed once per request."""
    if not has_request_context():
        return None
    if "saved_view" in g:
        return g.saved_view
    wanted = (g.get("saved_changed") or request.cookies.get(SAVED_HINT_COOKIE)
              or (request.endpoint == "cart.show" and not wants_fragment()))
    view = None
    if wanted:
        view = saved_list(shopper_for_request(_visitor_id(create=False), g.get("saved_cart")))
        _sync_hint(bool(view))
    g.saved_view = view
    return view


def _view() -> str:
    view = request.form.get("view", "cart")
    return view if view in VIEWS else "cart"


def _wishlist_page(status: int = 200, error: str | None = None, cart=None):
    # A cart made by this request has no cookie yet: the caller passes it.
    cart = cart if cart is not None else current_cart()
    visitor_id = _visitor_id(create=False)
    shopper = shopper_for_request(visitor_id, cart)
    view = saved_list(shopper, cart.currency if cart else None)
    _sync_hint(bool(view))
    if wants_fragment():
        shop = {}
    elif cart is not None:
        shop = shop_context(cart.company_id, cart.landing_page_id)
    else:
        visit = current_visit()
        shop = shop_context(visit.company_id, visit.landing_page_id) if visit else shop_context(None, None)
    response = render("cart/wishlist.html", "wishlist", status=status, wishlist=view, cart=cart_info(cart),
                      error=error, **shop)
    return no_store(response)


def _changed(view: str, cart, message: str):
    """The answer to a successful change: the drawer (or wishlist) over htmx, else 303."""
    g.saved_changed = True
    g.saved_cart = cart
    g.pop("saved_view", None)
    if view == "cart":
        return no_store(_after_change(cart, message))
    if wants_fragment():
        return set_cart_cookie(toast(_wishlist_page(cart=cart), message), cart.token if cart else None)
    flash(message, "success")
    return no_store(set_cart_cookie(redirect(url_for("cart.wishlist"), code=303), cart.token if cart else None))


def _refused(view: str, error: CartError):
    if view == "cart":
        return no_store(_refuse(error))
    if wants_fragment():
        return toast(_wishlist_page(status=422, error=str(error)), str(error), "error")
    flash(str(error), "error")
    return no_store(redirect(url_for("cart.wishlist"), code=303))


def _missing(view: str, error: SavedItemMissing):
    """404 for a saved item id that is not this shopper's (unknown, malformed, or another's)."""
    message = str(error)
    if wants_fragment():
        g.saved_changed = True
        if view == "wishlist":
            response = _wishlist_page(status=404, error=message)
        else:
            response = _render_cart(current_cart(), status=404, error=message)
        return toast(response, message, "error")
    body = render_template("errors/error.html", status=404, title="Not found", message=message)
    return no_store(make_response(body, 404))


@routes.post("/cart/save")
@per_ip_and_visit("RATELIMIT_CART")
def save_line():
    """Save for later: move the cart line ``variant_id`` into the saved items."""
    try:
        cart = save_for_later(request.form.get("variant_id"), _visitor_id())
    except CartError as error:
        return no_store(_refuse(error))
    return _changed("cart", cart, "Saved for later")


@routes.post("/saved/move")
@per_ip_and_visit("RATELIMIT_CART")
def move_saved():
    """Move a saved item (``saved_id``) into the cart; a wishlist item is added and kept.
    ``variant_id`` may pick another option of the wishlisted product; ``view`` is "cart"
    (the drawer, the default) or "wishlist" (the wishlist page)."""
    view = _view()
    try:
        cart, kind = move_to_cart(request.form.get("saved_id"), _visitor_id(create=False),
                                  request.form.get("variant_id"))
    except SavedItemMissing as error:
        return _missing(view, error)
    except CartError as error:
        return _refused(view, error)
    return _changed(view, cart, "Moved to cart" if kind == "saved" else "Added to cart")


@routes.post("/saved/remove")
@per_ip_and_visit("RATELIMIT_CART")
def remove_saved_item():
    """Remove a saved or wishlisted item (``saved_id``); ``view`` as for /saved/move."""
    view = _view()
    try:
        kind = remove_saved(request.form.get("saved_id"), _visitor_id(create=False))
    except SavedItemMissing as error:
        return _missing(view, error)
    message = "Removed from your wishlist" if kind == "wishlist" else "Removed from saved items"
    return _changed(view, current_cart(), message)


@routes.post("/wishlist/add")
@per_ip_and_visit("RATELIMIT_CART")
def wishlist_add():
    """Add ``variant_id`` to the wishlist. htmx gets an empty body (the product card stays as
    it is) with a toast and the live-region text; a plain form goes to /wishlist."""
    try:
        added = add_to_wishlist(request.form.get("variant_id"), _visitor_id())
    except CartError as error:
        if wants_fragment():
            body = live_status(str(error))
            return no_store(toast(make_response(body, 422), str(error), "error"))
        flash(str(error), "error")
        return no_store(redirect(_same_site_referrer() or url_for("cart.wishlist"), code=303))
    _sync_hint(True)
    message = "Added to your wishlist" if added else "Already in your wishlist"
    if wants_fragment():
        body = live_status(message + ".")
        return no_store(toast(make_response(body, 200), message))
    flash(message, "success")
    return no_store(redirect(url_for("cart.wishlist"), code=303))


@routes.get("/wishlist")
def wishlist():
    """The wishlist page: each item with "Add to cart" and "Remove"; htmx gets the list block."""
    return _wishlist_page()
