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

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.admin.pages import EDIT, edit_context, when
from storefront.catalog.models import Product
from storefront.dates import merchant_zone
from storefront.forms import MoveForm
from storefront.htmx import render, toast, wants_fragment
from storefront.inputs import multiline
from storefront.landing import builder
from storefront.landing.forms import (
    AddSectionForm,
    GridAddForm,
    GridForm,
    GridMoveForm,
    section_form,
)
from storefront.landing.models import LandingPage
from storefront.landing.sections import TYPES
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


def _section_context(page, section, form=None, q: str | None = None, **extra) -> dict:
    """Everything ``admin/pages/section.html`` needs: ``form`` the settings form (default:
    the stored settings), ``q`` the catalogue search (default: the address's ``?q=``)."""
    company = current_user.company
    query = builder.clean_query(request.args.get("q")) if q is None else q
    items = builder.grid_items(section) if section.type == "product_grid" else []
    context = {
        "page": page,
        "section": section,
        "kind": TYPES.get(section.type),
        "company": company,
        "form": form or section_form(section, company, fresh=True),
        "items": items,
        "added_ids": {item.product_id for item in items},
        "q": query,
        "results": builder.search_products(query) if section.type == "product_grid" else [],
        "focus": None,
        "oob_result": None,
        "zone": merchant_zone(company.timezone).key,
        "when": when,
    }
    context.update(extra)
    return context


def _sections_block(page, status: int = 200, **extra):
    return render(EDIT, "sections", status=status, **edit_context(page, **extra))


def _refused(page, message: str, **extra):
    """A refused change to the sections: 422 with the sections (the whole editor without
    htmx, the message flashed) and an error toast."""
    if not wants_fragment():
        flash(message, "error")
    return kit.invalid(_sections_block(page, 422, **extra), message)


def _to_sections(page, message: str, **extra):
    """The sections block with a toast over htmx, else back to the editor's sections."""
    return kit.done(message, url_for("admin.pages_edit", page_id=page.id) + "#sections",
                    lambda: _sections_block(page, **extra))


# ----------------------------------------------------------------------------- sections


@routes.post("/pages/<int:page_id>/sections")
@login_required
def pages_section_add(page_id: int):
    """Add a section of the chosen ``type`` at the end of the page."""
    page = get_or_404(LandingPage, page_id)
    form = AddSectionForm.of(current_user.company)
    if not form.validate():
        message = form.type.errors[0]
        return _refused(page, message, section_error=message)
    try:
        section = builder.add_section(page, form.type.data)
    except builder.BuilderError as error:
        return _refused(page, str(error), section_error=str(error))
    message = f"{_label(section)} section added."
    if wants_fragment():
        return toast(_sections_block(page, focus=("edit", section.id)), message, "success")
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
    form = section_form(section, current_user.company, utcnow())
    if not form.validate():
        return kit.invalid(render(SECTION, "section_form", status=422, **_section_context(page, section, form)))
    builder.save_section(page, section, form.settings())
    notices = form.notices()
    # One toast per response (HX-Trigger holds one "toast" event), so notices join in.
    message = " ".join([f"{_label(section)} saved."] + notices)
    return kit.done(message, url_for("admin.pages_section", page_id=page.id, section_id=section.id),
                    lambda: render(SECTION, "section_form", **_section_context(page, section)),
                    level="info" if notices else "success")


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/delete")
@login_required
def pages_section_delete(page_id: int, section_id: int):
    """Remove a section (asked to confirm first) and the products in it."""
    page, section = _page_section(page_id, section_id)
    label = _label(section)
    builder.remove_section(page, section)
    return _to_sections(page, f"{label} section removed.")


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/move")
@login_required
def pages_section_move(page_id: int, section_id: int):
    """Move a section one place ``direction`` = up or down."""
    page, section = _page_section(page_id, section_id)
    form = MoveForm.of(current_user.company)
    if not form.validate():
        return _refused(page, form.direction.errors[0])
    direction = form.direction.data
    moved = builder.move_section(page, section, direction)
    label = _label(section)
    message = f"{label} moved {direction}." if moved else f"{label} is already at the {'top' if direction == 'up' else 'bottom'}."
    return _to_sections(page, message, focus=(direction, section.id))


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


def _products_done(page, section, form: GridForm, message: str, level: str = "success", status: int = 200,
                   **extra):
    """The grid's products with a toast over htmx; otherwise back to the search the merchant
    came from (``form.query``), or to the grid (post/redirect/get)."""
    query = form.query
    if query:
        target = url_for("admin.pages_product_search", page_id=page.id, section_id=section.id)
        target = f"{target}?{urlencode({'q': query})}#search"
    else:
        target = url_for("admin.pages_section", page_id=page.id, section_id=section.id) + "#products"
    return kit.done(message, target, lambda: render(SECTION, "products", status=status,
                                                    **_section_context(page, section, q=query, **extra)),
                    level=level)


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
    form = GridAddForm.of(current_user.company)
    if not form.validate():
        abort(404)  # no readable product id: no product of this merchant's
    product = get_or_404(Product, form.product_id.data)
    try:
        added = builder.add_product(page, section, product)
    except builder.BuilderError as error:
        return _products_done(page, section, form, str(error), "error", status=422)
    message = f"“{product.title}” added." if added else f"“{product.title}” is already in this grid."
    return _products_done(page, section, form, message, oob_result=product, focus=("search", None))


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/products/<int:item_id>/delete")
@login_required
def pages_product_delete(page_id: int, section_id: int, item_id: int):
    """Take a product off the grid (it stays in the catalogue)."""
    page, section = _grid(page_id, section_id)
    item = _item(section, item_id)
    product = item.product
    builder.remove_product(page, section, item)
    return _products_done(page, section, GridForm.of(current_user.company),
                          f"“{product.title}” removed from the grid.", oob_result=product)


@routes.post("/pages/<int:page_id>/sections/<int:section_id>/products/<int:item_id>/move")
@login_required
def pages_product_move(page_id: int, section_id: int, item_id: int):
    """Move a grid product one place ``direction`` = up or down."""
    page, section = _grid(page_id, section_id)
    item = _item(section, item_id)
    form = GridMoveForm.of(current_user.company)
    if not form.validate():
        return _products_done(page, section, form, form.direction.errors[0], "error", status=422)
    direction = form.direction.data
    moved = builder.move_product(page, section, item, direction)
    title = item.product.title
    message = f"“{title}” moved {direction}." if moved else f"“{title}” is already at the {'top' if direction == 'up' else 'bottom'}."
    return _products_done(page, section, form, message, focus=(direction, item.id))
