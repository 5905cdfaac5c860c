"""The catalogue admin at /admin/products: the list (search, filters, sort, pages), editing a
product and its variants, creating and archiving, the CSV upload with its dry-run preview,
tenancy (another merchant's product or upload answers 404) and hostile input.

Through the Flask client, on both paths: plain requests (no JavaScript) and htmx ones.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time

import pytest
from factories import CATALOG_DIR, make_page, make_product, make_user, sign_in
from sqlalchemy import event, func, select

from storefront.accounts.models import Company
from storefront.catalog.models import Category, Product, Variant

HX = {"HX-Request": "true"}
WOO = CATALOG_DIR / "woocommerce" / "sample_products.csv"


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def instance(app, tmp_path, monkeypatch):
    """Uploads go to a temporary instance folder, never the repository's."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path / "instance"


@pytest.fixture()
def rival(db):
    """Another merchant, with a product and a signed-in admin of its own."""
    other = Company(name="Rival Goods", slug="rival", currency="EUR")
    db.session.add(other)
    db.session.commit()
    make_user(other, email="boss@rival.test")
    product = make_product(other, "Rival Mug", price_cents=900, handle="rival-mug")
    return {"company": other, "product_id": product.id}


def csrf(client, path="/admin/products") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def edit_form(client, product_id: int) -> dict:
    """The edit form's fields as a browser would send them (checked boxes only)."""
    html = client.get(f"/admin/products/{product_id}").get_data(as_text=True)
    form = html.split('class="product-form"')[1].split("</form>")[0]
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                data[name] = "1"
            continue
        data[name] = value.group(1) if value else ""
    data["description"] = re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S).group(1)
    data["status"] = re.search(r'<option value="(\w+)" selected', form).group(1)
    return data


def upload(client, path, name=None, fmt=""):
    with open(path, "rb") as fh:
        return client.post("/admin/products/import", data={
            "csrf_token": csrf(client, "/admin/products/import"), "format": fmt,
            "file": (fh, name or path.name)}, content_type="multipart/form-data")


def staged(instance) -> list[str]:
    root = instance / "uploads"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---------------------------------------------------------------------------- the list


@pytest.fixture()
def catalogue(db, company):
    """30 products: 'Tee 00'..'Tee 29', prices 1000 + 100 * i cents, stock varied."""
    clothing = Category(company_id=company.id, name="Clothing", slug="clothing")
    db.session.add(clothing)
    db.session.flush()
    tshirts = Category(company_id=company.id, name="Tshirts", slug="tshirts", parent_id=clothing.id)
    mugs = Category(company_id=company.id, name="Mugs", slug="mugs")
    db.session.add_all([tshirts, mugs])
    db.session.commit()
    products = []
    for i in range(30):
        stock = None if i % 3 == 0 else (0 if i % 3 == 1 else 5 + i)  # untracked / out / tracked
        product = make_product(company, f"Tee {i:02d}", price_cents=1000 + 100 * i, stock=stock,
                               handle=f"tee-{i:02d}")
        products.append(product)
    products[4].status = "draft"
    products[7].status = "archived"
    products[2].categories = [tshirts]
    products[5].categories = [mugs]
    products[5].variants[0].sku = "MUG-XL-77"
    db.session.commit()
    return products


def titles(response) -> list[str]:
    return re.findall(r'/admin/products/\d+">([^<]+)</a>', response.get_data(as_text=True))


def test_list_pages_of_25_with_counts(admin, catalogue):
    first = admin.get("/admin/products?sort=title&dir=asc")
    second = admin.get("/admin/products?sort=title&dir=asc&page=2")
    beyond = admin.get("/admin/products?sort=title&dir=asc&page=99")

    assert first.status_code == 200
    assert titles(first) == [f"Tee {i:02d}" for i in range(25)]
    assert "Showing 1–25 of 30 products" in first.get_data(as_text=True)
    assert titles(second) == [f"Tee {i:02d}" for i in range(25, 30)]
    assert titles(beyond) == titles(second)  # past the end shows the last page
    assert admin.get("/admin/products?page=abc").status_code == 200


