"""WooCommerce product CSV (the format of WooCommerce's built-in exporter) -> ParsedCatalog.

Rules, each also explained to the merchant through a report note where it applies:

- **Handle**: slug of the SKU ("Woo-tshirt-logo" -> "woo-tshirt-logo"), else slug of the
  Name. SKUs are stable across renames, names are not, so the SKU wins.
- **simple**: one variant (SKU = the row's SKU) with no options. Attributes of a simple
  product (e.g. "Color: Gray") describe it and are not choices, so they are not imported.
- **variable**: no variant of its own; each ``variation`` row becomes a variant, attached
  through ``Parent`` (the parent's SKU, or ``id:NN`` = the ``ID`` column) of a row in the
  same file. A variable row without variation rows but with
  a price (the fashion sample does this) gets one variant from its own price and stock.
  A variation accepting "any" value of an attribute becomes one variant per value the
  parent lists (SKU "<sku>-<value>"), unless its stock is tracked (stock cannot be split).
- **grouped** (no price of its own; members are separate rows), **external** (sold on
  another site) and **downloadable** (we cannot deliver files) are imported as drafts so
  nothing undeliverable goes on sale; external and downloadable keep their price variant.
- **Prices**: ``Sale price`` -> price, with ``Regular price`` as compare-at; a sale whose
  dates exclude today is ignored. A row without any price gets no variant (and a product
  without variants is a draft): a missing price must never become a free item.
- **Stock**: empty ``Stock`` = not tracked (``In stock?`` decides); a number = tracked,
  unless backorders are allowed (then "continue selling").
- **Published**: 1 = active and published, 0 (private) = active but hidden, -1 = draft.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from storefront.catalog.importers.common import (
    MAX_STOCK,
    WOOCOMMERCE,
    CsvRow,
    CsvTable,
    ParsedCatalog,
    ParsedImage,
    ParsedProduct,
    ParsedVariant,
    checked,
    image_url,
    paragraphs,
    parse_choice,
    parse_int,
    parse_price,
    sanitize_html,
    slugify,
    split_list,
)
from storefront.inputs import DB_INT_MAX

REQUIRED = ("Type", "SKU", "Name", "Regular price")
_BASE_TYPES = ("simple", "variable", "variation", "grouped", "external")
_FLAGS = ("downloadable", "virtual")
_PUBLISHED = {"1": ("active", True), "0": ("active", False), "-1": ("draft", False)}
_IN_STOCK = {
    "1": True, "yes": True, "true": True, "instock": True, "backorder": True,
    "onbackorder": True, "0": False, "no": False, "false": False, "outofstock": False,
}
_BACKORDERS = {"0": False, "no": False, "1": True, "yes": True, "notify": True}
_LB, _OZ = Decimal("453.59237"), Decimal("28.349523125")
_GRAMS_PER = {"g": Decimal(1), "kg": Decimal(1000), "lbs": _LB, "lb": _LB, "oz": _OZ}
_WOO_ONLY = frozenset({"vendor", "product_type"})  # Woo has neither: keep what is there
_DRAFT_KINDS = {  # types this shop cannot sell: imported, but never on sale by surprise
    "grouped": "grouped product: imported as a draft without a price (its members are "
    "products of their own)",
    "external": "external product (sold on another site): imported as a draft, this shop "
    "cannot sell it",
    "downloadable": "downloadable product: download files are not imported and this shop cannot "
    "deliver them, so it is imported as a draft",
}


@dataclass
class _Row:
    row: CsvRow
    base: str
    flags: frozenset[str]
    sku: str | None


@dataclass
class _Ctx:
    currency: str
    today: date
    weight_column: str | None
    skus: set[str] = field(default_factory=set)  # every SKU in the file, generated ones too
    notes: list[tuple[int, str]] = field(default_factory=list)

    def note(self, row: CsvRow, label: str, message: str) -> None:
        self.notes.append((row.line, f"line {row.line}: {label}: {message}"))


def parse_woocommerce(table: CsvTable, currency: str, today: date | None = None) -> ParsedCatalog:
    """Parse a WooCommerce product table. Prices in minor units of ``currency``; ``today``
    (UTC date) decides whether scheduled sales apply. Raises CatalogImportError."""
    table.require(REQUIRED, "WooCommerce")
    ctx = _Ctx(currency, today or datetime.now(UTC).date(),
               next((h for h in table.header if re.fullmatch(r"Weight \(\w+\)", h)), None))
    rows = [_classify(row) for row in table.rows]
    _check_unique_skus(rows, ctx.skus)

    owners = [(r, _product(ctx, r)) for r in rows if r.base != "variation"]
    _check_unique_handles(owners)
    by_sku = {r.sku: (r, p) for r, p in owners if r.sku}
    by_id = {r.row.get("ID"): (r, p) for r, p in owners if r.row.get("ID")}

    for r in rows:
        if r.base == "variation":
            parent, product = _parent(r, by_sku, by_id)
            _attach_variation(ctx, r, parent, product)

    for r, product in owners:
        if r.base != "variable":
            continue
        product.variants.sort(key=lambda v: v.position)  # Woo menu order; stable for ties
        for position, variant in enumerate(product.variants, start=1):
            variant.position = position
        if not product.variants:
            _variable_without_variations(ctx, r, product)
    notes = [text for _line, text in sorted(ctx.notes, key=lambda n: n[0])]
    return ParsedCatalog(table.file, WOOCOMMERCE, [p for _r, p in owners], notes)


def _cell(row: CsvRow, column: str) -> str:
    """A cell with WooCommerce's CSV-injection escape undone ("'-1" was exported for -1)."""
    text = row.get(column)
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in "=+-@" else text


