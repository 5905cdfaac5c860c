"""The product editor's photos (/admin/products/<id>/images): upload, replace, reorder,
alt text and remove, without JavaScript (303) and over htmx; refused files with a clear
message and nothing stored; a 30 MB upload answers 413; another merchant's photo 404."""
from __future__ import annotations

import io
import re

import pytest
from factories import make_product, make_user, sign_in
from images import SVG, TEXT_AS_JPG, photo, png_declaring

from storefront.accounts.models import Company
from storefront.catalog.models import ProductImage
from storefront.media.models import MediaAsset

HX = {"HX-Request": "true"}


@pytest.fixture()
def admin(app, client, company, tmp_path):
    app.config.update(REDIS_URL="", MEDIA_ROOT=str(tmp_path / "media"))
    make_user(company)
    assert sign_in(client).status_code == 303
    return client


def _csrf(client, url) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def _post_file(client, url, data: bytes, name="photo.jpg", headers=None, token=None, **fields):
    token = token or _csrf(client, url.split("/images")[0] + "/images")
    form = {"csrf_token": token, "file": (io.BytesIO(data), name), **fields}
    return client.post(url, data=form, content_type="multipart/form-data", headers=headers or {})


def _count(db, model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar()


def test_upload_replace_reorder_alt_and_remove_without_javascript(admin, db, company):
    tee = make_product(company, "Classic Tee")  # one catalogue image not fetched yet
    base = f"/admin/products/{tee.id}/images"
    page = admin.get(base).get_data(as_text=True)
    assert "Not fetched yet" in page or "not fetched yet" in page

    response = _post_file(admin, base, photo("products-tshirt.jpg"), "tee front.jpg", alt="Grey tee, front")
    assert response.status_code == 303 and response.headers["Location"].endswith(base)
    page = admin.get(base).get_data(as_text=True)
    assert "Photo uploaded." in page and "801 × 801" in page
    first, second = sorted(tee.images, key=lambda i: i.position)
    db.session.refresh(second)
    assert (second.position, second.alt, second.src) == (2, "Grey tee, front", "upload:tee_front.jpg")

    token = _csrf(admin, base)
    assert admin.post(f"{base}/{second.id}/move", data={"csrf_token": token, "direction": "up"}).status_code == 303
    db.session.expire_all()
    assert [i.id for i in sorted(tee.images, key=lambda i: i.position)] == [second.id, first.id]

    assert admin.post(f"{base}/{second.id}/alt", data={"csrf_token": token, "alt": "Tee on a hanger"}).status_code == 303
    response = _post_file(admin, f"{base}/{second.id}/replace", photo("products-polo.jpg"), "polo.jpg")
    assert response.status_code == 303
    db.session.expire_all()
    image = db.session.get(ProductImage, second.id)
    assert image.alt == "Tee on a hanger" and image.position == 1 and image.asset.width == 801 and image.asset.height == 800

    assert admin.post(f"{base}/{first.id}/delete", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert [i.id for i in db.session.get(type(tee), tee.id).images] == [second.id]
    # The editor shows the strip and links here.
    assert f'href="{base}"' in admin.get(f"/admin/products/{tee.id}").get_data(as_text=True)


def test_over_htmx_the_screen_is_swapped_with_a_toast(admin, company):
    tee = make_product(company, "Tee")
    base = f"/admin/products/{tee.id}/images"
    response = _post_file(admin, base, photo(), headers=HX)
    assert response.status_code == 200 and "HX-Trigger" in response.headers
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="product-images"') and "<html" not in body


@pytest.mark.parametrize("data,name,message", [
    (photo()[:9000], "beanie.jpg", "damaged or incomplete"),
    (png_declaring(100_000, 100_000), "huge.png", "10,000,000,000 pixels"),
    (TEXT_AS_JPG, "notes.jpg", "not a JPEG, PNG, WebP or GIF"),
    (SVG, "logo.svg", "SVG images are not accepted"),
    (b"", "", "Choose a JPEG, PNG, WebP or GIF file"),
], ids=["truncated-jpeg", "100k-png", "text-as-jpg", "svg", "no-file"])
def test_refused_files_say_why_and_store_nothing(admin, db, company, tmp_path, data, name, message):
    tee = make_product(company, "Tee")
    response = _post_file(admin, f"/admin/products/{tee.id}/images", data, name, alt="kept")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body
    assert 'value="kept"' in body  # what was typed is shown again
    assert _count(db, MediaAsset) == 0 and len(tee.images) == 1
    assert not (tmp_path / "media").exists() or not any(p.is_file() for p in (tmp_path / "media").rglob("*"))


def test_a_30_mb_upload_answers_413_with_the_limit(admin, db, company):
    tee = make_product(company, "Tee")
    big = b"\xff\xd8" + b"\0" * (30 * 1024 * 1024)
    response = _post_file(admin, f"/admin/products/{tee.id}/images", big, "huge.jpg")
    body = response.get_data(as_text=True)
    assert response.status_code == 413 and "at most 20 MB" in body and "Nothing was uploaded" in body
    assert _count(db, MediaAsset) == 0


def test_another_merchants_product_or_photo_answers_404(admin, db, company):
    other = Company(name="Other", slug="other", currency="USD", support_email="o@other.test")
    db.session.add(other)
    db.session.commit()
    theirs = make_product(other, "Their Tee")
    mine = make_product(company, "My Tee")
    token = _csrf(admin, f"/admin/products/{mine.id}/images")
    assert admin.get(f"/admin/products/{theirs.id}/images").status_code == 404
    assert admin.post(f"/admin/products/{mine.id}/images/{theirs.images[0].id}/delete",
                      data={"csrf_token": token}).status_code == 404
    assert _post_file(admin, f"/admin/products/{theirs.id}/images", photo(), token=token).status_code == 404
    assert len(db.session.get(type(theirs), theirs.id).images) == 1
