"""Admin screen: products. The list (search, filters, sort, pages), editing a product and its
variants, creating one, archiving one. The CSV upload is in ``product_import``.

Every product is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.catalog.admin_forms import (
    ProductFormError,
    archive_product,
    create_product,
    update_product,
    upsell_options,
)
from storefront.catalog.admin_list import (
    SORTS,
    STATUSES,
    STOCK_FILTERS,
    ProductQuery,
    ProductRow,
    category_choices,
    merchant_categories,
    product_statements,
)
from storefront.catalog.forms import ProductEditor
from storefront.catalog.models import Product
from storefront.dates import merchant_zone
from storefront.htmx import render
from storefront.inputs import multiline
from storefront.routing import Routes

routes = Routes()

LIST = "admin/products/list.html"
EDIT = "admin/products/edit.html"
ARCHIVE = "admin/products/archive.html"


@routes.url_value_preprocessor
def _form_limits(endpoint: str | None, _values: dict | None) -> None:
    # Runs before CSRFProtect parses the form. A product with many variants sends 6 inputs
    # per variant: Flask's default of 1000 form parts would refuse one of ~160 variants.
    if endpoint in ("admin.product_edit", "admin.product_new"):
        request.max_form_parts = 20_000
        request.max_form_memory_size = 4 * 1024 * 1024  # a 100,000-character description fits


@routes.get("/products")
@login_required
def products():
    """The product list. A GET form: q, status, stock, category, sort, dir, page. htmx
    (active search, sort and page links) gets only the results block."""
    categories = merchant_categories()
    query = ProductQuery.from_args(request.args).within(categories)
    rows, count = product_statements(query, categories)
    page = kit.paginate(rows, query.page, count, row=ProductRow.of)
    company = current_user.company
    return render(LIST, "results", page=page, query=query, categories=category_choices(categories),
                  link=kit.list_link("admin.products", query), company=company, tz=merchant_zone(company.timezone),
                  statuses=STATUSES, stock_filters=STOCK_FILTERS, sorts=SORTS)


@routes.route("/products/new", methods=["GET", "POST"])
@login_required
@multiline("description")
def product_new():
    """A new product with one default variant; POST creates it and goes to its edit page."""
    company = current_user.company
    editor = ProductEditor.of(company)
    if request.method == "GET":
        return _editor(editor)
    if editor.validate():
        (_prefix, _variant, variant_form), = editor.variants
        try:
            product = create_product(company, editor.form.fields(), variant_form.fields())
        except ProductFormError as error:
            editor.fail(str(error))
        else:
            return kit.done(f"Product “{product.title}” created.", url_for("admin.product_edit", product_id=product.id),
                            lambda: _editor(ProductEditor.of(company, product, fresh=True)), push=True)
    return _editor(editor, status=422)


@routes.route("/products/<int:product_id>", methods=["GET", "POST"])
@login_required
@multiline("description")
def product_edit(product_id: int):
    """A product and its variants; POST saves them (422 with the typed values on errors)."""
    product = get_or_404(Product, product_id)
    company = current_user.company
    editor = ProductEditor.of(company, product)
    if request.method == "GET":
        return _editor(editor)
    if editor.validate():
        variants = {variant.id: form.fields() for _prefix, variant, form in editor.variants}
        try:
            update_product(product, editor.form.fields(), variants, editor.form.upsell_ids())
        except ProductFormError as error:
            editor.fail(str(error))
        else:
            return kit.done("Saved. Public pages show the change now.",
                            url_for("admin.product_edit", product_id=product.id),
                            lambda: _editor(ProductEditor.of(company, product, fresh=True)))
    return _editor(editor, status=422)


@routes.route("/products/<int:product_id>/archive", methods=["GET", "POST"])
@login_required
def product_archive(product_id: int):
    """Archive a product. GET, or a POST without ``confirmed`` (a plain form with JavaScript
    off, where no dialog could ask), shows the confirmation page."""
    product = get_or_404(Product, product_id)
    if not kit.confirmed():
        return render(ARCHIVE, "content", product=product)
    changed = archive_product(product)
    message = (f"“{product.title}” is archived: shoppers no longer see it." if changed
               else f"“{product.title}” was already archived.")
    return kit.done(message, url_for("admin.product_edit", product_id=product.id),
                    lambda: _editor(ProductEditor.of(current_user.company, product, fresh=True)))


def _editor(editor: ProductEditor, status: int = 200):
    """The edit (or new) page, or its editor block for htmx."""
    product = editor.product
    chosen = editor.chosen_upsells() if product else []
    response = render(EDIT, "editor", status=status, product=product, editor=editor, form=editor.form,
                      errors=editor.errors(), labels=editor.labels(), upsell_chosen=chosen,
                      upsell_options=upsell_options(product, chosen) if product else [],
                      company=current_user.company)
    return kit.invalid(response) if status == 422 else response