def test_search_by_title_handle_and_sku(admin, catalogue):
    assert titles(admin.get("/admin/products?q=tee 1")) == [f"Tee {i}" for i in range(19, 9, -1)]
    assert titles(admin.get("/admin/products?q=TEE-05")) == ["Tee 05"]
    assert titles(admin.get("/admin/products?q=mug-xl")) == ["Tee 05"]
    assert titles(admin.get("/admin/products?q=100%25")) == []  # LIKE wildcards are literal
    assert "No product matches these filters" in admin.get("/admin/products?q=zzz").get_data(as_text=True)


def test_filters_by_status_stock_and_category(admin, catalogue):
    def shown(query):
        return set(titles(admin.get("/admin/products?" + query)))

    assert shown("status=draft") == {"Tee 04"}
    assert shown("status=archived") == {"Tee 07"}
    untracked = {f"Tee {i:02d}" for i in range(0, 30, 3)}
    out = {f"Tee {i:02d}" for i in range(1, 30, 3)}
    low = {f"Tee {i:02d}" for i in range(2, 30, 3) if 5 + i < 20}  # 5 + i units left
    assert shown("stock=untracked") == untracked
    assert shown("stock=out") == out
    assert shown("stock=low") == low == {"Tee 02", "Tee 05", "Tee 08", "Tee 11", "Tee 14"}
    assert len(admin.get("/admin/products?stock=in_stock").get_data(as_text=True).split("<tr>")) - 2 == 20
    clothing = catalogue[2].categories[0].parent_id
    assert shown(f"category={clothing}") == {"Tee 02"}  # a parent finds its children's products
    html = admin.get("/admin/products").get_data(as_text=True)
    assert "Clothing › Tshirts</option>" in html
    assert shown("category=999999") == shown("")  # unknown category: no filter
    assert shown("status=active&stock=low&q=tee 1") == {"Tee 11", "Tee 14"}


def test_sorting_by_price_stock_title_and_updated(admin, catalogue, db):
    assert titles(admin.get("/admin/products?sort=price&dir=desc"))[:2] == ["Tee 29", "Tee 28"]
    assert titles(admin.get("/admin/products?sort=price&dir=asc"))[:2] == ["Tee 00", "Tee 01"]
    by_stock = titles(admin.get("/admin/products?sort=stock&dir=desc&stock=low"))
    assert by_stock == ["Tee 14", "Tee 11", "Tee 08", "Tee 05", "Tee 02"]
    assert titles(admin.get("/admin/products?sort=title&dir=desc"))[0] == "Tee 29"
    catalogue[12].title = "Tee 12 renamed"
    db.session.commit()
    assert titles(admin.get("/admin/products"))[0] == "Tee 12 renamed"  # default: updated, newest


def test_page_and_sort_links_keep_the_filters(admin, catalogue):
    html = admin.get("/admin/products?q=tee&stock=&sort=price&dir=asc").get_data(as_text=True)

    assert 'href="/admin/products?q=tee&amp;sort=price&amp;dir=asc&amp;page=2"' in html
    assert 'hx-get="/admin/products?q=tee&amp;sort=price&amp;dir=asc&amp;page=2"' in html
    assert 'aria-sort="ascending"' in html
    assert 'href="/admin/products?q=tee&amp;sort=price&amp;dir=desc"' in html  # flips the order
    # A real GET form with htmx layered on: active search that pushes the URL.
    assert 'method="get"' in html and 'hx-get="/admin/products"' in html and 'hx-push-url="true"' in html


def test_htmx_gets_only_the_results(admin, catalogue):
    response = admin.get("/admin/products?q=tee 0", headers=HX)
    body = response.get_data(as_text=True)

    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith('<div id="product-results"') and "<html" not in body
    assert len(titles(response)) == 10


