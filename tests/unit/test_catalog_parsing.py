"""Parsing of WooCommerce and Shopify product CSVs, on the real sample files (no database)."""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from storefront.catalog.importers import MAX_FILE_BYTES, CatalogImportError, parse_catalog
from storefront.catalog.importers.common import read_csv, sanitize_html, slugify
from storefront.catalog.importers.woocommerce import parse_woocommerce

CATALOG = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "catalog"
WOO = CATALOG / "woocommerce"
SHOPIFY = CATALOG / "shopify" / "shopifypartners-product-csvs"


def by_handle(path: Path) -> dict:
    return {p.handle: p for p in parse_catalog(path, "USD").products}


def line_of(path: Path, needle: str) -> int:
    """Physical line number (1-based) of the first line containing ``needle``."""
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def write_variant(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    """A copy of ``source`` with the first ``old`` replaced by ``new`` (bytes otherwise kept)."""
    text = source.read_bytes().decode("utf-8")
    assert old in text
    (target := tmp_path / "broken.csv").write_bytes(text.replace(old, new, 1).encode("utf-8"))
    return target


def edit_cells(tmp_path: Path, source: Path, needle: str, changes: dict[str, str],
               name: str = "edited.csv") -> Path:
    """A copy of ``source`` whose single-line record containing ``needle`` has the cells
    named in ``changes`` (header names) replaced; every other byte is kept."""
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


def error_of(path: Path, fmt: str | None = None) -> CatalogImportError:
    with pytest.raises(CatalogImportError) as caught:
        parse_catalog(path, "USD", fmt)
    return caught.value


# --------------------------------------------------------------------------- real files


def test_reader_strips_bom_and_keeps_multiline_cells():
    table = read_csv(WOO / "sample_products.csv")
    assert table.header[0] == "ID"  # not "\ufeffID"
    assert len(table.rows) == 25
    assert table.rows[0].line == 2 and table.rows[-1].line == 26
    assert not any("\r" in cell for row in table.rows for cell in row.cells)

    fashion = read_csv(WOO / "experimental_fashion_sample_9_products.csv")
    assert len(fashion.rows) == 9
    assert "\r\n\r\nPhotography by @cottonbro." in fashion.rows[0].raw("Description")
    # Records span several physical lines, so line numbers are not row index + 2.
    assert fashion.rows[-1].line == line_of(WOO / "experimental_fashion_sample_9_products.csv", "woo-fasion-hat")
    assert fashion.rows[-1].line > 10


def test_sample_products_variable_and_simple():
    products = by_handle(WOO / "sample_products.csv")
    assert len(products) == 18

    vneck = products["woo-vneck-tee"]
    assert vneck.title == "V-Neck T-Shirt"
    assert vneck.option_names == ["Color", "Size"]
    assert vneck.categories == [("Clothing", "Tshirts")]
    assert [i.position for i in vneck.images] == [1, 2, 3]
    assert vneck.images[0].src.endswith("/vneck-tee-2.jpg") and vneck.images[0].alt == "V-Neck T-Shirt"
    # Three colour variations accept "any" Size: one variant per size the parent lists.
    assert len(vneck.variants) == 9
    red_large = next(v for v in vneck.variants if v.sku == "woo-vneck-tee-red-large")
    assert red_large.options == {"Color": "Red", "Size": "Large"}
    assert red_large.title == "Red / Large"
    assert red_large.price_cents == 2000 and red_large.compare_at_cents is None
    assert red_large.grams == 227  # inherited .5 lbs
    assert {v.price_cents for v in vneck.variants if v.options["Color"] == "Blue"} == {1500}
    assert [v.position for v in vneck.variants] == list(range(1, 10))

    hoodie = products["woo-hoodie"]
    assert hoodie.option_names == ["Color", "Logo"]
    assert [v.sku for v in hoodie.variants] == [  # Woo menu order (Position 0, 1, 2, 3)
        "woo-hoodie-blue-logo", "woo-hoodie-red", "woo-hoodie-green", "woo-hoodie-blue"]
    red = hoodie.variants[1]
    assert red.options == {"Color": "Red", "Logo": "No"}
    assert (red.price_cents, red.compare_at_cents) == (4200, 4500)

    beanie = products["woo-beanie"]
    (variant,) = beanie.variants
    assert (variant.sku, variant.options, variant.title) == ("woo-beanie", {}, "Default Title")
    assert (variant.price_cents, variant.compare_at_cents) == (1800, 2000)
    assert (variant.track_inventory, variant.in_stock_flag) == (False, True)
    assert variant.grams == 91
    assert products["woo-tshirt-logo"].variants[0].sku == "Woo-tshirt-logo"  # SKU kept as is
    assert beanie.status == "active" and beanie.published
    assert beanie.vendor is None and "vendor" in beanie.keep


def test_sample_products_grouped_external_downloadable_are_drafts():
    catalog = parse_catalog(WOO / "sample_products.csv", "USD")
    products = {p.handle: p for p in catalog.products}
    assert (products["logo-collection"].status, products["logo-collection"].variants) == ("draft", [])
    pennant = products["wp-pennant"]
    assert pennant.status == "draft" and pennant.variants[0].price_cents == 1105
    album, single = products["woo-album"], products["woo-single"]  # downloadable
    assert album.status == single.status == "draft"
    assert (single.variants[0].price_cents, single.variants[0].compare_at_cents) == (200, 300)
    notes = "\n".join(catalog.notes)
    assert "line 24: logo-collection: grouped product" in notes
    assert "line 25: wp-pennant: external product" in notes
    assert "line 14: woo-album: downloadable product" in notes
    active = [p for p in catalog.products if p.status == "active"]
    assert len(active) == 14


def test_experimental_sample_without_variation_rows():
    products = by_handle(WOO / "experimental_sample_9_products.csv")
    assert len(products) == 9
    assert products["woo-vneck-tee"].variants == []  # no price, no variation rows
    assert products["woo-polo"].variants[0].price_cents == 2000
    assert sorted(v.price_cents for p in products.values() for v in p.variants) == [
        1600, 1800, 1800, 2000, 5500, 9000]


def test_fashion_stock_and_paragraphs():
    products = by_handle(WOO / "experimental_fashion_sample_9_products.csv")
    assert len(products) == 9
    stock = {h: (p.variants[0].track_inventory, p.variants[0].stock)
             for h, p in products.items() if p.variants and p.variants[0].track_inventory}
    assert stock == {
        "woo-fasion-sweater": (True, 5), "woo-fasion-shirt": (True, 10),
        "woo-fasion-shoes": (True, 5), "woo-fasion-shirt-cream": (True, 5),
    }
    assert products["woo-fasion-shirt-cream"].variants[0].in_stock_flag is False
    sweater = products["woo-fasion-sweater"]  # variable with its own price, no variations
    assert (sweater.variants[0].price_cents, sweater.variants[0].compare_at_cents) == (1600, 1800)
    assert len(sweater.images) == 2  # "url,url" without a space
    assert sweater.description_html.count("<p>") == 2
    assert sweater.description_html.endswith("<p>Photography by @cottonbro.</p>")
    assert products["woo-fasion-blouse"].status == "draft"  # no price at all
    assert products["woo-fasion-blouse"].variants == []
    assert ("Clothing", "Jackets") in products["woo-fasion-jacket"].categories


def test_shopify_apparel():
    catalog = parse_catalog(SHOPIFY / "apparel.csv", "USD")
    assert catalog.fmt == "shopify"
    products = {p.handle: p for p in catalog.products}
    assert len(products) == 20
    assert sum(len(p.variants) for p in products.values()) == 22
    top = products["classic-varsity-top"]
    assert top.option_names == ["Size"]
    assert [v.options for v in top.variants] == [{"Size": "Small"}, {"Size": "Medium"}, {"Size": "Large"}]
    assert [v.title for v in top.variants] == ["Small", "Medium", "Large"]
    shirt = products["ocean-blue-shirt"]
    assert shirt.option_names == [] and shirt.variants[0].options == {}
    assert shirt.vendor == "partners-demo" and shirt.tags == ["men"] and shirt.published
    assert "categories" in shirt.keep
    prices = [v.price_cents for p in products.values() for v in p.variants]
    assert min(prices) == 3000 and max(prices) == 8000
    assert all(v.compare_at_cents is None and v.stock == 1 and not v.track_inventory
               for p in products.values() for v in p.variants)


def test_shopify_home_and_garden():
    products = by_handle(SHOPIFY / "home-and-garden.csv")
    assert len(products) == 20
    variants = [v for p in products.values() for v in p.variants]
    assert len(variants) == 21
    assert sum(1 for v in variants if v.compare_at_cents) == 16
    assert {v.stock for v in variants} <= set(range(9))
    assert min(v.stock for v in variants) == 0 and max(v.stock for v in variants) == 8
    types = [p.product_type for p in products.values()]
    assert types.count("Indoor") == 13 and types.count("Outdoor") == 7
    pot = products["clay-plant-pot"]
    assert [(v.options["Size"], v.price_cents) for v in pot.variants] == [("Regular", 999), ("Large", 1599)]
    assert [i.position for i in pot.images] == [1, 2]
    assert pot.tags == ["Pot", "Plants"]
    sofa = products["cream-sofa"].variants[0]
    assert (sofa.price_cents, sofa.compare_at_cents) == (50000, 75000)
    pots = products["biodegradable-cardboard-pots"].variants[0]
    assert (pots.track_inventory, pots.stock) == (True, 8)  # the one tracked variant
    assert products["pink-armchair"].images[0].position == 1  # no Image Position in the file


def test_tax_rates_file_is_rejected():
    error = error_of(WOO / "sample_tax_rates.csv")
    assert "not a WooCommerce or Shopify product CSV" in str(error)
    assert (error.line, error.column) == (1, 1)
    # An explicit format is checked against the header's columns.
    assert "missing required column 'Handle'" in str(error_of(WOO / "sample_products.csv", "shopify"))


# --------------------------------------------------------------------------- broken input


def test_missing_required_column(tmp_path):
    source = SHOPIFY / "apparel.csv"
    broken = write_variant(tmp_path, source, "Variant Price,", "Variant Cost,")
    error = error_of(broken)
    assert error.line == 1 and error.column is not None
    assert "missing required column 'Variant Price'" in str(error)
    assert str(broken) in str(error) and "line 1, column" in str(error)


def test_missing_woo_column_is_still_recognised(tmp_path):
    rows = list(csv.reader(io.StringIO((WOO / "sample_products.csv").read_text("utf-8-sig"), newline="")))
    index = rows[0].index("Regular price")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([r[:index] + r[index + 1:] for r in rows])
    broken = tmp_path / "no-price-column.csv"
    broken.write_text(out.getvalue(), "utf-8")
    assert "missing required column 'Regular price' for a WooCommerce" in str(error_of(broken))


def test_bad_price_names_line_and_column(tmp_path):
    source = WOO / "experimental_fashion_sample_9_products.csv"
    broken = write_variant(tmp_path, source, ",,12,Clothing > Accessories", ",,twelve,Clothing > Accessories")
    error = error_of(broken)
    assert error.line == line_of(source, "woo-fasion-hat")  # after multi-line cells
    assert error.column_name == "Regular price"
    assert error.column == 24  # the file has no ID column
    assert f"line {error.line}, column 24 (Regular price): not a price: 'twelve'" in str(error)


def test_decimal_comma_is_not_read_as_thousands(tmp_path):
    source = SHOPIFY / "home-and-garden.csv"
    broken = write_variant(tmp_path, source, ",9.99,", ',"9,99",')
    error = error_of(broken)
    assert error.column_name == "Variant Price" and error.line == 2
    assert "use a dot for decimals" in str(error)
    fine = edit_cells(tmp_path, source, "pink-armchair", {"Variant Price": "1,750.00"})
    armchair = {p.handle: p for p in parse_catalog(fine, "USD").products}["pink-armchair"]
    assert armchair.variants[0].price_cents == 175000


def test_duplicate_sku_within_file(tmp_path):
    source = WOO / "sample_products.csv"
    broken = write_variant(tmp_path, source, ",woo-belt,", ",woo-beanie,")
    error = error_of(broken)
    assert error.line == line_of(source, "woo-belt") and error.column_name == "SKU"
    assert f"duplicate SKU 'woo-beanie' (also on line {line_of(source, 'woo-beanie,')})" in str(error)


def test_duplicate_shopify_sku(tmp_path):
    once = edit_cells(tmp_path, SHOPIFY / "apparel.csv", "ocean-blue-shirt", {"Variant SKU": "DUP-1"})
    twice = edit_cells(tmp_path, once, "classic-varsity-top,Classic", {"Variant SKU": "DUP-1"}, "dup.csv")
    error = error_of(twice)
    assert (error.line, error.column, error.column_name) == (3, 14, "Variant SKU")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  "])
def test_empty_file(tmp_path, content):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(content)
    error = error_of(empty)
    assert (error.line, error.column) == (1, 1)
    assert "empty" in str(error) and "line 1, column 1" in str(error)


def test_header_without_rows(tmp_path):
    header_only = tmp_path / "header.csv"
    header_only.write_bytes((SHOPIFY / "apparel.csv").read_bytes().split(b"\r\n")[0] + b"\r\n")
    error = error_of(header_only)
    assert (error.line, error.column) == (2, 1) and "no product rows" in str(error)


def test_binary_file(tmp_path):
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    error = error_of(binary)
    assert (error.line, error.column) == (3, 1)  # lines end at \n: "\x89PNG\r", "\x1a", "\x00"
    assert "binary data" in str(error)


def test_latin1_file_is_reported_where_it_breaks(tmp_path):
    source = SHOPIFY / "apparel.csv"
    text = source.read_text("utf-8").replace("Ocean Blue Shirt", "Océan Blue Shirt", 1)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(text.encode("latin-1"))
    error = error_of(latin)
    assert error.line == 2 and error.column == len("ocean-blue-shirt,Oc") + 1
    assert "not UTF-8" in str(error)


def test_file_over_20_mb_is_refused(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: fast to create
    error = error_of(big)
    assert "the limit is 20 MB" in str(error)


def test_unterminated_quote_and_extra_cells(tmp_path):
    source = SHOPIFY / "apparel.csv"
    quote = write_variant(tmp_path, source, "Ocean Blue Shirt,", '"Ocean Blue Shirt,')
    error = error_of(quote)
    assert error.line == 2 and "malformed CSV" in str(error)
    extra = tmp_path / "extra.csv"
    extra.write_text("Handle,Title,Variant Price\r\na,A,1,surprise\r\n", "utf-8")
    error = error_of(extra)
    assert (error.line, error.column) == (2, 4)


def test_variation_parent_must_be_in_file(tmp_path):
    source = WOO / "sample_products.csv"
    broken = write_variant(tmp_path, source, ",woo-vneck-tee,,,,,,0,", ",woo-nope,,,,,,0,")
    error = error_of(broken)
    assert error.column_name == "Parent" and "'woo-nope' is not in this file" in str(error)


def test_parent_by_id(tmp_path):
    text = (WOO / "sample_products.csv").read_bytes().decode("utf-8")
    fixed = tmp_path / "ids.csv"
    fixed.write_bytes(text.replace(",woo-hoodie,,,,,,", ",id:45,,,,,,").encode("utf-8"))
    hoodie = {p.handle: p for p in parse_catalog(fixed, "USD").products}["woo-hoodie"]
    assert len(hoodie.variants) == 4


def test_any_value_with_tracked_stock_stays_one_variant(tmp_path):
    source = edit_cells(tmp_path, WOO / "sample_products.csv", ",woo-vneck-tee-red,", {"Stock": "7"})
    catalog = parse_catalog(source, "USD")
    vneck = {p.handle: p for p in catalog.products}["woo-vneck-tee"]
    red = [v for v in vneck.variants if v.options["Color"] == "Red"]
    assert [(v.sku, v.options, v.stock, v.track_inventory) for v in red] == [
        ("woo-vneck-tee-red", {"Color": "Red"}, 7, True)]
    assert len(vneck.variants) == 7
    assert "line 16: woo-vneck-tee-red: accepts any Size: imported without a Size value " \
           "(its stock is tracked)" in catalog.notes


# --------------------------------------------------------------------------- cells and HTML


def test_descriptions_are_sanitised(tmp_path):
    source = SHOPIFY / "home-and-garden.csv"
    evil = ('<p onclick="steal()">Clay pot<script>alert(1)</script>, '
            '<a href="javascript:alert(2)">x</a> <a href="https://shop.test/">ok</a></p>')
    broken = edit_cells(tmp_path, source, "clay-plant-pot,Clay", {"Body (HTML)": evil})
    pot = {p.handle: p for p in parse_catalog(broken, "USD").products}["clay-plant-pot"]
    html = pot.description_html
    assert "script" not in html and "alert" not in html and "onclick" not in html
    assert "javascript:" not in html
    assert '<a href="https://shop.test/" rel="noopener noreferrer nofollow">ok</a>' in html
    assert html.startswith("<p>Clay pot")


def test_sanitize_html_allow_list():
    assert sanitize_html('<img src="javascript:x" onerror="y()">') == "<img>"
    assert sanitize_html('<p style="color:red">a<style>p{}</style></p>') == "<p>a</p>"
    assert sanitize_html("a < b & c") == "a &lt; b &amp; c"


def test_woo_escaped_cells_and_sale_schedule(tmp_path):
    # "'-1" is how WooCommerce escapes -1 against spreadsheet formulas; the sale is dated.
    broken = edit_cells(tmp_path, WOO / "experimental_sample_9_products.csv", ",woo-belt,", {
        "Published": "'-1", "Date sale price starts": "2030-01-01",
        "Date sale price ends": "2030-01-31 23:59:59",
    })
    table = read_csv(broken)
    products = {p.handle: p for p in parse_woocommerce(table, "USD", today=date(2024, 6, 1)).products}
    belt = products["woo-belt"]
    assert (belt.status, belt.published) == ("draft", False)
    assert (belt.variants[0].price_cents, belt.variants[0].compare_at_cents) == (6500, None)
    in_sale = {p.handle: p for p in parse_woocommerce(table, "USD", today=date(2030, 1, 15)).products}
    assert in_sale["woo-belt"].variants[0].price_cents == 5500


@pytest.mark.parametrize(("text", "slug"), [
    ("V-Neck T-Shirt", "v-neck-t-shirt"),
    ("Woo-tshirt-logo", "woo-tshirt-logo"),
    ("Größe & Café", "grosse-cafe"),
    ("  --  ", ""),
    ("日本のシャツ", "日本のシャツ"),
])
def test_slugify(text, slug):
    assert slugify(text) == slug