def _classify(row: CsvRow) -> _Row:
    parts = [p.strip().lower() for p in row.get("Type").split(",") if p.strip()]
    bases = [p for p in parts if p in _BASE_TYPES]
    unknown = [p for p in parts if p not in _BASE_TYPES and p not in _FLAGS]
    if unknown or len(bases) > 1 or (parts and not bases):
        raise row.error("Type", f"unknown product type {row.get('Type')!r}")
    if not bases:
        raise row.error("Type", "empty Type (simple, variable, variation, grouped or external)")
    sku = row.get("SKU") or None
    if sku is not None:
        checked(row, "SKU", sku, 120)
    return _Row(row, bases[0], frozenset(p for p in parts if p in _FLAGS), sku)


def _check_unique_skus(rows: list[_Row], skus: set[str]) -> None:
    seen: dict[str, int] = {}
    for r in rows:
        if r.sku is not None:
            if r.sku in seen:
                raise r.row.error("SKU", f"duplicate SKU {r.sku!r} (also on line {seen[r.sku]})")
            seen[r.sku] = r.row.line
    skus.update(seen)


def _check_unique_handles(owners: list[tuple[_Row, ParsedProduct]]) -> None:
    seen: dict[str, int] = {}
    for r, product in owners:
        if product.handle in seen:
            raise r.row.error("SKU" if r.sku else "Name", f"handle {product.handle!r} is also "
                              f"made by line {seen[product.handle]}: use distinct SKUs or names")
        seen[product.handle] = r.row.line


def _product(ctx: _Ctx, r: _Row) -> ParsedProduct:
    row = r.row
    status, published = parse_choice(
        row, "Published", _PUBLISHED, ("active", True), _cell(row, "Published")
    )
    name = row.get("Name")
    handle = slugify(r.sku) if r.sku else slugify(name)
    if not handle:
        raise row.error("SKU" if r.sku else "Name", "a product needs a SKU or a Name")
    title = checked(row, "Name", name or (r.sku or ""), 255)
    urls = split_list(_cell(row, "Images"))
    product = ParsedProduct(
        line=row.line,
        handle=handle,
        title=title,
        description_html=_html(row, "Description"),
        short_description_html=_html(row, "Short description"),
        tags=[checked(row, "Tags", t, 100) for t in split_list(_cell(row, "Tags"))],
        status=status,
        published=published,
        categories=_categories(row),
        # The Woo CSV carries no alt text: the product name is the honest description.
        images=[ParsedImage(image_url(row, "Images", u), title[:500], n)
                for n, u in enumerate(urls, start=1)],
        keep=_WOO_ONLY,
    )
    label = r.sku or handle
    if r.base in ("simple", "external"):
        variant = _variant(ctx, row, r.sku, _grams(ctx, row), None)
        if variant is None:
            product.status = "draft"
            ctx.note(row, label, "no price: imported as a draft without a variant")
        else:
            product.variants.append(variant)
    for kind in (r.base, *sorted(r.flags)):
        if kind in _DRAFT_KINDS:
            product.status = "draft"
            ctx.note(row, label, _DRAFT_KINDS[kind])
    return product