def test_list_queries_do_not_grow_with_the_products(app, admin, company, db):
    def statements_for_list() -> int:
        seen = []

        def before(*args):
            seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            with app.app_context():
                assert admin.get("/admin/products").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        return len(seen)

    make_product(company, "Only One", variants=[{"Size": "S"}, {"Size": "M"}])
    few = statements_for_list()
    for i in range(24):
        make_product(company, f"More {i}", variants=[{"Size": "S"}, {"Size": "M"}, {"Size": "L"}])
    assert statements_for_list() == few <= 6


# ---------------------------------------------------------------------------- editing


def test_edit_takes_decimal_prices_and_stores_cents(app, admin, company, db):
    product = make_product(company, "Classic Tee", price_cents=2000, stock=3)
    page = make_page(company, [product])
    app.config["SECTION_CACHE_SECONDS"] = 60  # public pages cache their sections
    assert "$20.00" in admin.get(f"/lp/{page.slug}").get_data(as_text=True)
    form = edit_form(admin, product.id)
    prefix = f"v{product.variants[0].id}-"
    assert form[prefix + "price"] == "20.00" and form[prefix + "track"] == "1"
    form.update({prefix + "price": "19.99", prefix + "compare_at": "1,250.5", prefix + "stock": "7",
                 prefix + "sku": "TEE-CLASSIC", "title": "Classic Tee v2"})

    response = admin.post(f"/admin/products/{product.id}", data=form)

    assert response.status_code == 303 and response.headers["Location"] == f"/admin/products/{product.id}"
    variant = db.session.get(Variant, product.variants[0].id)
    assert (variant.price_cents, variant.compare_at_cents, variant.stock, variant.sku) == (
        1999, 125050, 7, "TEE-CLASSIC")
    assert db.session.get(Product, product.id).title == "Classic Tee v2"
    edited = admin.get(f"/admin/products/{product.id}").get_data(as_text=True)
    assert "Saved." in edited and 'value="1250.50"' in edited
    public = admin.get(f"/lp/{page.slug}").get_data(as_text=True)
    assert "$19.99" in public and "Classic Tee v2" in public  # the section cache was cleared


def test_edit_with_htmx_answers_the_editor_block_and_a_toast(admin, company, db):
    product = make_product(company, "Cap", price_cents=1500)
    form = edit_form(admin, product.id)
    form[f"v{product.variants[0].id}-price"] = "12"

    response = admin.post(f"/admin/products/{product.id}", data=form, headers=HX)

    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="product-editor"')
    assert '"toast"' in response.headers["HX-Trigger"]
    assert db.session.get(Variant, product.variants[0].id).price_cents == 1200


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("price", "19,99", "use a dot for decimals"),
    ("price", "", "Enter a price"),
    ("price", "-5", "Not a price"),
    ("price", "1.999", "Too many decimals for USD"),
    ("price", "99999999999", "Price too large"),
    ("compare_at", "abc", "Not a price"),
    ("stock", "-1", "whole number of units from 0 to 1,000,000"),
    ("stock", "1000001", "whole number of units from 0 to 1,000,000"),
    ("stock", "2.5", "whole number of units"),
    ("sku", "x" * 121, "at most 120"),
])
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_variant_input_is_422_and_keeps_what_was_typed(admin, company, db, field, typed, message, htmx):
    product = make_product(company, "Mug", price_cents=900, stock=4)
    form = edit_form(admin, product.id)
    name = f"v{product.variants[0].id}-{field}"
    form[name] = typed
    form["title"] = "Mug with a new title"

    response = admin.post(f"/admin/products/{product.id}", data=form, headers=HX if htmx else {})

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body
    assert f'value="{typed}"' in body and 'value="Mug with a new title"' in body
    assert f'id="{name}" name="{name}"' in body and 'aria-invalid="true"' in body
    assert ("<html" in body) is not htmx
    unchanged = db.session.get(Product, product.id)
    assert unchanged.title == "Mug" and unchanged.variants[0].price_cents == 900


