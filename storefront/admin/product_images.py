"""Admin screen: a product's photos. Upload, replace, reorder, alt text and remove, each a
plain form (303 back to the screen) that htmx swaps in place. The first photo is the one
pages show. Uploads are checked before anything is stored (``media.processing.check``);
the sizes are made by a job, and the screen shows each photo's state and any failure.

A request over UPLOAD_LIMIT answers 413 with the screen and the limit before the body is
read; another merchant's product or image answers 404.
"""
from __future__ import annotations

from flask import Response, abort, request, url_for
from flask_login import current_user, login_required
from werkzeug.utils import secure_filename

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.catalog.image_forms import ImageAlt, ImageMove, ImageUpload
from storefront.catalog.images import attach_upload, image_state, move_image, remove_image, set_alt
from storefront.catalog.models import Product, ProductImage
from storefront.htmx import render
from storefront.media.processing import MAX_BYTES, ImageRefused
from storefront.routing import Routes

routes = Routes()

PAGE = "admin/products/images.html"
# The multipart body around the file (boundary, CSRF token, alt text) fits in this margin;
# a file over MAX_BYTES that still fits gets the checker's own message.
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024
_UPLOADS = ("admin.product_image_add", "admin.product_image_replace")
TOO_LARGE = (f"The file is too large: photos can be at most {MAX_BYTES // 1048576} MB. Nothing was "
             "uploaded. Export a smaller JPEG (2000 pixels wide is plenty) and try again.")


@routes.url_value_preprocessor
def _limit_upload(endpoint: str | None, values: dict | None) -> None:
    # Before CSRFProtect reads the body: a declared length over the limit is answered at
    # once, and a body without one is cut at the limit by Werkzeug (413).
    if endpoint not in _UPLOADS:
        return
    request.max_content_length = UPLOAD_LIMIT
    if (request.content_length or 0) > UPLOAD_LIMIT:
        abort(_too_large_response((values or {}).get("product_id")))


def _too_large_response(product_id) -> Response:
    if current_user.is_authenticated and product_id is not None:
        product = get_or_404(Product, product_id)
        return _page(product, status=413, upload=ImageUpload.of(product_company(), fresh=True),
                     problem=TOO_LARGE)
    return Response(TOO_LARGE, 413, mimetype="text/plain")


def product_company():
    return current_user.company


def _image(product: Product, image_id: int) -> ProductImage:
    image = next((i for i in product.images if i.id == image_id), None)
    if image is None:
        abort(404)
    return image


def _page(product: Product, status: int = 200, upload: ImageUpload | None = None, problem: str | None = None,
          focus: int | None = None, alt_forms: dict | None = None) -> Response:
    company = product_company()
    images = sorted(product.images, key=lambda i: (i.position, i.id))
    rows = [(image, image_state(image), (alt_forms or {}).get(image.id) or ImageAlt.of(company, {"alt": image.alt}, fresh=True))
            for image in images]
    return render(PAGE, "images", status=status, product=product, rows=rows,
                  upload=upload or ImageUpload.of(company, fresh=True), problem=problem, focus=focus)


def _back(product: Product, message: str) -> Response:
    return kit.done(message, url_for("admin.product_images", product_id=product.id),
                    lambda: _page(product))


@routes.get("/products/<int:product_id>/images")
@login_required
def product_images(product_id: int):
    """The product's photos with their state, alt text and order."""
    return _page(get_or_404(Product, product_id))


@routes.post("/products/<int:product_id>/images")
@login_required
def product_image_add(product_id: int):
    """Upload a photo; it goes last (move it up to show it first)."""
    product = get_or_404(Product, product_id)
    return _upload(product, None)


@routes.post("/products/<int:product_id>/images/<int:image_id>/replace")
@login_required
def product_image_replace(product_id: int, image_id: int):
    """Replace a photo's file, keeping its place (and its alt text unless a new one is given)."""
    product = get_or_404(Product, product_id)
    return _upload(product, _image(product, image_id))


def _upload(product: Product, replace: ProductImage | None) -> Response:
    form = ImageUpload.of(product_company())
    if form.validate():
        upload = form.file.data
        try:
            attach_upload(product, upload.read(MAX_BYTES + 1), secure_filename(upload.filename) or "photo",
                          alt=form.alt.data or "", replace=replace)
        except ImageRefused as exc:
            form.fail("file", f"{exc} Nothing was uploaded.")
    if form.errors:
        return kit.invalid(_page(product, status=422, upload=form, problem=None), "The photo was not uploaded.")
    return _back(product, "Photo replaced." if replace else "Photo uploaded.")


@routes.post("/products/<int:product_id>/images/<int:image_id>/alt")
@login_required
def product_image_alt(product_id: int, image_id: int):
    """Save a photo's alt text."""
    product = get_or_404(Product, product_id)
    image = _image(product, image_id)
    form = ImageAlt.of(product_company())
    if not form.validate():
        return kit.invalid(_page(product, status=422, alt_forms={image.id: form}))
    set_alt(image, form.alt.data or "")
    return _back(product, "Alt text saved.")


@routes.post("/products/<int:product_id>/images/<int:image_id>/move")
@login_required
def product_image_move(product_id: int, image_id: int):
    """Move a photo one place earlier or later."""
    product = get_or_404(Product, product_id)
    image = _image(product, image_id)
    form = ImageMove.of(product_company())
    if not form.validate():
        return kit.invalid(_page(product, status=422), "Choose earlier or later.")
    moved = move_image(product, image, form.direction.data)
    return _back(product, "Order saved." if moved else "That photo is already at that end.")


@routes.post("/products/<int:product_id>/images/<int:image_id>/delete")
@login_required
def product_image_delete(product_id: int, image_id: int):
    """Take a photo off the product."""
    product = get_or_404(Product, product_id)
    remove_image(product, _image(product, image_id))
    return _back(product, "Photo removed.")

