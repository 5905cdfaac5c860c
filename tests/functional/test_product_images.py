"""Product images on pages: one macro (srcset, sizes, width/height, lazy or eager hero, alt
or title, placeholder), pages never link the catalogue's remote URL, and images add no
statement per product to the landing page."""
from __future__ import annotations

import re

import pytest
from factories import make_page, make_product
from images import photo
from test_query_counts import count

from storefront.catalog.images import attach_upload
from storefront.media.services import snapshot


@pytest.fixture()
def local(app, tmp_path):
    app.config.update(REDIS_URL="", MEDIA_ROOT=str(tmp_path / "media"))


def _imgs(html: str) -> list[str]:
    return re.findall(r"<img [^>]*>", html)


def test_a_ready_image_gets_srcset_sizes_dimensions_and_alt(db, company, client, local):
    tee = make_product(company, "Classic Tee")  # its catalogue image is https://example.invalid/tee.jpg
    tee.images[0].alt = ""
    db.session.commit()
    attach_upload(tee, photo("products-tshirt.jpg"), "tee.jpg", replace=tee.images[0])
    make_page(company, [tee])
    html = client.get("/lp/summer-sale").get_data(as_text=True)
    assert "example.invalid" not in html
    asset = tee.images[0].asset
    main = next(i for i in _imgs(html) if "srcset" in i)
    assert f'srcset="{asset.srcset("jpg")}"' in main and 'width="801" height="801"' in main
    assert 'alt="Classic Tee"' in main  # no alt text: the product title
    assert 'loading="lazy"' in main and "fetchpriority" not in main
    assert re.search(r'<source type="image/webp" srcset="/media/img/[^"]+-320w\.webp 320w, [^"]+-640w\.webp 640w, [^"]+-801w\.webp 801w" sizes="[^"]+">', html)
    assert 'sizes="(min-width: 1000px) 285px' in main
    # Every URL on the page is ours: the derivatives and the colour placeholder.
    for tag in _imgs(html):
        for url in re.findall(r'(?:src|srcset)="([^"]+)"', tag):
            assert url.startswith(("/media/img/", "data:image/gif;base64,")), tag
    assert client.get(asset.url(320, "webp")).status_code == 200


def test_an_image_not_yet_fetched_or_processed_shows_the_placeholder(db, company, client, local):
    cap = make_product(company, "Cap")
    make_page(company, [cap])
    html = client.get("/lp/summer-sale").get_data(as_text=True)
    assert "example.invalid" not in html and "<img" not in html.split('class="product-grid')[1].split("</section>")[0]
    assert '<span class="image-placeholder" role="img" aria-label="Cap"></span>' in html


def test_the_hero_image_is_eager_with_high_priority(db, company, client, local):
    from storefront.landing.models import Section

    tee = make_product(company, "Tee")
    page = make_page(company, [tee])
    image = attach_upload(tee, photo("hero.jpg"), "hero.jpg", alt="Models in the new season's hoodies")
    hero = db.session.execute(db.select(Section).filter_by(landing_page_id=page.id, type="hero")).scalar_one()
    hero.settings = {**hero.settings, "image": snapshot(image.asset, image.alt)}
    db.session.commit()
    html = client.get("/lp/summer-sale").get_data(as_text=True)
    tag = next(i for i in _imgs(html) if "fetchpriority" in i)
    assert 'loading="eager" fetchpriority="high"' in tag and 'alt="Models in the new season' in tag
    assert 'width="3795" height="2355"' in tag and "-1600w.jpg 1600w" in tag
    assert [i for i in _imgs(html) if "fetchpriority" in i] == [tag]  # only the hero


def test_images_add_no_statement_per_product(app, db, company, local):
    def page_of(n, slug):
        products = [make_product(company, f"{slug} {i}") for i in range(n)]
        for product in products:
            attach_upload(product, photo("products-cap.jpg"), "cap.jpg", replace=product.images[0])
        make_page(company, products, slug=slug)

    page_of(2, "two")
    page_of(12, "twelve")
    small, few = count(app, db, lambda: app.test_client().get("/lp/two"))
    large, many = count(app, db, lambda: app.test_client().get("/lp/twelve"))
    assert small.status_code == large.status_code == 200
    assert large.get_data(as_text=True).count("-320w.webp 320w") == 12
    # The pictures come with the products' image rows, in one JOIN, for 2 or 12 products.
    for statements in (few, many):
        assert len([s for s in statements if "media_assets" in s or "product_images" in s]) == 1
        assert all("media_assets" not in s for s in statements if "product_images" not in s)