def test_duplicate_sku_is_a_clear_422(admin, company, db):
    make_product(company, "Beanie", handle="beanie")  # its SKU is "beanie-1"
    product = make_product(company, "Scarf", variants=[{"Color": "Red"}, {"Color": "Blue"}])
    form = edit_form(admin, product.id)
    red, blue = (f"v{v.id}-sku" for v in product.variants)

    taken = admin.post(f"/admin/products/{product.id}", data={**form, red: "beanie-1"})
    twice = admin.post(f"/admin/products/{product.id}", data={**form, red: "SC-1", blue: "SC-1"})

    assert taken.status_code == 422
    assert "SKU &#39;beanie-1&#39; is already used by &#39;Beanie&#39;" in taken.get_data(as_text=True)
    assert twice.status_code == 422 and "used twice on this product" in twice.get_data(as_text=True)
    assert [v.sku for v in db.session.get(Product, product.id).variants] == ["scarf-1", "scarf-2"]
    # Swapping SKUs between the product's own variants is fine.
    assert admin.post(f"/admin/products/{product.id}", data={**form, red: "scarf-2", blue: "scarf-1"}).status_code == 303


def test_a_product_with_many_variants_saves(admin, company, db):
    product = make_product(company, "Big Tee", variants=[{"Size": str(n)} for n in range(250)])
    form = edit_form(admin, product.id)
    last = product.variants[-1]
    form[f"v{last.id}-price"] = "7.25"

    assert len(form) > 1000  # more parts than Flask's default form limit
    assert admin.post(f"/admin/products/{product.id}", data=form).status_code == 303
    assert db.session.get(Variant, last.id).price_cents == 725


def test_bad_product_fields_are_422(admin, company):
    product = make_product(company, "Tote")
    form = edit_form(admin, product.id)

    empty = admin.post(f"/admin/products/{product.id}", data={**form, "title": "  "})
    status = admin.post(f"/admin/products/{product.id}", data={**form, "status": "deleted"})
    long = admin.post(f"/admin/products/{product.id}", data={**form, "title": "x" * 256})

    assert empty.status_code == status.status_code == long.status_code == 422
    assert "Enter a title." in empty.get_data(as_text=True)
    assert "Choose active, draft or archived." in status.get_data(as_text=True)
    assert "at most 255" in long.get_data(as_text=True)


def test_untracked_variant_uses_the_in_stock_flag(admin, company, db):
    product = make_product(company, "Poster")  # untracked, in stock
    form = edit_form(admin, product.id)
    prefix = f"v{product.variants[0].id}-"
    form.pop(prefix + "in_stock")  # unticked
    form[prefix + "stock"] = ""

    assert admin.post(f"/admin/products/{product.id}", data=form).status_code == 303
    variant = db.session.get(Variant, product.variants[0].id)
    assert not variant.in_stock and not variant.track_inventory and variant.stock == 0
    assert titles(admin.get("/admin/products?stock=out")) == ["Poster"]


def test_create_a_product_with_one_variant(admin, company, db):
    assert admin.get("/admin/products/new").status_code == 200
    token = csrf(admin, "/admin/products/new")
    data = {"csrf_token": token, "title": "Linen Shirt", "description": "Soft.\n\nBreathes.",
            "status": "active", "published": "1", "vnew-sku": "LIN-1", "vnew-price": "49.5",
            "vnew-compare_at": "", "vnew-track": "1", "vnew-stock": "12", "vnew-in_stock": "1"}

    response = admin.post("/admin/products/new", data=data)
    again = admin.post("/admin/products/new", data={**data, "vnew-sku": "LIN-2"})

    product = db.session.scalars(select(Product).where(Product.handle == "linen-shirt")).one()
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/products/{product.id}"
    assert (product.status, product.published, product.description_html) == (
        "active", True, "<p>Soft.</p><p>Breathes.</p>")
    [variant] = product.variants
    assert (variant.sku, variant.price_cents, variant.track_inventory, variant.stock) == ("LIN-1", 4950, True, 12)
    assert again.status_code == 303
    assert db.session.scalars(select(Product.handle).order_by(Product.id)).all() == ["linen-shirt", "linen-shirt-2"]


