"""import_catalog against a real database (PostgreSQL with TEST_DATABASE_URL, else SQLite)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storefront.accounts.models import Company
from storefront.catalog.importers import CatalogImportError
from storefront.catalog.models import Category, Product, ProductImage, Variant
from storefront.catalog.services import import_catalog

CATALOG = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
WOO = CATALOG / "woocommerce"
SHOPIFY = CATALOG / "shopify" / "shopifypartners-product-csvs"


def count(db, model, company=None) -> int:
    query = select(func.count()).select_from(model)
    if company is not None:
        query = query.where(model.company_id == company.id)
    return db.session.scalar(query)


def product(db, company, handle: str) -> Product:
    return db.session.scalars(
        select(Product).where(Product.company_id == company.id, Product.handle == handle)
    ).one()


def edit_cells(tmp_path: Path, source: Path, needle: str, changes: dict[str, str],
               name: str = "edited.csv") -> Path:
    """A copy of ``source`` whose single-line record containing ``needle`` has the cells
    named in ``changes`` replaced; every other byte is kept."""
    text = source.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    header = next(csv.reader([lines[0].lstrip("\ufeff")]))
    index = next(i for i, line in enumerate(lines) if needle in line)
    cells = next(csv.reader([lines[index]]))
    for column, value in changes.items():
        cells[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    lines[index] = out.getvalue()
    target = tmp_path / name
    target.write_bytes(newline.join(lines).encode("utf-8"))
    return target


@pytest.mark.parametrize(("path", "fmt", "products", "variants"), [
    (WOO / "sample_products.csv", "woocommerce", 18, 28),
    (WOO / "experimental_sample_9_products.csv", "woocommerce", 9, 6),
    (WOO / "experimental_fashion_sample_9_products.csv", "woocommerce", 9, 8),
    (SHOPIFY / "apparel.csv", "shopify", 20, 22),
    (SHOPIFY / "home-and-garden.csv", "shopify", 20, 21),
])
def test_every_real_csv_imports(db, company, path, fmt, products, variants):
    report = import_catalog(path, company)
    assert report.fmt == fmt
    assert (report.products_created, report.products_updated, report.products_unchanged) == (products, 0, 0)
    assert (report.variants_created, report.variants_updated, report.variants_unchanged) == (variants, 0, 0)
    db.session.expire_all()
    assert count(db, Product, company) == products
    assert count(db, Variant, company) == variants
    assert report.lines()[0].startswith(f"Imported {path.name}")


def test_tax_rates_are_not_a_product_file(db, company):
    with pytest.raises(CatalogImportError, match="not a WooCommerce or Shopify product CSV"):
        import_catalog(WOO / "sample_tax_rates.csv", company)
    assert count(db, Product) == 0


def test_woocommerce_sample_in_the_database(db, company):
    import_catalog(WOO / "sample_products.csv", company)
    vneck = product(db, company, "woo-vneck-tee")
    assert vneck.option_names == ["Color", "Size"]
    assert len(vneck.variants) == 9
    assert {v.options["Size"] for v in vneck.variants} == {"Large", "Medium", "Small"}
    assert {v.options["Color"] for v in vneck.variants} == {"Red", "Green", "Blue"}
    assert vneck.is_buyable
    assert [i.position for i in vneck.images] == [1, 2, 3]
    (tshirts,) = vneck.categories
    clothing = db.session.get(Category, tshirts.parent_id)
    assert (clothing.name, clothing.parent_id, tshirts.name) == ("Clothing", None, "Tshirts")
    assert {c.name for c in db.session.scalars(select(Category))} == {
        "Clothing", "Tshirts", "Hoodies", "Accessories", "Decor", "Music"}

    hoodie_red = db.session.scalars(select(Variant).where(Variant.sku == "woo-hoodie-red")).one()
    assert hoodie_red.on_sale and (hoodie_red.price_cents, hoodie_red.compare_at_cents) == (4200, 4500)
    assert hoodie_red.product.handle == "woo-hoodie"
    assert not product(db, company, "logo-collection").is_buyable  # grouped: draft, no variant
    pennant = product(db, company, "wp-pennant")
    assert pennant.status == "draft" and pennant.variants[0].price_cents == 1105


def test_shopify_files_in_the_database(db, company):
    import_catalog(SHOPIFY / "apparel.csv", company)
    top = product(db, company, "classic-varsity-top")
    assert top.option_names == ["Size"]
    assert [v.options["Size"] for v in top.variants] == ["Small", "Medium", "Large"]
    assert top.tags == ["women"] and top.vendor == "partners-demo"

    import_catalog(SHOPIFY / "home-and-garden.csv", company)
    garden = db.session.scalars(
        select(Variant).join(Product).where(Product.vendor != "partners-demo")
    ).all()
    assert len(garden) == 21
    assert sum(1 for v in garden if v.on_sale) == 16
    assert sorted({v.stock for v in garden}) == [0, 1, 2, 3, 4, 5, 6, 8]
    sofa = product(db, company, "cream-sofa").variants[0]
    assert (sofa.price_cents, sofa.compare_at_cents, sofa.discount_percent) == (50000, 75000, 33)
    pots = product(db, company, "biodegradable-cardboard-pots").variants[0]
    assert pots.track_inventory and pots.available == 8
    armchair = product(db, company, "pink-armchair").variants[0]
    assert armchair.stock == 0 and not armchair.track_inventory and armchair.in_stock  # untracked


def test_fashion_stock_is_tracked(db, company):
    import_catalog(WOO / "experimental_fashion_sample_9_products.csv", company)
    tracked = db.session.scalars(select(Variant).where(Variant.track_inventory.is_(True))).all()
    assert sorted((v.sku, v.stock) for v in tracked) == [
        ("woo-fasion-shirt", 10), ("woo-fasion-shirt-cream", 5),
        ("woo-fasion-shoes", 5), ("woo-fasion-sweater", 5)]
    assert all(v.in_stock for v in tracked)
    assert product(db, company, "woo-fasion-blouse").status == "draft"  # no price in the file


def test_reimport_updates_in_place_without_duplicates(db, company, tmp_path):
    first = import_catalog(WOO / "sample_products.csv", company)
    beanie_id = db.session.scalars(select(Variant.id).where(Variant.sku == "woo-beanie")).one()
    again = import_catalog(WOO / "sample_products.csv", company)
    assert (again.products_created, again.products_updated, again.products_unchanged) == (0, 0, 18)
    assert (again.variants_created, again.variants_updated, again.variants_unchanged) == (0, 0, 28)
    assert again.lines()[1:] == first.notes  # no change lines, only the importer's notes

    cheaper = edit_cells(tmp_path, WOO / "sample_products.csv", ",woo-beanie,", {"Sale price": "17"})
    report = import_catalog(cheaper, company)
    assert (report.variants_updated, report.variants_unchanged) == (1, 27)
    assert "line 6: updated variant 'woo-beanie': price $18.00 -> $17.00" in report.lines()
    db.session.expire_all()
    beanie = db.session.scalars(select(Variant).where(Variant.sku == "woo-beanie")).one()
    assert (beanie.id, beanie.price_cents, beanie.compare_at_cents) == (beanie_id, 1700, 2000)
    assert count(db, Product) == 18 and count(db, Variant) == 28 and count(db, Category) == 6


def test_shopify_reimport_matches_variants_without_sku(db, company, tmp_path):
    import_catalog(SHOPIFY / "apparel.csv", company)
    ids = set(db.session.scalars(select(Variant.id)))
    pricier = edit_cells(tmp_path, SHOPIFY / "apparel.csv", "classic-varsity-top,,", {"Variant Price": "65"})
    report = import_catalog(pricier, company)
    assert (report.variants_created, report.variants_updated, report.variants_unchanged) == (0, 1, 21)
    db.session.expire_all()
    assert set(db.session.scalars(select(Variant.id))) == ids
    top = product(db, company, "classic-varsity-top")
    assert [v.price_cents for v in top.variants] == [6000, 6500, 6000]


def test_sku_adopts_then_moves_a_variant(db, company, tmp_path):
    import_catalog(SHOPIFY / "apparel.csv", company)
    shirt_variant = product(db, company, "ocean-blue-shirt").variants[0]
    with_sku = edit_cells(tmp_path, SHOPIFY / "apparel.csv", "ocean-blue-shirt", {"Variant SKU": "OBS-1"})
    report = import_catalog(with_sku, company)
    assert (report.variants_created, report.variants_updated) == (0, 1)
    assert "line 2: updated variant 'OBS-1': SKU set to 'OBS-1'" in report.lines()

    renamed = edit_cells(tmp_path, with_sku, "ocean-blue-shirt", {"Handle": "ocean-shirt"}, "renamed.csv")
    report = import_catalog(renamed, company)
    assert (report.products_created, report.variants_created, report.variants_updated) == (1, 0, 1)
    assert "moved from product 'ocean-blue-shirt'" in "\n".join(report.lines())
    db.session.expire_all()
    moved = db.session.scalars(select(Variant).where(Variant.sku == "OBS-1")).one()
    assert moved.id == shirt_variant.id and moved.product.handle == "ocean-shirt"
    old = product(db, company, "ocean-blue-shirt")
    assert old.variants == [] and not old.is_buyable


def test_smaller_export_keeps_variations_and_options(db, company):
    import_catalog(WOO / "sample_products.csv", company)
    report = import_catalog(WOO / "experimental_sample_9_products.csv", company)
    assert report.products_created == 0 and report.variants_created == 0
    vneck = product(db, company, "woo-vneck-tee")
    assert vneck.status == "active" and vneck.option_names == ["Color", "Size"]
    assert len(vneck.variants) == 9


def test_variable_product_without_any_variant_is_a_draft(db, company):
    report = import_catalog(WOO / "experimental_sample_9_products.csv", company)
    assert product(db, company, "woo-vneck-tee").status == "draft"
    assert "line 2: woo-vneck-tee: no variants, so it is a draft" in report.lines()


def test_dry_run_changes_nothing(db, company, tmp_path):
    dry = import_catalog(SHOPIFY / "home-and-garden.csv", company, dry_run=True)
    assert (dry.products_created, dry.variants_created) == (20, 21)
    assert dry.lines()[0].startswith("Dry run of home-and-garden.csv (Shopify), nothing was saved")
    assert "line 2: would create product 'clay-plant-pot' (Clay Plant Pot)" in dry.lines()
    assert count(db, Product) == count(db, Variant) == count(db, ProductImage) == 0

    real = import_catalog(SHOPIFY / "home-and-garden.csv", company)
    assert (real.products_created, real.variants_created) == (20, 21)
    cheaper = edit_cells(tmp_path, SHOPIFY / "home-and-garden.csv", "cream-sofa", {"Variant Price": "450"})
    dry = import_catalog(cheaper, company, dry_run=True)
    assert dry.variants_updated == 1
    assert "line 5: would update variant 'Default Title' of 'cream-sofa': price $500.00 -> $450.00" in dry.lines()
    db.session.expire_all()
    assert product(db, company, "cream-sofa").variants[0].price_cents == 50000


def test_broken_row_rolls_back_everything(db, company, tmp_path):
    import_catalog(SHOPIFY / "apparel.csv", company)
    # The first rows change a known price and add new products; the last row is broken.
    source = edit_cells(tmp_path, SHOPIFY / "home-and-garden.csv", "bedside-table",
                        {"Variant Price": "sixty-nine"})
    text = source.read_bytes().decode("utf-8")
    apparel_rows = (SHOPIFY / "apparel.csv").read_bytes().decode("utf-8").split("\r\n")
    changed_shirt = apparel_rows[1].replace(",50,", ",55,", 1)
    assert changed_shirt != apparel_rows[1]
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(text.replace("\r\n", "\r\n" + changed_shirt + "\r\n", 1).encode("utf-8"))
    with pytest.raises(CatalogImportError) as caught:
        import_catalog(mixed, company)
    assert (caught.value.line, caught.value.column_name) == (23, "Variant Price")
    assert "mixed.csv, line 23, column 20 (Variant Price)" in str(caught.value)
    db.session.expire_all()
    assert count(db, Product) == 20 and count(db, Variant) == 22
    assert product(db, company, "ocean-blue-shirt").variants[0].price_cents == 5000


def test_descriptions_are_sanitised(db, company, tmp_path):
    evil = ('<p onclick="steal()">Soft tee<script>alert(1)</script> '
            '<a href="javascript:alert(2)">click</a> <img src="https://img.test/a.jpg" onerror="x()"></p>')
    source = edit_cells(tmp_path, WOO / "sample_products.csv", ",woo-tshirt,", {"Description": evil})
    import_catalog(source, company)
    html = product(db, company, "woo-tshirt").description_html
    assert "<script" not in html and "alert" not in html and "onclick" not in html
    assert "onerror" not in html and "javascript:" not in html
    assert html.startswith("<p>Soft tee") and '<img src="https://img.test/a.jpg">' in html


def test_companies_do_not_share_products(db, company):
    other = Company(name="Other Shop", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    import_catalog(WOO / "sample_products.csv", company)
    report = import_catalog(WOO / "sample_products.csv", other)
    assert (report.products_created, report.variants_created) == (18, 28)  # no cross-tenant match
    assert count(db, Variant, company) == count(db, Variant, other) == 28
    assert count(db, Category, other) == 6
