"""Admin screen: a landing page's sections and the products of its grids.

Add (choose a type), edit each type's settings, remove and reorder sections; search the
catalogue, add, remove and reorder a grid's products. Each POST works over htmx (a block
of the same template) and as a plain form (303 with a flash message). A section or product
row is only ever looked up under a page fetched through the tenant scope, so another
merchant's ids answer 404.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from storefront.accounts.scoping import get_or_404
from storefront.admin.pages import EDIT, edit_context, when
from storefront.catalog.models import Product
from storefront.dates import merchant_zone
from storefront.htmx import render, toast, wants_fragment
from storefront.inputs import multiline
from storefront.landing import builder
from storefront.landing.models import LandingPage
from storefront.landing.sections import (
    BADGES,
    MAX_FAQ,
    MAX_TESTIMONIALS,
    TYPES,
    Context,
    SectionInvalid,
    form_values,
)
from storefront.routing import Routes
from storefront.types import utcnow

routes = Routes()

SECTION = "admin/pages/section.html"


def _page_section(page_id: int, section_id: int):
    page = get_or_404(LandingPage, page_id)
    section = builder.page_section(page, section_id)
    if section is None:
        abort(404)
    return page, section


def _label(section) -> str:
    return TYPES[section.type].label if section.type in TYPES else section.type


def _section_context(page, section, **extra) -> dict:
    company = current_user.company
    ctx = Context.of(company, utcnow())
    query = builder.clean_query(request.args.get("q") or request.form.get("q"))
    items = builder.grid_items(section) if section.type == "product_grid" else []
    context = {
        "page": page,
        "section": section,
        "kind": TYPES.get(section.type),
        "company": company,
        "values": form_values(section.type, section.settings or {}, ctx),
        "errors": {},
        "items": items,
        "added_ids": {item.product_id for item in items},
        "q": query,
        "results": builder.search_products(query) if section.type == "product_grid" else [],
        "focus": None,
        "oob_result": None,
        "zone": merchant_zone(company.timezone).key,
        "badges": BADGES,
        "caps": {"testimonials": MAX_TESTIMONIALS, "faq": MAX_FAQ},
        "when": when,
    }
    context.update(extra)
    return context


def _sections_block(page, message: str, level: str = "success", status: int = 200, **extra):
    return toast(render(EDIT, "sections", status=status, **edit_context(page, **extra)), message, level)


def _back_to_page(page, message: str, level: str = "success"):
    flash(message, level)
    return redirect(url_for("admin.pages_edit", page_id=page.id) + "#sections", code=303)


# ----------------------------------------------------------------------------- sections


@routes.post("/pages/<int:page_id>/sections")
@login_required
def pages_section_add(page_id: int):
    """Add a section of the chosen ``type`` at the end of the page."""
    page = get_or_404(LandingPage, page_id)
    try:
        section = builder.add_section(page, request.form.get("type", ""))
    except builder.BuilderError as error:
        if not wants_fragment():
            flash(str(error), "error")
            return render(EDIT, "sections", status=422, **edit_context(page, section_error=str(error)))
        return _sections_block(page, str(error), "error", status=422, section_error=str(error))
    message = f"{_label(section)} section added."
    if wants_fragment():
        return _sections_block(page, message, focus=("edit", section.id))
    flash(message + " Fill in its settings.", "success")
    return redirect(url_for("admin.pages_section", page_id=page.id, section_id=section.id), code=303)


@routes.get("/pages/<int:page_id>/sections/<int:section_id>")
@login_required
def pages_section(page_id: int, section_id: int):
    """A section's settings form (and, for a product grid, its products and the search)."""
    page, section = _page_section(page_id, section_id)
    return render(SECTION, "section_form", **_section_context(page, section))