def test_create_with_bad_input_is_422_and_saves_nothing(admin, company, db):
    token = csrf(admin, "/admin/products/new")
    response = admin.post("/admin/products/new", data={
        "csrf_token": token, "title": "Wool Socks", "status": "draft", "vnew-price": "abc",
        "vnew-stock": "many"}, headers=HX)

    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="Wool Socks"' in body and 'value="many"' in body
    assert count(db, Product) == 0


def test_create_with_htmx_pushes_the_new_url(admin, company, db):
    token = csrf(admin, "/admin/products/new")
    response = admin.post("/admin/products/new", headers=HX, data={
        "csrf_token": token, "title": "Hat", "status": "draft", "vnew-price": "10", "vnew-stock": "0"})

    product = db.session.scalars(select(Product)).one()
    assert response.status_code == 200 and response.headers["HX-Push-Url"] == f"/admin/products/{product.id}"
    assert product.variants[0].price_cents == 1000


def test_archive_asks_first_then_archives(admin, company, db):
    product = make_product(company, "Old Tee")
    token = csrf(admin)

    page = admin.get(f"/admin/products/{product.id}/archive")
    unconfirmed = admin.post(f"/admin/products/{product.id}/archive", data={"csrf_token": token})
    assert page.status_code == unconfirmed.status_code == 200
    assert "Yes, archive it" in unconfirmed.get_data(as_text=True)
    assert db.session.get(Product, product.id).status == "active"
    edit = admin.get(f"/admin/products/{product.id}").get_data(as_text=True)
    assert "hx-confirm=" in edit and "data-confirm=" in edit

    done = admin.post(f"/admin/products/{product.id}/archive", data={"csrf_token": token, "confirmed": "yes"})

    assert done.status_code == 303 and db.session.get(Product, product.id).status == "archived"
    assert "is archived" in admin.get(done.headers["Location"]).get_data(as_text=True)


def test_archive_with_htmx(admin, company, db):
    product = make_product(company, "Old Cap")
    response = admin.post(f"/admin/products/{product.id}/archive", headers=HX,
                          data={"csrf_token": csrf(admin), "confirmed": "yes"})

    assert response.status_code == 200 and "toast" in response.headers["HX-Trigger"]
    assert db.session.get(Product, product.id).status == "archived"


