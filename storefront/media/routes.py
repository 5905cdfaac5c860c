"""The media URL: derivatives served from local storage, cached for a year.

Only derivative keys (``img/...``) are served; originals keep whatever metadata the
merchant's camera wrote (GPS included), so they are never public.
"""
from __future__ import annotations

from flask import abort, send_file

from storefront.media.models import MediaAsset
from storefront.media.storage import KEY_RE, get_storage
from storefront.routing import Routes

routes = Routes()

IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}


@routes.get("/media/<path:key>")
def media_file(key: str):
    """A derivative by its content-hashed key; 404 for anything else."""
    if not key.startswith("img/") or not KEY_RE.match(key):
        abort(404)
    path = get_storage().path(key)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=_TYPES[key.rsplit(".", 1)[1]], conditional=True, etag=True)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


_SNAPSHOT_FIELDS = ("sha256", "ext", "width", "height", "color", "widths", "status")


@routes.app_template_global("media_asset")
def media_asset_from_snapshot(snapshot: dict | None) -> MediaAsset | None:
    """A transient MediaAsset from ``services.snapshot`` (kept in a section's settings, so
    the hero renders without a query); None for anything else."""
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("widths"), list):
        return None
    return MediaAsset(**{k: snapshot.get(k) for k in _SNAPSHOT_FIELDS})