@routes.post("/pages/<int:page_id>/sections/<int:section_id>")
@login_required
@multiline("subheading", "html", "quote", "answer")
def pages_section_save(page_id: int, section_id: int):
    """Validate and save a section's settings; 422 with what was typed on errors."""
    page, section = _page_section(page_id, section_id)
    try:
        notices = builder.save_section(page, section, request.form, current_user.company)
    except SectionInvalid as invalid:
        return render(SECTION, "section_form", status=422,
                      **_section_context(page, section, values=invalid.values, errors=invalid.errors))
    message = " ".join([f"{_label(section)} saved."] + notices)
    level = "info" if notices else "success"
    if wants_fragment():
        # One toast per response (HX-Trigger holds one "toast" event), so notices join in.
        return toast(render(SECTION, "section_form", **_section_context(page, section)), message, level)
    flash(message, level)
    return redirect(url_for("admin.pages_section", page_id=page.id, section_id=section.id), code=303)


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/delete")
@login_required
def pages_section_delete(page_id: int, section_id: int):
    """Remove a section (asked to confirm first) and the products in it."""
    page, section = _page_section(page_id, section_id)
    label = _label(section)
    builder.remove_section(page, section)
    message = f"{label} section removed."
    if wants_fragment():
        return _sections_block(page, message)
    return _back_to_page(page, message)


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/move")
@login_required
def pages_section_move(page_id: int, section_id: int):
    """Move a section one place ``direction`` = up or down."""
    page, section = _page_section(page_id, section_id)
    direction = request.form.get("direction", "")
    try:
        moved = builder.move_section(page, section, direction)
    except builder.BuilderError as error:
        if not wants_fragment():
            flash(str(error), "error")
        return _sections_block(page, str(error), "error", status=422)
    label = _label(section)
    message = f"{label} moved {direction}." if moved else f"{label} is already at the {'top' if direction == 'up' else 'bottom'}."
    if wants_fragment():
        return _sections_block(page, message, focus=(direction, section.id))
    return _back_to_page(page, message)


# ----------------------------------------------------------------------------- products


def _grid(page_id: int, section_id: int):
    page, section = _page_section(page_id, section_id)
    if section.type != "product_grid":
        abort(404)
    return page, section


def _item(section, item_id: int):
    item = builder.grid_item(section, item_id)
    if item is None:
        abort(404)
    return item


def _products_done(page, section, message: str, level: str = "success", status: int = 200, **extra):
    if wants_fragment():
        response = render(SECTION, "products", status=status, **_section_context(page, section, **extra))
        return toast(response, message, level)
    flash(message, level)
    query = builder.clean_query(request.form.get("q"))
    if query:
        target = url_for("admin.pages_product_search", page_id=page.id, section_id=section.id)
        return redirect(f"{target}?{urlencode({'q': query})}#search", code=303)
    target = url_for("admin.pages_section", page_id=page.id, section_id=section.id)
    return redirect(target + "#products", code=303)


@routes.get("/pages/<int:page_id>/sections/<int:section_id>/products/search")
@login_required
def pages_product_search(page_id: int, section_id: int):
    """Active search over the catalogue (``q``): the results for htmx, else the whole
    section page with them."""
    page, section = _grid(page_id, section_id)
    return render(SECTION, "search_results", **_section_context(page, section))


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/products")
@login_required
def pages_product_add(page_id: int, section_id: int):
    """Add the catalogue product ``product_id`` to the grid (another merchant's: 404)."""
    page, section = _grid(page_id, section_id)
    product = get_or_404(Product, request.form.get("product_id"))
    try:
        added = builder.add_product(page, section, product)
    except builder.BuilderError as error:
        return _products_done(page, section, str(error), "error", status=422)
    message = f"“{product.title}” added." if added else f"“{product.title}” is already in this grid."
    return _products_done(page, section, message, oob_result=product, focus=("search", None))


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/products/<int:item_id>/delete")
@login_required
def pages_product_delete(page_id: int, section_id: int, item_id: int):
    """Take a product off the grid (it stays in the catalogue)."""
    page, section = _grid(page_id, section_id)
    item = _item(section, item_id)
    product = item.product
    builder.remove_product(page, section, item)
    return _products_done(page, section, f"“{product.title}” removed from the grid.", oob_result=product)


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/products/<int:item_id>/move")
@login_required
def pages_product_move(page_id: int, section_id: int, item_id: int):
    """Move a grid product one place ``direction`` = up or down."""
    page, section = _grid(page_id, section_id)
    item = _item(section, item_id)
    direction = request.form.get("direction", "")
    try:
        moved = builder.move_product(page, section, item, direction)
    except builder.BuilderError as error:
        return _products_done(page, section, str(error), "error", status=422)
    title = item.product.title
    message = f"“{title}” moved {direction}." if moved else f"“{title}” is already at the {'top' if direction == 'up' else 'bottom'}."
    return _products_done(page, section, message, focus=(direction, item.id))