def test_every_product_route_needs_sign_in(client, db, company):
    product = make_product(company, "Tee")
    for path in ("/admin/products", "/admin/products/new", f"/admin/products/{product.id}",
                 f"/admin/products/{product.id}/archive", "/admin/products/import"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


# ---------------------------------------------------------------------------- tenancy


def test_another_merchants_product_is_404_everywhere(admin, rival, db):
    other = rival["product_id"]
    token = csrf(admin)
    form = {"csrf_token": token, "title": "Hijacked", "status": "draft", "confirmed": "yes",
            f"v{db.session.get(Product, other).variants[0].id}-price": "0.01"}

    assert admin.get(f"/admin/products/{other}").status_code == 404
    assert admin.post(f"/admin/products/{other}", data=form).status_code == 404
    assert admin.post(f"/admin/products/{other}", data=form, headers=HX).status_code == 404
    assert admin.get(f"/admin/products/{other}/archive").status_code == 404
    assert admin.post(f"/admin/products/{other}/archive", data=form).status_code == 404
    assert "Rival Mug" not in admin.get("/admin/products?q=mug").get_data(as_text=True)
    theirs = db.session.get(Product, other)
    assert (theirs.title, theirs.status, theirs.variants[0].price_cents) == ("Rival Mug", "active", 900)


def test_another_merchants_upload_token_is_404(app, admin, rival, db, instance):
    theirs = app.test_client()
    sign_in(theirs, email="boss@rival.test")
    staged_at = upload(theirs, WOO).headers["Location"]
    token = staged_at.rsplit("/", 1)[1]

    assert admin.get(staged_at).status_code == 404
    assert admin.post(staged_at, data={"csrf_token": csrf(admin)}).status_code == 404
    assert count(db, Product) == 1  # only the rival's mug
    assert theirs.get(staged_at).status_code == 200  # still theirs to confirm
    for bad in ("../../etc/passwd", "x" * 43 + "%2F..", token[:-1]):
        assert admin.get(f"/admin/products/import/{bad}").status_code == 404


# ---------------------------------------------------------------------------- CSV import


def test_csv_preview_then_confirm(admin, company, db, instance):
    response = upload(admin, WOO)

    assert response.status_code == 303
    preview_url = response.headers["Location"]
    assert re.fullmatch(r"/admin/products/import/[A-Za-z0-9_-]{43}", preview_url)
    preview = admin.get(preview_url).get_data(as_text=True)
    assert "would create product &#39;woo-vneck-tee&#39; (V-Neck T-Shirt)" in preview
    assert "Preview of sample_products.csv (WooCommerce)" in preview
    assert re.search(r"Products to create</dt><dd>18<", preview)
    assert count(db, Product) == 0  # a dry run saves nothing
    assert len(staged(instance)) == 2

    done = admin.post(preview_url, data={"csrf_token": csrf(admin)})

    assert done.status_code == 303 and done.headers["Location"] == "/admin/products"
    assert count(db, Product) == 18 and count(db, Variant) == 28
    assert "18 products created" in admin.get("/admin/products").get_data(as_text=True)
    assert staged(instance) == []  # deleted after the import
    assert admin.post(preview_url, data={"csrf_token": csrf(admin)}).status_code == 404


def test_csv_confirm_with_htmx_shows_the_result(admin, company, db):
    preview_url = upload(admin, WOO, fmt="woocommerce").headers["Location"]
    response = admin.post(preview_url, data={"csrf_token": csrf(admin)}, headers=HX)

    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="import-panel"')
    assert re.search(r"Products created</dt><dd>18<", body) and "toast" in response.headers["HX-Trigger"]
    # Importing the same file again updates nothing and creates nothing.
    again = admin.get(upload(admin, WOO).headers["Location"]).get_data(as_text=True)
    assert re.search(r"Products unchanged</dt><dd>18<", again) and "Nothing would change" in again


def test_shopify_file_preview(admin, company, db):
    source = CATALOG_DIR / "shopify" / "shopifypartners-product-csvs" / "apparel.csv"
    preview = admin.get(upload(admin, source).headers["Location"]).get_data(as_text=True)
    assert "(Shopify)" in preview and re.search(r"Products to create</dt><dd>20<", preview)


def test_broken_csv_shows_line_and_column_and_imports_nothing(admin, company, db, instance, tmp_path):
    text = WOO.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    header = next(csv.reader([lines[0].lstrip("\ufeff")]))
    price_column = header.index("Regular price") + 1
    index = next(i for i, line in enumerate(lines) if ",woo-beanie," in line)
    cells = next(csv.reader([lines[index]]))
    cells[price_column - 1] = "twenty"
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    lines[index] = out.getvalue()
    broken = tmp_path / "broken.csv"
    broken.write_bytes(newline.join(lines).encode("utf-8"))
    broken_line = index + 1  # physical line; the beanie's record is on one line

    response = upload(admin, broken)

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"line {broken_line}, column {price_column} (Regular price)" in body
    assert "not a price" in body and "broken.csv" in body and "Nothing was saved" in body
    assert count(db, Product) == 0 and staged(instance) == []


@pytest.mark.parametrize(("name", "content", "message"), [
    ("products.xlsx", b"PK\x03\x04 not a csv", "Only .csv files can be imported"),
    ("products.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary data"),
    ("products.csv", b"", "the file is empty"),
    ("products.csv", b"name,price\nTee,20\n", "not a WooCommerce or Shopify product CSV"),
])
def test_wrong_files_get_a_clear_error(admin, company, db, instance, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)

    response = upload(admin, path)

    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(db, Product) == 0 and staged(instance) == []


def test_no_file_chosen(admin, company):
    response = admin.post("/admin/products/import", content_type="multipart/form-data",
                          data={"csrf_token": csrf(admin, "/admin/products/import"), "format": ""})
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)