def test_the_drawer_shows_the_stored_photo_and_a_placeholder_otherwise(db, company, client, local):
    from factories import csrf_token

    tee = make_product(company, "Classic Tee")
    cap = make_product(company, "Cap")  # its catalogue image is not fetched: placeholder
    attach_upload(tee, photo("products-tshirt.jpg"), "tee.jpg", replace=tee.images[0])
    make_page(company, [tee, cap])
    client.get("/lp/summer-sale")
    headers = {"X-CSRFToken": csrf_token(client, "/lp/summer-sale"), "HX-Request": "true"}
    client.post("/cart/add", data={"variant_id": cap.variants[0].id, "quantity": "1"}, headers=headers)
    response = client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": "1"}, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "example.invalid" not in html
    lines = re.findall(r'<li class="cart-line">.*?</li>', html, re.S)
    assert len(lines) == 2 and "image-placeholder" in lines[0]
    assert tee.images[0].asset.srcset("webp") in lines[1] and 'sizes="72px"' in lines[1] and 'alt=""' in lines[1]


def test_upsell_saved_items_and_wishlist_never_link_the_remote_url(db, company, client, local):
    from factories import csrf_token

    tee = make_product(company, "Classic Tee")
    belt = make_product(company, "Belt")  # offered in the drawer with its stored photo
    attach_upload(belt, photo("products-belt.jpg"), "belt.jpg", replace=belt.images[0])
    tee.upsell_product_ids = [belt.id]
    db.session.commit()
    make_page(company, [tee, belt])
    client.get("/lp/summer-sale")
    headers = {"X-CSRFToken": csrf_token(client, "/lp/summer-sale"), "HX-Request": "true"}
    html = client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": "1"},
                       headers=headers).get_data(as_text=True)
    assert "example.invalid" not in html
    assert belt.images[0].asset.srcset("webp") in html  # the upsell offer's picture
    client.post("/wishlist/add", data={"variant_id": belt.variants[0].id}, headers=headers)
    page = client.get("/wishlist").get_data(as_text=True)
    assert "example.invalid" not in page and belt.images[0].asset.srcset("webp") in page


def test_the_order_email_shows_each_photo_as_an_absolute_jpeg(app, db, company, smtp, local):
    import email

    from storefront.cart.models import Cart
    from storefront.checkout.models import Order, OrderLine
    from storefront.checkout.tasks import send_order_confirmation
    from storefront.types import new_token

    tee = make_product(company, "Classic Tee")
    cap = make_product(company, "Cap")  # not fetched: no picture, the line still shows
    attach_upload(tee, photo("products-tshirt.jpg"), "tee.jpg", replace=tee.images[0])
    cart = Cart(token=new_token(), company_id=company.id, currency="USD", status="CONVERTED")
    db.session.add(cart)
    db.session.flush()
    order = Order(company_id=company.id, number="1001", token=new_token(), cart_id=cart.id, currency="USD",
                  email="shopper@example.test", subtotal_cents=3500, total_cents=3500, amount_paid_cents=3500)
    for product in (tee, cap):
        order.lines.append(OrderLine(variant_id=product.variants[0].id, product_title=product.title,
                                     unit_price_cents=2000, quantity=1, line_total_cents=2000))
    db.session.add(order)
    db.session.commit()
    assert send_order_confirmation(order.id)
    [message] = smtp
    parsed = email.message_from_bytes(message.content)
    html = next(part for part in parsed.walk() if part.get_content_type() == "text/html").get_payload(decode=True).decode()
    [tag] = re.findall(r"<img [^>]*>", html)
    asset = tee.images[0].asset
    assert f'src="{app.config["PUBLIC_URL"]}{asset.url(320, "jpg")}"' in tag  # 56 px at 2x: the 320 JPEG
    assert 'width="56" height="56"' in tag and 'alt="Classic Tee"' in tag
    assert "example.invalid" not in html and "Cap" in html


def test_checkout_lines_show_the_stored_photo(db, company, client, local):
    from factories import csrf_token

    tee = make_product(company, "Classic Tee")
    attach_upload(tee, photo("products-tshirt.jpg"), "tee.jpg", replace=tee.images[0])
    make_page(company, [tee])
    client.get("/lp/summer-sale")
    headers = {"X-CSRFToken": csrf_token(client, "/lp/summer-sale")}
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": "1"}, headers=headers)
    html = client.get("/checkout").get_data(as_text=True)
    summary = html.split('class="summary-lines"')[1].split("</ul>")[0]
    assert tee.images[0].asset.srcset("webp") in summary and 'sizes="48px"' in summary
    assert "example.invalid" not in html


def test_editing_the_hero_text_keeps_its_photo(db, company, local):
    from storefront.landing.builder import save_section
    from storefront.landing.models import Section

    tee = make_product(company, "Tee")
    page = make_page(company, [tee])
    image = attach_upload(tee, photo("hero.jpg"), "hero.jpg")
    hero = db.session.execute(db.select(Section).filter_by(landing_page_id=page.id, type="hero")).scalar_one()
    hero.settings = {**hero.settings, "image": snapshot(image.asset, "Drawings of clothes")}
    db.session.commit()
    save_section(page, hero, {"heading": "Winter Sale", "subheading": "", "cta_label": "Shop"})
    db.session.refresh(hero)
    assert hero.settings["heading"] == "Winter Sale" and hero.settings["image"]["alt"] == "Drawings of clothes"