def _html(row: CsvRow, column: str) -> str:
    # WooCommerce's importer turns a literal "\n" back into a line break; so do we.
    return sanitize_html(paragraphs(_cell(row, column).replace("\\n", "\n")))


def _categories(row: CsvRow) -> list[tuple[str, ...]]:
    """"Clothing > Tshirts, Decor" -> [("Clothing", "Tshirts"), ("Decor",)]; "\\," is a comma."""
    paths: list[tuple[str, ...]] = []
    for entry in re.split(r"(?<!\\),", _cell(row, "Categories")):
        path = tuple(
            checked(row, "Categories", name, 200)
            for name in split_list(entry.replace("\\,", ","), ">")
        )
        if path and path not in paths:
            paths.append(path)
    return paths


def _parent(
    r: _Row,
    by_sku: dict[str, tuple[_Row, ParsedProduct]],
    by_id: dict[str, tuple[_Row, ParsedProduct]],
) -> tuple[_Row, ParsedProduct]:
    """The variable (row, product) a variation's ``Parent`` (SKU or id:NN) names in this file."""
    ref = _cell(r.row, "Parent")
    if not ref:
        raise r.row.error("Parent", "a variation needs its parent's SKU (or id:NN) in Parent")
    if ref.lower().startswith("id:"):
        hit = by_id.get(ref[3:].strip())
    else:
        hit = by_sku.get(ref)
    if hit is None:
        # Parents are looked up in the file only: variations travel with their product.
        raise r.row.error("Parent", f"parent {ref!r} is not in this file (SKUs are case-sensitive)")
    if hit[0].base != "variable":
        raise r.row.error("Parent", f"parent {ref!r} is a {hit[0].base} product, not variable")
    return hit


def _attach_variation(ctx: _Ctx, r: _Row, parent: _Row, product: ParsedProduct) -> None:
    """Add the variation's variant(s) to ``product``, and its attributes to the option names.

    A variation that accepts "any" value of an attribute (empty value) is expanded into one
    variant per value the parent lists, with SKUs "<sku>-<value slug>", so the shopper can
    still choose it. Tracked stock cannot be split, so such a variation stays one variant.
    """
    row, label = r.row, r.sku or product.handle
    attributes = _attributes(row)
    for _column, name, _value in attributes:
        if name not in product.option_names:
            product.option_names.append(name)
    grams = _grams(ctx, row)
    if grams is None:
        grams = _grams(ctx, parent.row)  # variations inherit the parent's weight, as in Woo
    images = split_list(_cell(row, "Images"))
    image = image_url(row, "Images", images[0]) if images else None
    variant = _variant(ctx, row, r.sku, grams, image)
    if variant is None:
        ctx.note(row, label, "variation without a price: skipped (WooCommerce cannot sell it)")
        return
    variant.position = parse_int(row, "Position", -DB_INT_MAX, DB_INT_MAX) or 0  # sort key until renumbered

    choices: list[list[tuple[str, str, bool]]] = []  # per attribute: (name, value, expanded)
    for column, name, value in attributes:
        if value:
            choices.append([(name, checked(row, column, value, 255), False)])
            continue
        offered = _parent_values(parent, name)
        if not offered or variant.track_inventory:
            why = "its stock is tracked" if offered else "the parent lists no values"
            ctx.note(row, label, f"accepts any {name}: imported without a {name} value ({why})")
            continue
        choices.append([(name, v, True) for v in offered])
    combos = list(itertools.product(*choices))
    for combo in combos:
        options = {name: value for name, value, _expanded in combo}
        suffix = [slugify(value) for _name, value, expanded in combo if expanded]
        sku = "-".join([r.sku, *suffix]) if r.sku and suffix else r.sku
        if sku != r.sku:
            if sku in ctx.skus:
                raise row.error("SKU", f"expanding {r.sku!r} makes SKU {sku!r}, already used")
            ctx.skus.add(checked(row, "SKU", sku, 120))
        if any(v.options == options for v in product.variants):
            raise row.error("Attribute 1 value(s)", f"another variation of {product.handle!r} "
                            f"has the same options {options or 'none'}")
        title = " / ".join(options.values()) or "Default Title"
        product.variants.append(replace(variant, sku=sku, options=options, title=title))
    if len(combos) > 1:
        skus = ", ".join(v.sku or v.title for v in product.variants[-len(combos):])
        ctx.note(row, label, f"accepts any value of an option: {len(combos)} variants ({skus})")