def test_too_large_upload_is_a_clear_413(admin, company, db, instance, tmp_path):
    big = tmp_path / "huge.csv"
    with open(big, "wb") as fh:
        fh.write(WOO.read_bytes())
        fh.write(b"\n" + b"x" * (21 * 1024 * 1024))

    response = upload(admin, big)

    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is too large" in body and "at most 20 MB" in body and "Nothing was imported" in body
    assert 'type="file"' in body  # the upload form again, to pick another file
    assert count(db, Product) == 0 and staged(instance) == []


def test_file_just_over_the_limit_gets_the_importers_error(admin, company, db, instance, tmp_path):
    # The request limit leaves room for the multipart envelope, so a file a few bytes over
    # 20 MB reaches the importer, which refuses it by its own size check.
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.write(WOO.read_bytes())
        fh.write(b"\n" + b"x" * (20 * 1024 * 1024 - WOO.stat().st_size))

    response = upload(admin, big)

    assert response.status_code == 422
    assert "the limit is 20 MB" in response.get_data(as_text=True)
    assert count(db, Product) == 0 and staged(instance) == []


def test_previews_expire_after_an_hour(admin, company, db, instance):
    preview_url = upload(admin, WOO).headers["Location"]
    an_hour_ago = time.time() - 3601
    for path in (instance / "uploads").rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))

    response = admin.post(preview_url, data={"csrf_token": csrf(admin)})

    assert response.status_code == 404 and "expired" in response.get_data(as_text=True)
    assert count(db, Product) == 0 and staged(instance) == []


def test_a_new_upload_sweeps_abandoned_ones(admin, company, instance, tmp_path):
    upload(admin, WOO)
    an_hour_ago = time.time() - 3601
    for path in (instance / "uploads").rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    copy = tmp_path / "again.csv"
    shutil.copy(WOO, copy)

    upload(admin, copy)

    assert len(staged(instance)) == 2  # only the new upload's csv and json


# ---------------------------------------------------------------------------- hostile input


def test_hostile_title_and_description_are_escaped_and_sanitised(admin, company, db):
    product = make_product(company, "Plain")
    page = make_page(company, [product])
    form = edit_form(admin, product.id)
    evil_title = '<script>alert("t")</script><img src=x onerror=alert(1)>'
    evil_description = ('<p onclick="alert(1)">Nice</p><script>alert("d")</script>'
                        '<a href="javascript:alert(1)">x</a><img src="x" onerror="alert(1)">'
                        '<style>body{display:none}</style><iframe src="https://evil.test"></iframe>')
    form.update({"title": evil_title, "description": evil_description})

    assert admin.post(f"/admin/products/{product.id}", data=form).status_code == 303

    stored = db.session.get(Product, product.id).description_html
    assert stored.startswith("<p>Nice</p>")
    for bad in ("<script", "onclick", "onerror", "javascript:", "<style", "<iframe"):
        assert bad not in stored
    for html in (admin.get("/admin/products").get_data(as_text=True),
                 admin.get(f"/admin/products/{product.id}").get_data(as_text=True),
                 admin.get(f"/lp/{page.slug}").get_data(as_text=True)):
        assert "<script>alert" not in html and "<img src=x onerror" not in html
        assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in html
    search = admin.get('/admin/products?q="><script>alert(1)</script>').get_data(as_text=True)
    assert "<script>alert(1)" not in search and 'value="&#34;&gt;&lt;script&gt;' in search


