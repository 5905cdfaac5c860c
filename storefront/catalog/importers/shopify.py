"""Shopify product CSV -> ParsedCatalog.

Rows sharing a ``Handle`` are one product; its first row carries the product columns
(Title, Body (HTML), Vendor, Type, Tags, Published, Status, option names). Every row with
an option value, a SKU or a price is a variant; a row with only ``Image Src`` adds an image.

- **Handle**: the ``Handle`` column, normalised with slugify (Shopify handles already are).
- **Options**: ``Option1..3 Name``; the single option "Title" = "Default Title" means "no
  options" and becomes a variant with ``options == {}``.
- **Prices**: ``Variant Price`` is the price; ``Variant Compare At Price`` is kept only when
  higher (that is what "on sale" means).
- **Stock**: ``Variant Inventory Tracker`` empty = not tracked (always sellable); any
  tracker (``shopify``) = tracked with ``Variant Inventory Qty`` unless the policy is
  ``continue`` (keep selling at zero). The quantity is stored either way.
- **Status**: ``Status`` when present (active/draft/archived), else active;
  ``Published`` true/false (empty = true). Gift cards are imported as drafts: this shop
  cannot issue them.
"""
from __future__ import annotations

from storefront.catalog.importers.common import (
    MAX_STOCK,
    SHOPIFY,
    CsvRow,
    CsvTable,
    ParsedCatalog,
    ParsedImage,
    ParsedProduct,
    ParsedVariant,
    checked,
    image_url,
    parse_choice,
    parse_int,
    parse_price,
    sanitize_html,
    slugify,
    split_list,
)
from storefront.inputs import DB_INT_MAX

REQUIRED = ("Handle", "Title", "Variant Price")
_BOOL = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
_STATUS = {"active": "active", "draft": "draft", "archived": "archived"}
_POLICY = {"deny": False, "continue": True}
_VARIANT_COLUMNS = (
    "Option1 Value", "Option2 Value", "Option3 Value", "Variant SKU", "Variant Price",
)
_SHOPIFY_ONLY = frozenset({"categories", "short_description_html"})  # not in Shopify CSVs


def parse_shopify(table: CsvTable, currency: str) -> ParsedCatalog:
    """Parse a Shopify product table. Prices in minor units of ``currency``.
    Raises CatalogImportError for a missing column, bad value or duplicate SKU."""
    table.require(REQUIRED, "Shopify")
    groups: dict[str, list[CsvRow]] = {}
    for row in table.rows:
        raw = row.get("Handle")
        handle = slugify(raw)
        if not handle:
            raise row.error("Handle", "every row needs a Handle")
        checked(row, "Handle", handle, 255)
        groups.setdefault(handle, []).append(row)

    notes: list[str] = []
    products = [_product(handle, rows, currency, notes) for handle, rows in groups.items()]
    _check_unique_skus(table.rows)
    return ParsedCatalog(table.file, SHOPIFY, products, notes)


