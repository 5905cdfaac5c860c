"""Storing images, the processing job and the media URL, on the real database and disk."""
from __future__ import annotations

import pytest
from images import SVG, TEXT_AS_JPG, photo, png_declaring

from storefront.media.models import FAILED, READY, MediaAsset
from storefront.media.processing import ImageRefused
from storefront.media.services import process_asset, store_image
from storefront.media.storage import LocalStorage, derivative_key, original_key


@pytest.fixture()
def media_root(app, tmp_path):
    app.config["MEDIA_ROOT"] = str(tmp_path / "media")
    return tmp_path / "media"


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_photo_is_stored_once_then_processed_into_derivatives(db, company, media_root):
    data = photo("products-hoodie.jpg")
    asset = store_image(company.id, data)
    db.session.commit()
    assert asset.status == "pending" and not asset.ready
    assert _files(media_root) == [original_key(asset.sha256, "jpg")]
    assert store_image(company.id, data).id == asset.id  # same bytes, same asset

    assert process_asset(asset.id) == READY
    db.session.refresh(asset)
    assert asset.ready and asset.widths == [320, 640, 801]
    assert (asset.width, asset.height) == (801, 801) and asset.color.startswith("#")
    for width in asset.widths:
        for fmt in ("webp", "jpg"):
            assert (media_root / derivative_key(asset.sha256, width, fmt)).is_file()
    assert process_asset(asset.id) == READY  # a retried job changes nothing


@pytest.mark.parametrize("data", [
    photo()[:9000], png_declaring(100_000, 100_000), TEXT_AS_JPG, SVG, b"\xff\xd8" + b"\0" * (30 << 20),
], ids=["truncated-jpeg", "100k-png", "text-as-jpg", "svg", "30mb"])
def test_bad_files_leave_nothing_stored(db, company, media_root, data):
    with pytest.raises(ImageRefused):
        store_image(company.id, data)
    db.session.commit()
    assert _files(media_root) == []
    assert db.session.execute(db.select(db.func.count()).select_from(MediaAsset)).scalar() == 0


def test_an_original_that_cannot_be_processed_is_marked_failed_with_the_reason(db, company, media_root):
    asset = store_image(company.id, photo())
    db.session.commit()
    LocalStorage(media_root).put(original_key(asset.sha256, "jpg"), photo()[:9000])  # damaged on disk
    assert process_asset(asset.id) == FAILED
    db.session.refresh(asset)
    assert asset.status == FAILED and "damaged or incomplete" in asset.error


def test_derivatives_are_served_for_a_year_and_originals_never(db, company, media_root, client):
    asset = store_image(company.id, photo())
    db.session.commit()
    process_asset(asset.id)
    response = client.get(asset.url(320, "webp"))
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(asset.url(640, "jpg")).mimetype == "image/jpeg"
    assert client.get("/media/" + original_key(asset.sha256, "jpg")).status_code == 404
    assert client.get("/media/img/../originals/x.jpg").status_code == 404
    assert client.get("/media/" + derivative_key("0" * 64, 320, "webp")).status_code == 404


def test_storage_refuses_keys_that_are_not_ours(tmp_path):
    storage = LocalStorage(tmp_path)
    for key in ("../etc/passwd", "img/ab/../../x.webp", "img/zz/" + "a" * 64 + ".webp"):
        with pytest.raises(ValueError):
            storage.put(key, b"x")