def test_hostile_file_name_is_not_used_as_a_path(admin, company, instance, tmp_path):
    source = tmp_path / "plain.csv"
    shutil.copy(WOO, source)
    response = upload(admin, source, name="../../../evil<script>.csv")

    assert response.status_code == 303
    assert all(p.parent.parent == instance / "uploads" for p in (instance / "uploads").rglob("*.csv"))
    assert "<script>" not in admin.get(response.headers["Location"]).get_data(as_text=True)


# ---------------------------------------------------------------------------- the form's hostile inputs


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("price", "١٢", "Not a price"),  # Arabic-Indic digits: Decimal would read them as 12
    ("price", "１２", "Not a price"),  # full-width digits
    ("stock", "１２", "whole number of units"),
    ("price", "9" * 400, "Price too large"),
    ("stock", "9" * 400, "whole number of units from 0 to 1,000,000"),
    ("price", "NaN", "Not a price"),
    ("price", "1e3", "Not a price"),
])
def test_non_ascii_and_huge_numbers_are_refused(admin, company, db, field, typed, message):
    product = make_product(company, "Jar", price_cents=900, stock=4)
    form = edit_form(admin, product.id)
    name = f"v{product.variants[0].id}-{field}"
    response = admin.post(f"/admin/products/{product.id}", data={**form, name: typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, html[:300]
    assert f'href="#{name}"' in html  # the summary links to the input
    variant = db.session.get(Variant, product.variants[0].id)
    assert (variant.price_cents, variant.stock) == (900, 4)


def test_missing_inputs_are_named_and_nul_is_refused(admin, company, db):
    product = make_product(company, "Bowl", price_cents=900, stock=4)  # tracked
    prefix = f"v{product.variants[0].id}-"
    token = csrf(admin)
    # A post with nothing but the token: every required input named, on both paths.
    for headers in ({}, HX):
        response = admin.post(f"/admin/products/{product.id}", data={"csrf_token": token}, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Enter a title." in html and "Choose active, draft or archived." in html
        assert "Enter a price, e.g. 19.99." in html
        assert f'href="#{prefix}price"' in html and 'href="#title"' in html
        assert ("<html" in html) is not bool(headers)
    # Tracked inventory needs a count.
    form = edit_form(admin, product.id)
    tracked = admin.post(f"/admin/products/{product.id}", data={**form, prefix + "track": "1", prefix + "stock": ""})
    assert tracked.status_code == 422 and "Enter a whole number of units from 0 to 1,000,000." in tracked.get_data(
        as_text=True)
    nul = admin.post(f"/admin/products/{product.id}", data={**form, "title": "Bo\x00wl"})
    assert nul.status_code == 400
    forged = admin.post(f"/admin/products/{product.id}", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert forged.status_code == 400
    # A variant of another product is not an input of this one: ignored, nothing of it changes.
    other = make_product(company, "Plate", price_cents=500)
    ignored = admin.post(f"/admin/products/{product.id}", data={**form, f"v{other.variants[0].id}-price": "0.01"})
    assert ignored.status_code == 303
    assert db.session.get(Variant, other.variants[0].id).price_cents == 500
    assert db.session.get(Product, product.id).title == "Bowl"


def test_create_refuses_missing_inputs_and_names_the_variant_fields(admin, company, db):
    token = csrf(admin, "/admin/products/new")
    response = admin.post("/admin/products/new", data={"csrf_token": token, "vnew-price": "１０"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter a title." in html and "Not a price" in html
    assert 'id="vnew-price" name="vnew-price"' in html and 'value="１０"' in html
    assert count(db, Product) == 0
