"""Product images: the catalogue's remote images fetched once into media storage, and
uploads attached to products. Pages show only stored copies (``ProductImage.asset``).

Jobs take ids and are idempotent: ``fetch_image`` claims its row with a conditional UPDATE
(``fetched_at IS NULL``), so two workers never fetch the same image, and a failed fetch is
recorded, with its reason, rather than retried on every import.
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from storefront.catalog.models import Product, ProductImage, Variant
from storefront.extensions import db
from storefront.media.fetch import FetchRefused, fetch
from storefront.media.models import MediaAsset
from storefront.media.processing import ImageRefused
from storefront.media.services import process_asset, schedule_processing, store_image
from storefront.queue import enqueue, redis_connection
from storefront.types import utcnow

log = logging.getLogger(__name__)
UPLOAD_PREFIX = "upload:"


def pending_fetch_ids(company_id: int) -> list[int]:
    """Ids of the company's product images with a source URL never fetched, by id."""
    return list(db.session.execute(
        db.select(ProductImage.id).join(Product, Product.id == ProductImage.product_id)
        .where(Product.company_id == company_id, ProductImage.asset_id.is_(None),
               ProductImage.fetched_at.is_(None), ProductImage.src.not_like(UPLOAD_PREFIX + "%"))
        .order_by(ProductImage.id)
    ).scalars())


def enqueue_image_fetches(company_id: int, in_process: bool = False) -> int:
    """Enqueue ``fetch_image`` for each image of the company not fetched yet (after a
    catalogue import) and return how many. The request that imported never waits for
    them: without Redis nothing is enqueued (0) unless ``in_process`` (the
    ``flask catalog fetch-images`` command), since jobs would then run in the request."""
    if not in_process and redis_connection() is None:
        return 0
    ids = pending_fetch_ids(company_id)
    for image_id in ids:
        if in_process:
            fetch_image(image_id)
        else:
            enqueue(fetch_image, image_id)
    return len(ids)


def fetch_image(image_id: int, now: datetime | None = None) -> str:
    """RQ job: fetch ProductImage ``image_id``'s ``src`` once, store it and schedule its
    derivatives. Returns "stored", "failed" (reason in ``fetch_error``, nothing stored) or
    "skipped" (gone, already fetched or being fetched). Commits.

    Fetching follows ``media.fetch.fetch`` (http(s) only, public addresses only at every
    hop, timeouts, 20 MB cap); MEDIA_FETCH_ALLOW_LOOPBACK lets tests serve from 127.0.0.1.
    """
    now = now or utcnow()
    claimed = db.session.execute(
        db.update(ProductImage).where(ProductImage.id == image_id, ProductImage.fetched_at.is_(None),
                                      ProductImage.asset_id.is_(None))
        .values(fetched_at=now, fetch_error=None)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    image = db.session.get(ProductImage, image_id)
    company_id = db.session.execute(
        db.select(Product.company_id).where(Product.id == image.product_id)).scalar_one()
    try:
        data = fetch(image.src, allow_loopback=current_app.config.get("MEDIA_FETCH_ALLOW_LOOPBACK", False))
        asset = store_image(company_id, data)
    except (FetchRefused, ImageRefused) as exc:
        db.session.rollback()
        image = db.session.get(ProductImage, image_id)
        image.fetch_error = str(exc)[:500]
        db.session.commit()
        log.info("product image %s not fetched: %s", image_id, exc)
        return "failed"
    image.asset_id = asset.id
    db.session.commit()
    if asset.status == "pending":
        schedule_processing(asset.id)
    return "stored"


def attach_upload(product: Product, data: bytes, filename: str, alt: str = "",
                  replace: ProductImage | None = None) -> ProductImage:
    """Store ``data`` and show it on ``product``: in place of ``replace`` (same position and
    alt unless ``alt`` is given), else as its last image. Schedules the derivatives after
    the commit. Raises ImageRefused before anything is stored. Commits."""
    asset = store_image(product.company_id, data)
    source = UPLOAD_PREFIX + (filename or "image")[:200]
    if replace is not None:
        image = replace
        image.src, image.asset_id, image.fetch_error, image.fetched_at = source, asset.id, None, None
        if alt:
            image.alt = alt
    else:
        position = max((i.position for i in product.images), default=0) + 1
        image = ProductImage(src=source, alt=alt, position=position, asset_id=asset.id)
        product.images.append(image)
    db.session.commit()
    if asset.status == "pending":
        schedule_processing(asset.id)
    return image


def attach_local_copy(image: ProductImage, data: bytes, company_id: int, process_now: bool = False) -> MediaAsset:
    """Use ``data`` as the stored copy of ``image``'s source (a photo we already hold, such as
    the demo's copies of the sample catalogue's photos), without fetching it. ``src`` stays,
    so a re-import of the same file keeps the copy. ``process_now`` makes the derivatives
    here rather than in a job. Raises ImageRefused before anything is stored. Commits."""
    asset = store_image(company_id, data)
    image.asset_id, image.fetched_at, image.fetch_error = asset.id, utcnow(), None
    db.session.commit()
    if asset.status == "pending":
        process_asset(asset.id) if process_now else schedule_processing(asset.id)
    return asset


def set_alt(image: ProductImage, alt: str) -> None:
    """Set ``image``'s alt text (at most 500 characters, checked by the form). Commits."""
    image.alt = alt
    db.session.commit()


def move_image(product: Product, image: ProductImage, direction: str) -> bool:
    """Swap ``image`` with its neighbour (``direction`` "up": earlier, "down": later) and
    renumber the positions 1..n. False when it is already first or last. Commits."""
    images = sorted(product.images, key=lambda i: (i.position, i.id))
    index = images.index(image)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(images):
        return False
    images[index], images[other] = images[other], images[index]
    for position, item in enumerate(images, start=1):
        item.position = position
    db.session.commit()
    return True


def remove_image(product: Product, image: ProductImage) -> None:
    """Take ``image`` off ``product`` (its stored file stays: other rows may share it, and
    content-hashed files are never rewritten). Commits."""
    product.images.remove(image)
    for position, item in enumerate(sorted(product.images, key=lambda i: (i.position, i.id)), start=1):
        item.position = position
    db.session.commit()


def first_images(variant_ids) -> dict[int, MediaAsset]:
    """{variant id: the stored copy of its product's first image} for the given variants,
    in one statement; variants whose first image has no ready sizes are left out (emails
    and order pages then show no picture)."""
    ids = sorted({int(i) for i in variant_ids if i})
    if not ids:
        return {}
    first = (db.select(ProductImage.asset_id).where(ProductImage.product_id == Product.id)
             .order_by(ProductImage.position, ProductImage.id).limit(1).correlate(Product).scalar_subquery())
    rows = db.session.execute(
        db.select(Variant.id, MediaAsset).join(Product, Product.id == Variant.product_id)
        .join(MediaAsset, MediaAsset.id == first).where(Variant.id.in_(ids))
    ).all()
    return {variant_id: asset for variant_id, asset in rows if asset.ready}


def image_state(image: ProductImage) -> tuple[str, str]:
    """(state, human detail) for the admin: ready, processing, waiting, failed."""
    asset: MediaAsset | None = image.asset
    if asset is not None:
        if asset.status == "failed":
            return "failed", asset.error or "could not be processed"
        return ("ready", f"{asset.width} × {asset.height}") if asset.ready else ("processing", "sizes being made")
    if image.fetch_error:
        return "failed", image.fetch_error
    if image.fetched_at:
        return "processing", "being fetched"
    return "waiting", "not fetched yet"