def _parent_values(parent: _Row, name: str) -> list[str]:
    """The values the variable parent lists for attribute ``name`` ([] when none)."""
    for _column, parent_name, value in _attributes(parent.row):
        if parent_name == name:
            return split_list(value)
    return []


def _attributes(row: CsvRow) -> list[tuple[str, str, str]]:
    """(value column, name, value) of each named "Attribute N name" column, in N order."""
    numbers = sorted(
        int(m.group(1)) for h in row.header if (m := re.fullmatch(r"Attribute (\d+) name", h))
    )
    out = []
    for n in numbers:
        name = _cell(row, f"Attribute {n} name")
        if name:
            column = f"Attribute {n} value(s)"
            out.append((column, name, _cell(row, column)))
    return out


def _variable_without_variations(ctx: _Ctx, r: _Row, product: ParsedProduct) -> None:
    variant = _variant(ctx, r.row, r.sku, _grams(ctx, r.row), None)
    label = r.sku or product.handle
    if variant is None:
        ctx.note(r.row, label, "variable product without variation rows in this file: "
                 "it keeps the variants it already has (a new one is a draft)")
        return
    product.variants.append(variant)
    ctx.note(r.row, label, "variable product without variation rows: imported with one variant "
             "from its own price and stock; its attributes are not choices here")


def _variant(
    ctx: _Ctx, row: CsvRow, sku: str | None, grams: int | None, image: str | None
) -> ParsedVariant | None:
    """The row's price and stock as a variant; None when the row has no price at all."""
    regular = parse_price(row, "Regular price", ctx.currency)
    sale = parse_price(row, "Sale price", ctx.currency)
    if sale is not None and not _sale_running(ctx, row):
        ctx.note(row, sku or row.get("Name"), "the sale is for other dates: regular price used")
        sale = None
    if sale is None and regular is None:
        return None
    price = sale if sale is not None else regular
    compare = regular if sale is not None and regular is not None and regular > sale else None
    in_stock = parse_choice(row, "In stock?", _IN_STOCK, True)
    backorders = parse_choice(row, "Backorders allowed?", _BACKORDERS, False)
    quantity = parse_int(row, "Stock", -MAX_STOCK, MAX_STOCK)
    return ParsedVariant(
        line=row.line,
        sku=sku,
        title="Default Title",
        options={},
        price_cents=price,
        compare_at_cents=compare,
        # Empty Stock: WooCommerce does not manage it. Backorders: keep selling past zero.
        track_inventory=quantity is not None and not backorders,
        stock=quantity or 0,
        in_stock_flag=in_stock or backorders,
        grams=grams,
        image_src=image,
    )


def _sale_running(ctx: _Ctx, row: CsvRow) -> bool:
    starts = _date(row, "Date sale price starts")
    ends = _date(row, "Date sale price ends")
    return (starts is None or starts <= ctx.today) and (ends is None or ctx.today <= ends)


def _date(row: CsvRow, column: str) -> date | None:
    text = _cell(row, column)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise row.error(column, f"not a date (YYYY-MM-DD): {text!r}") from exc


def _grams(ctx: _Ctx, row: CsvRow) -> int | None:
    """Weight in whole grams from "Weight (lbs|kg|g|oz)"; None when empty or unit unknown."""
    column = ctx.weight_column
    text = _cell(row, column) if column else ""
    unit = column[len("Weight ("):-1].lower() if column else ""
    if not text or unit not in _GRAMS_PER:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0:
        raise row.error(column, f"not a weight: {text[:40]!r}")
    grams = (value * _GRAMS_PER[unit]).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if grams > DB_INT_MAX:
        raise row.error(column, f"weight out of range: {text[:40]!r}")
    return int(grams)