def _check_unique_skus(rows: list[CsvRow]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        sku = row.get("Variant SKU")
        if sku:
            if sku in seen:
                raise row.error("Variant SKU", f"duplicate SKU {sku!r} (also on line {seen[sku]})")
            seen[sku] = row.line


def _product(handle: str, rows: list[CsvRow], currency: str, notes: list[str]) -> ParsedProduct:
    first = rows[0]
    title = first.get("Title")
    if not title:
        raise first.error("Title", f"the first row of product {handle!r} needs a Title")
    status = parse_choice(first, "Status", _STATUS, "active")
    if parse_choice(first, "Gift Card", _BOOL, False):
        status = "draft"
        notes.append(f"line {first.line}: {handle}: gift card imported as a draft "
                     "(this shop cannot issue gift cards)")
    option_names = [
        checked(first, f"Option{i} Name", first.get(f"Option{i} Name"), 255)
        for i in (1, 2, 3) if first.get(f"Option{i} Name")
    ]
    product = ParsedProduct(
        line=first.line,
        handle=handle,
        title=checked(first, "Title", title, 255),
        description_html=sanitize_html(first.raw("Body (HTML)")),
        vendor=checked(first, "Vendor", first.get("Vendor"), 255) or None,
        product_type=checked(first, "Type", first.get("Type"), 255) or None,
        tags=[checked(first, "Tags", t, 100) for t in split_list(first.get("Tags"))],
        status=status,
        published=parse_choice(first, "Published", _BOOL, True),
        keep=_SHOPIFY_ONLY,
    )
    for row in rows:
        if any(row.get(c) for c in _VARIANT_COLUMNS):
            variant = _variant(row, option_names, currency, len(product.variants) + 1)
            if any(v.options == variant.options for v in product.variants):
                raise row.error("Option1 Value", f"another variant of {handle!r} has the same "
                                f"options {variant.options or 'none'}")
            product.variants.append(variant)
    defaults = all(v.options.get("Title") == "Default Title" for v in product.variants)
    if option_names == ["Title"] and defaults:
        option_names = []  # Shopify's way of writing "this product has no options"
        for v in product.variants:
            v.options, v.title = {}, "Default Title"
    product.option_names = option_names
    product.images = _images(rows, title)
    if not product.variants:
        product.status = "draft"
        notes.append(f"line {first.line}: {handle}: no variant rows: imported as a draft")
    return product


def _variant(row: CsvRow, option_names: list[str], currency: str, position: int) -> ParsedVariant:
    options: dict[str, str] = {}
    for i, name in enumerate(option_names, start=1):
        value = row.get(f"Option{i} Value")
        if not value:
            raise row.error(f"Option{i} Value", f"missing the value of option {name!r}")
        options[name] = checked(row, f"Option{i} Value", value, 255)
    price = parse_price(row, "Variant Price", currency)
    if price is None:
        raise row.error("Variant Price", "a variant needs a price")
    compare = parse_price(row, "Variant Compare At Price", currency)
    tracked = bool(row.get("Variant Inventory Tracker"))
    keep_selling = parse_choice(row, "Variant Inventory Policy", _POLICY, False)
    grams = parse_int(row, "Variant Grams", -DB_INT_MAX, DB_INT_MAX)
    if grams is not None and grams < 0:
        raise row.error("Variant Grams", "a weight cannot be negative")
    image = row.get("Variant Image")
    return ParsedVariant(
        line=row.line,
        sku=checked(row, "Variant SKU", row.get("Variant SKU"), 120) or None,
        title=" / ".join(options.values()) or "Default Title",
        options=options,
        price_cents=price,
        compare_at_cents=compare if compare is not None and compare > price else None,
        track_inventory=tracked and not keep_selling,
        stock=parse_int(row, "Variant Inventory Qty", -MAX_STOCK, MAX_STOCK) or 0,
        in_stock_flag=True,  # untracked means always sellable in Shopify
        grams=grams,
        image_src=image_url(row, "Variant Image", image) if image else None,
        position=position,
    )


def _images(rows: list[CsvRow], title: str) -> list[ParsedImage]:
    """Images of all rows, ordered by Image Position (rows without one keep file order
    after those with one), renumbered from 1; duplicates dropped."""
    found: list[tuple[int, int, str, str]] = []
    for order, row in enumerate(rows):
        src = row.get("Image Src")
        if src:
            position = parse_int(row, "Image Position")
            # Sample exports leave alt empty; the title describes the photo better than nothing.
            alt = row.get("Image Alt Text") or title
            found.append((position if position is not None else 10**9, order,
                          image_url(row, "Image Src", src), alt[:500]))
    images: list[ParsedImage] = []
    for _pos, _order, src, alt in sorted(found):
        if all(i.src != src for i in images):
            images.append(ParsedImage(src, alt, len(images) + 1))
    return images
