"""Admin screen: CSV upload of a WooCommerce or Shopify product export.

Two steps. The upload is stored server-side and dry-run: the merchant sees what would be
created or updated, or the errors by line and column. Then they confirm, and the same file
is imported for real. Between the steps the file lives in
``<instance>/uploads/<company id>/<token>.csv`` (with ``<token>.json`` holding the display
name, format and preview), where the token is ``new_token()``: the client only ever sends
the token, never a path, and a token is looked up in the signed-in merchant's folder only,
so another merchant's token answers 404. Staged files are deleted after the import, or
after UPLOAD_TTL seconds.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import NoReturn

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

import storefront.admin.kit as kit
from storefront.accounts.scoping import current_company_id
from storefront.catalog.admin_import import preview_import, run_import
from storefront.catalog.forms import ImportForm
from storefront.catalog.importers import MAX_FILE_BYTES, CatalogImportError
from storefront.htmx import render
from storefront.routing import Routes
from storefront.types import new_token

routes = Routes()

UPLOAD = "admin/products/import.html"
UPLOAD_TTL = 3600  # seconds a previewed upload waits for its confirmation
# The multipart body around the file (boundaries, CSRF token, format) fits in this margin;
# a file that slips under the request limit but over MAX_FILE_BYTES gets the importer's error.
REQUEST_LIMIT = MAX_FILE_BYTES + 64 * 1024
FORMAT_NAMES = {"": "Detect from the file", "woocommerce": "WooCommerce", "shopify": "Shopify"}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what new_token() makes: 32 bytes, URL-safe base64


@routes.url_value_preprocessor
def _limit_upload(endpoint: str | None, _values: dict | None) -> None:
    # Runs before every before_request function, so before CSRFProtect parses the form:
    # the limit must be set before anything reads the body. Only the upload gets one.
    if endpoint == "admin.product_import":
        request.max_content_length = REQUEST_LIMIT


@routes.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    """413 with a page that says what to do: the upload form again, with the limit."""
    limit = f"{MAX_FILE_BYTES // 1048576} MB"
    if request.endpoint == "admin.product_import" and current_user.is_authenticated:
        error = {"message": f"The file is too large: product CSV files can be at most {limit}. "
                            "Nothing was imported. Split the export into smaller files (for "
                            "example by category) and upload each one."}
        response = render(UPLOAD, "content", status=413, error=error, fmt="", formats=FORMAT_NAMES)
    else:  # another admin form; none takes uploads today
        response = render_template("errors/error.html", status=413, title="Too much data",
                                   message="The request was too large. Nothing was changed."), 413
    return response


@routes.route("/products/import", methods=["GET", "POST"])
@login_required
def product_import():
    """The upload form; POST stores the file, dry-runs it and shows the preview (303 to it)."""
    if request.method == "GET":
        return render(UPLOAD, "content", error=None, fmt="", formats=FORMAT_NAMES)
    fmt = ImportForm.of(current_user.company).format.data
    upload = request.files.get("file")
    name = (upload.filename or "").strip() if upload else ""
    problem = None
    if not name:
        problem = {"message": "Choose a CSV file to upload."}
    elif not name.lower().endswith(".csv"):
        problem = {"message": f"Only .csv files can be imported, and “{name[:120]}” is not one. "
                              "Export the products from WooCommerce or Shopify as CSV."}
    if problem:
        return render(UPLOAD, "content", status=422, error=problem, fmt=fmt, formats=FORMAT_NAMES)

    company_id = current_company_id()
    _sweep()
    token, path = _stage_file(company_id, upload)
    display = secure_filename(name) or "upload.csv"
    try:
        preview = preview_import(path, current_user.company, fmt or None)
    except CatalogImportError as exc:
        _discard(company_id, token)
        return render(UPLOAD, "content", status=422, error=_error(exc, display), fmt=fmt,
                      formats=FORMAT_NAMES)
    _meta_path(company_id, token).write_text(json.dumps(
        {"name": display, "fmt": fmt, "preview": preview}))
    return redirect(url_for("admin.product_import_preview", token=token), code=303)


@routes.get("/products/import/<token>")
@login_required
def product_import_preview(token: str):
    """The dry run's report for a staged upload, with the button that confirms it."""
    _path, meta = _staged(current_company_id(), token)
    return render(UPLOAD, "content", preview=meta["preview"], name=meta["name"], token=token,
                  error=None, fmt=meta["fmt"], formats=FORMAT_NAMES)


