"""Storing an image and making its derivatives (the RQ job ``process_asset``)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.media.models import FAILED, PENDING, READY, MediaAsset
from storefront.media.processing import DERIVED, ImageRefused, check, derive
from storefront.media.storage import derivative_key, get_storage, original_key
from storefront.queue import enqueue
from storefront.types import utcnow

log = logging.getLogger(__name__)


def store_image(company_id: int, data: bytes) -> MediaAsset:
    """Check ``data`` (``processing.check``), keep the original and return the company's
    MediaAsset for it: the existing one when the same bytes were stored before, else a new
    pending one (flushed, not committed; the caller commits, then ``schedule_processing``).

    Raises ImageRefused before anything is stored.
    """
    checked = check(data)
    existing = _find(company_id, checked.sha256)
    if existing is not None:
        return existing
    get_storage().put(original_key(checked.sha256, checked.ext), data)
    asset = MediaAsset(company_id=company_id, sha256=checked.sha256, ext=checked.ext,
                       byte_size=checked.byte_size, width=checked.width, height=checked.height,
                       widths=[], status=PENDING)
    try:
        with db.session.begin_nested():  # the same file stored by a concurrent request
            db.session.add(asset)
    except IntegrityError:
        return _find(company_id, checked.sha256)
    return asset


def _find(company_id: int, sha256: str) -> MediaAsset | None:
    return db.session.execute(
        db.select(MediaAsset).filter_by(company_id=company_id, sha256=sha256)
    ).scalar_one_or_none()


def schedule_processing(asset_id: int) -> None:
    """Enqueue ``process_asset`` (in-process when Redis is away)."""
    enqueue(process_asset, asset_id)


def process_asset(asset_id: int, now: datetime | None = None) -> str:
    """RQ job: write the derivatives of MediaAsset ``asset_id`` and mark it ready, or
    failed with the reason. Idempotent: a ready asset is left alone, and rewriting a
    derivative writes the same bytes under the same key. Returns the final status
    ("missing" when the row is gone). Commits."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None:
        return "missing"
    if asset.status == READY:
        return READY
    storage = get_storage()
    try:
        derived = derive(storage.read(original_key(asset.sha256, asset.ext)))
    except (ImageRefused, OSError) as exc:
        asset.status, asset.error = FAILED, str(exc)[:500]
        db.session.commit()
        log.warning("media asset %s failed: %s", asset_id, exc)
        return FAILED
    for (width, fmt), blob in derived.files.items():
        storage.put(derivative_key(asset.sha256, width, fmt), blob)
    asset.width, asset.height, asset.color = derived.width, derived.height, derived.color
    asset.widths = derived.widths
    asset.status, asset.error, asset.processed_at = READY, None, now or utcnow()
    db.session.commit()
    return READY


def snapshot(asset: MediaAsset, alt: str = "") -> dict:
    """What a page needs to show ``asset`` without loading it: {sha256, ext, width, height,
    color, widths, status, alt}; ``media_asset(snapshot)`` in templates turns it back."""
    return {"sha256": asset.sha256, "ext": asset.ext, "width": asset.width, "height": asset.height,
            "color": asset.color, "widths": list(asset.widths), "status": asset.status, "alt": alt}


__all__ = ["DERIVED", "ImageRefused", "process_asset", "schedule_processing", "snapshot", "store_image"]
