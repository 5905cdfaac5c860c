"""The catalogue's remote images: kept with their alt text by the importer, fetched once by
a job into media storage, failures recorded with the reason; uploads attached to products."""
from __future__ import annotations

from pathlib import Path

import pytest
from factories import CATALOG_DIR
from image_server import ImageServer
from images import SVG, photo

from storefront.catalog.images import (
    attach_upload,
    enqueue_image_fetches,
    fetch_image,
    image_state,
    pending_fetch_ids,
)
from storefront.catalog.models import Product, ProductImage
from storefront.catalog.services import import_catalog
from storefront.media.models import MediaAsset
from storefront.media.processing import ImageRefused

STAGING = "https://woocommercecore.mystagingwebsite.com"


@pytest.fixture(scope="module")
def server():
    srv = ImageServer()
    yield srv
    srv.close()


@pytest.fixture()
def local_jobs(app, tmp_path):
    """Jobs run in-process (no Redis), images fetched from 127.0.0.1, media in tmp_path."""
    app.config.update(REDIS_URL="", MEDIA_FETCH_ALLOW_LOOPBACK=True, MEDIA_ROOT=str(tmp_path / "media"))


def _csv_served_by(server, tmp_path) -> Path:
    """The real WooCommerce sample export with its image host swapped for the test server."""
    text = (CATALOG_DIR / "woocommerce" / "sample_products.csv").read_text(encoding="utf-8")
    path = tmp_path / "sample_products.csv"
    path.write_text(text.replace(STAGING, server.base), encoding="utf-8")
    return path


def _images(db, company):
    return db.session.execute(
        db.select(ProductImage).join(Product).where(Product.company_id == company.id).order_by(ProductImage.id)
    ).scalars().all()


def test_imported_images_are_fetched_once_and_processed(db, company, server, tmp_path, local_jobs):
    csv = _csv_served_by(server, tmp_path)
    import_catalog(csv, company)
    images = _images(db, company)
    assert images and all(i.src.startswith(server.base + "/wp-content/") for i in images)
    hoodie = next(i for i in images if "hoodie-2" in i.src)
    assert hoodie.alt == db.session.get(Product, hoodie.product_id).title  # Woo's alt is the title
    assert [image_state(i)[0] for i in images] == ["waiting"] * len(images)

    server.requests.clear()
    assert enqueue_image_fetches(company.id, in_process=True) == len(images)
    assert sorted(server.requests) == sorted(i.src[len(server.base):] for i in images)
    db.session.expire_all()
    images = _images(db, company)
    assert all(image_state(i)[0] == "ready" for i in images)
    assert len({i.asset_id for i in images}) == 1  # one file, stored once
    asset = db.session.get(MediaAsset, images[0].asset_id)
    assert asset.widths == [320, 640, 801] and asset.color.startswith("#")

    # Fetched once: the job again, and a re-import of the same file, ask nothing more.
    server.requests.clear()
    assert fetch_image(images[0].id) == "skipped"
    import_catalog(csv, company)
    assert pending_fetch_ids(company.id) == [] and server.requests == []


def test_without_redis_an_import_queues_nothing_on_the_request(db, company, server, tmp_path, local_jobs):
    import_catalog(_csv_served_by(server, tmp_path), company)
    server.requests.clear()
    assert enqueue_image_fetches(company.id) == 0 and server.requests == []


@pytest.mark.parametrize("path,reason", [
    ("/to/http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F", "169.254.169.254"),
    ("/hop/10", "more than 5 redirects"),
    ("/text.jpg", "not a JPEG, PNG, WebP or GIF"),
    ("/missing", "HTTP 404"),
])
def test_a_failed_fetch_is_recorded_with_its_reason_and_stores_nothing(db, company, server, local_jobs, tmp_path, path, reason):
    product = Product(company_id=company.id, handle="cap", title="Cap")
    product.images.append(ProductImage(src=server.url(path), alt="", position=1))
    db.session.add(product)
    db.session.commit()
    image_id = product.images[0].id
    assert fetch_image(image_id) == "failed"
    image = db.session.get(ProductImage, image_id)
    assert reason in image.fetch_error and image.asset_id is None
    assert image_state(image) == ("failed", image.fetch_error)
    assert db.session.execute(db.select(db.func.count()).select_from(MediaAsset)).scalar() == 0
    assert not (tmp_path / "media").exists() or not any(p.is_file() for p in (tmp_path / "media").rglob("*"))
    assert fetch_image(image_id) == "skipped"  # recorded, not retried by every run


def test_loopback_is_refused_without_the_test_setting(db, company, server, local_jobs, app):
    app.config["MEDIA_FETCH_ALLOW_LOOPBACK"] = False
    product = Product(company_id=company.id, handle="belt", title="Belt")
    product.images.append(ProductImage(src=server.url("/photo.jpg"), alt="", position=1))
    db.session.add(product)
    db.session.commit()
    assert fetch_image(product.images[0].id) == "failed"
    assert "127.0.0.1" in db.session.get(ProductImage, product.images[0].id).fetch_error


def test_an_upload_is_attached_and_a_refused_one_changes_nothing(db, company, local_jobs):
    product = Product(company_id=company.id, handle="beanie", title="Beanie")
    db.session.add(product)
    db.session.commit()
    image = attach_upload(product, photo(), "beanie.jpg", alt="A red beanie")
    assert (image.position, image.alt, image.src) == (1, "A red beanie", "upload:beanie.jpg")
    assert image_state(image)[0] == "ready"
    with pytest.raises(ImageRefused):
        attach_upload(product, SVG, "x.svg", replace=image)
    db.session.rollback()
    db.session.refresh(image)
    assert image.src == "upload:beanie.jpg" and len(product.images) == 1
    second = attach_upload(product, photo("products-cap.jpg"), "cap.jpg", replace=image)
    assert second.id == image.id and second.alt == "A red beanie" and second.asset.sha256 != ""


def test_the_commands_import_then_fetch_the_images(app, db, company, server, tmp_path, local_jobs):
    runner = app.test_cli_runner()
    imported = runner.invoke(args=["catalog", "import", str(_csv_served_by(server, tmp_path)), "--company", "acme"])
    assert imported.exit_code == 0 and "flask catalog fetch-images" in imported.output
    count = len(pending_fetch_ids(company.id))
    fetched = runner.invoke(args=["catalog", "fetch-images", "--company", "acme"])
    assert fetched.exit_code == 0 and f"{count} images fetched, 0 failed" in fetched.output
    assert pending_fetch_ids(company.id) == []