@routes.post("/products/import/<token>")
@login_required
def product_import_confirm(token: str):
    """Import the staged upload for real, then delete it. 404 for an unknown, expired or
    another merchant's token; 422 with the error if the import now fails."""
    company_id = current_company_id()
    path, meta = _staged(company_id, token)
    try:
        result = run_import(path, current_user.company, meta["fmt"] or None)
    except CatalogImportError as exc:
        # Kept until it expires: the merchant may fix what clashes and confirm again.
        return render(UPLOAD, "content", status=422, preview=meta["preview"], name=meta["name"],
                      token=token, error=_error(exc, meta["name"]), fmt=meta["fmt"],
                      formats=FORMAT_NAMES)
    _discard(company_id, token)
    counts = result["counts"]
    message = (f"Imported {meta['name']}: {counts['products_created']} products created, "
               f"{counts['products_updated']} updated.")
    return kit.done(message, url_for("admin.products"), lambda: render(
        UPLOAD, "content", result=result, name=meta["name"], error=None, fmt="", formats=FORMAT_NAMES))


def _error(exc: CatalogImportError, name: str) -> dict:
    """The importer's error for the page, naming the uploaded file rather than our copy."""
    return {"name": name, "line": exc.line, "column": exc.column,
            "column_name": exc.column_name, "message": exc.message}


# ---------------------------------------------------------------------------- staging


def _company_dir(company_id: int) -> Path:
    return Path(current_app.instance_path) / "uploads" / str(int(company_id))


def _meta_path(company_id: int, token: str) -> Path:
    return _company_dir(company_id) / f"{token}.json"


def _stage_file(company_id: int, upload) -> tuple[str, Path]:
    """Save the upload under a fresh token; returns (token, path)."""
    folder = _company_dir(company_id)
    folder.mkdir(parents=True, exist_ok=True)
    token = new_token()
    path = folder / f"{token}.csv"
    upload.save(path)
    return token, path


def _staged(company_id: int, token: str) -> tuple[Path, dict]:
    """(csv path, meta) of this merchant's fresh upload ``token``, else 404."""
    if not _TOKEN.fullmatch(token):
        _gone()
    path, meta_path = _company_dir(company_id) / f"{token}.csv", _meta_path(company_id, token)
    try:
        expired = time.time() - meta_path.stat().st_mtime > UPLOAD_TTL
        meta = None if expired else json.loads(meta_path.read_text())
    except (OSError, ValueError):
        _gone()
    if meta is None or not path.is_file():
        _discard(company_id, token)
        _gone()
    return path, meta


def _gone() -> NoReturn:
    """404, saying what the merchant can do about it."""
    abort(make_response(render_template(
        "errors/error.html", status=404, title="Upload not found",
        message="This upload does not exist or has expired (previews are kept for an hour). "
                "Nothing was imported. Please upload the file again.",
    ), 404, {"Cache-Control": "no-store"}))


def _discard(company_id: int, token: str) -> None:
    for suffix in (".csv", ".json"):
        (_company_dir(company_id) / f"{token}{suffix}").unlink(missing_ok=True)


def _sweep() -> None:
    """Delete every merchant's staged files older than UPLOAD_TTL (abandoned previews)."""
    root = Path(current_app.instance_path) / "uploads"
    cutoff = time.time() - UPLOAD_TTL
    for path in root.glob("*/*"):
        try:
            if path.suffix in (".csv", ".json") and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue  # deleted meanwhile by another request
