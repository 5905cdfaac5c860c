"""Shared parsing for catalogue imports: the CSV reader, format sniffing, cell parsers, HTML
sanitising and the parsed-row dataclasses that ``catalog.services`` writes to the database.

Nothing here touches the database, so every function is testable on plain files.
Errors are ``CatalogImportError`` naming the file, the 1-based physical line where the CSV
record starts (the header is line 1) and the 1-based column.
"""
from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import nh3

from storefront.inputs import DB_INT_MAX, InputError, bad_character
from storefront.inputs import parse_int as parse_ascii_int
from storefront.money import MoneyError, parse_amount

MAX_FILE_BYTES = 20 * 1024 * 1024  # 20 MB: larger catalogues are split, not streamed
WOOCOMMERCE = "woocommerce"
SHOPIFY = "shopify"
FORMATS = (WOOCOMMERCE, SHOPIFY)
T = TypeVar("T")

# Columns that identify each format; three hits are needed, so a Woo file that lost one
# required column is still recognised (and then reported as missing that column).
_MARKERS = {
    WOOCOMMERCE: ("Type", "SKU", "Name", "Regular price", "Sale price", "Parent", "In stock?"),
    SHOPIFY: ("Handle", "Title", "Body (HTML)", "Variant Price", "Variant SKU", "Option1 Name"),
}


class CatalogImportError(ValueError):
    """A file that cannot be imported. ``line``/``column`` are 1-based; None for whole-file
    problems (too large, unreadable). ``column_name`` is the header text when known."""

    def __init__(self, file: str, line: int | None, column: int | None, message: str,
                 column_name: str | None = None) -> None:
        self.file, self.line, self.column = file, line, column
        self.column_name, self.message = column_name, message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            named = f" ({self.column_name})" if self.column_name else ""
            where.append(f"column {self.column}{named}")
        return f"{', '.join(where)}: {self.message}"


@dataclass(frozen=True)
class CsvRow:
    """One CSV record: ``cells`` align with ``header`` (short rows are padded with "")."""

    file: str
    line: int
    header: tuple[str, ...]
    cells: tuple[str, ...]

    def raw(self, column: str) -> str:
        """The cell as written; "" when the file has no such column. Raises
        CatalogImportError for a control character other than tab and line breaks (cells
        may hold multi-line descriptions) or a lone surrogate (see ``storefront.inputs``)."""
        try:
            cell = self.cells[self.header.index(column)]
        except ValueError:
            return ""
        found = bad_character(cell, multiline=True)
        if found:
            raise self.error(column, f"contains {found}")
        return cell

    def get(self, column: str) -> str:
        """The cell without surrounding whitespace; "" when absent (checked as ``raw``)."""
        return self.raw(column).strip()

    def error(self, column: str | None, message: str) -> CatalogImportError:
        """An error at this row and ``column`` (a header name; None means column 1; a
        column the file lacks is placed just after the last one)."""
        if column is None:
            return CatalogImportError(self.file, self.line, 1, message)
        index = self.header.index(column) + 1 if column in self.header else len(self.header) + 1
        return CatalogImportError(self.file, self.line, index, message, column)


@dataclass(frozen=True)
class CsvTable:
    file: str
    header: tuple[str, ...]
    rows: list[CsvRow]

    def require(self, columns: tuple[str, ...], fmt: str) -> None:
        """Raise for the first of ``columns`` missing from the header (line 1)."""
        for name in columns:
            if name not in self.header:
                raise CatalogImportError(
                    self.file, 1, len(self.header) + 1,
                    f"missing required column {name!r} for a {fmt} product CSV",
                )


@dataclass
class ParsedImage:
    src: str
    alt: str
    position: int  # 1 is the main image


@dataclass
class ParsedVariant:
    """A sellable variant. Money in minor units of the company currency; grams or None."""

    line: int
    sku: str | None
    title: str
    options: dict[str, str]
    price_cents: int
    compare_at_cents: int | None
    track_inventory: bool
    stock: int
    in_stock_flag: bool
    grams: int | None = None
    image_src: str | None = None
    position: int = 1


@dataclass
class ParsedProduct:
    """A product as the file describes it. ``categories`` holds paths such as
    ("Clothing", "Tshirts"); ``keep`` names Product attributes this format does not carry,
    which an update must leave alone."""

    line: int
    handle: str
    title: str
    description_html: str = ""
    short_description_html: str = ""
    vendor: str | None = None
    product_type: str | None = None
    tags: list[str] = field(default_factory=list)
    option_names: list[str] = field(default_factory=list)
    status: str = "active"
    published: bool = True
    categories: list[tuple[str, ...]] = field(default_factory=list)
    images: list[ParsedImage] = field(default_factory=list)
    variants: list[ParsedVariant] = field(default_factory=list)
    keep: frozenset[str] = frozenset()


@dataclass
class ParsedCatalog:
    """A whole file, parsed and validated. ``notes`` are human-readable report lines."""

    file: str
    fmt: str
    products: list[ParsedProduct]
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- reading


def read_csv(path: str | Path) -> CsvTable:
    """Read a UTF-8 CSV (optional BOM, LF or CRLF, quoted multi-line cells) into a table.

    Raises CatalogImportError for a file over MAX_FILE_BYTES, an unreadable, empty or
    binary file, text that is not UTF-8, malformed quoting, duplicate header names, a row
    with more non-empty cells than the header, and a header without data rows.
    """
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_large(name, size)
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)  # the file may grow between stat and read
    except OSError as exc:
        raise CatalogImportError(name, None, None, f"cannot read the file: {exc.strerror}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(name, len(data))
    text = _decode(name, data)

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: tuple[str, ...] | None = None
    rows: list[CsvRow] = []
    next_line = 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # blank lines and all-empty rows (",,,") carry nothing
            if header is None:
                header = _header(name, line, cells)
                continue
            rows.append(_row(name, line, header, cells))
    except csv.Error as exc:  # reported where the broken record starts
        raise CatalogImportError(name, next_line, None, f"malformed CSV: {exc}") from exc
    if header is None:
        raise CatalogImportError(name, 1, 1, "the file is empty: no header row")
    if not rows:
        raise CatalogImportError(name, 2, 1, "the file has a header but no product rows")
    return CsvTable(name, header, rows)


def _too_large(name: str, size: int) -> CatalogImportError:
    return CatalogImportError(
        name, None, None,
        f"the file is {size / 1048576:.1f} MB; the limit is {MAX_FILE_BYTES // 1048576} MB "
        "(split the export into smaller files)",
    )


def _decode(name: str, data: bytes) -> str:
    """UTF-8 text without BOM; NUL bytes or invalid UTF-8 are reported where they are."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise CatalogImportError(name, 1, 1, "the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise CatalogImportError(name, line, col, "binary data (NUL byte): not a CSV text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise CatalogImportError(
            name, line, col,
            f"byte 0x{data[exc.start]:02x} is not UTF-8: export the file as 'CSV UTF-8'",
        ) from exc


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, character column) of byte ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def _header(name: str, line: int, cells: list[str]) -> tuple[str, ...]:
    header = tuple(c.strip() for c in cells)
    seen: dict[str, int] = {}
    for index, title in enumerate(header, start=1):
        if title and title in seen:
            raise CatalogImportError(
                name, line, index, f"duplicate column {title!r} (also column {seen[title]})", title
            )
        seen[title] = index
    return header


def _row(name: str, line: int, header: tuple[str, ...], cells: list[str]) -> CsvRow:
    width = len(header)
    if len(cells) > width:
        extra = [i for i in range(width, len(cells)) if cells[i].strip()]
        if extra:
            raise CatalogImportError(
                name, line, extra[0] + 1,
                f"the row has {len(cells)} cells but the header has {width}",
            )
        cells = cells[:width]  # trailing empty cells, as spreadsheets often add
    return CsvRow(name, line, header, tuple(cells) + ("",) * (width - len(cells)))


def sniff_format(table: CsvTable) -> str:
    """"woocommerce" or "shopify" from the header; raises CatalogImportError otherwise."""
    hits = {fmt: sum(c in table.header for c in cols) for fmt, cols in _MARKERS.items()}
    best = max(hits, key=lambda fmt: hits[fmt])
    if hits[best] < 3:
        raise CatalogImportError(
            table.file, 1, 1,
            "not a WooCommerce or Shopify product CSV (header starts "
            f"{', '.join(repr(h) for h in table.header[:4])})",
        )
    return best


# ---------------------------------------------------------------------------- cells

# Units on hand, either way (WooCommerce keeps selling into negative stock on backorder).
MAX_STOCK = 1_000_000_000

_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_price(row: CsvRow, column: str, currency: str) -> int | None:
    """A decimal price cell in minor units of ``currency``; None when empty.

    A comma is accepted only as a thousands separator ("1,250.00"): money.parse_amount
    would read the decimal comma of "19,99" as 1999, a silent 100x error.
    """
    text = row.get(column)
    if not text:
        return None
    if "," in text and not _THOUSANDS.match(text):
        raise row.error(column, f"not a price: {text!r} (use a dot for decimals)")
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        raise row.error(column, f"{exc}") from exc


def parse_int(row: CsvRow, column: str, low: int = -DB_INT_MAX, high: int = DB_INT_MAX) -> int | None:
    """A whole number from ``low`` to ``high`` (ASCII digits, sign allowed, "5.0" accepted);
    None when empty. Out of range is an error naming the range, never a database overflow."""
    text = row.get(column)
    if not text:
        return None
    match = re.fullmatch(r"([+-]?[0-9]+)(\.0*)?", text)
    if not match:
        raise row.error(column, f"not a whole number: {text[:40]!r}")
    try:
        return parse_ascii_int(match.group(1), low, high)
    except InputError as exc:
        raise row.error(column, f"out of range: {text[:40]!r} (from {low:,} to {high:,})") from exc


def parse_choice(
    row: CsvRow, column: str, choices: dict[str, T], default: T, text: str | None = None
) -> T:
    """Map the cell (or ``text``, a pre-processed form of it) through ``choices`` (keys in
    lower case); ``default`` when empty."""
    value = (row.get(column) if text is None else text).strip()
    if not value:
        return default
    if value.lower() not in choices:
        allowed = ", ".join(sorted(choices))
        raise row.error(column, f"unexpected value {value!r} (expected one of {allowed})")
    return choices[value.lower()]


def split_list(text: str, sep: str = ",") -> list[str]:
    """Split, strip and de-duplicate (keeping order); empty items are dropped."""
    out: list[str] = []
    for item in text.split(sep):
        item = html.unescape(item.strip())
        if item and item not in out:
            out.append(item)
    return out


def checked(row: CsvRow, column: str, value: str, limit: int) -> str:
    """``value`` unchanged, or an error when longer than the database column allows."""
    if len(value) > limit:
        raise row.error(column, f"too long: {len(value)} characters, at most {limit}")
    return value


def image_url(row: CsvRow, column: str, url: str) -> str:
    """An http(s) image URL; other schemes (javascript:, data:) are refused."""
    if not re.match(r"https?://", url, re.IGNORECASE):
        raise row.error(column, f"image URL must start with http:// or https://: {url[:80]!r}")
    return checked(row, column, url, 1000)


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by "-" ("T-Shirt Größe" -> "t-shirt-grosse"); falls back
    to Unicode word characters for scripts with no ASCII form. May return ""."""
    folded = text.replace("ß", "ss")
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if not slug:
        slug = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFKC", text).lower()).strip("-")
    return slug[:200].strip("-")


# ---------------------------------------------------------------------------- HTML

_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "div", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "u", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
_BLOCK = re.compile(r"<(p|div|ul|ol|table|h[1-6]|blockquote|pre|br)\b", re.IGNORECASE)


def sanitize_html(markup: str) -> str:
    """Imported HTML made safe to render: an allow-list of tags and attributes (no script,
    style, event handlers or inline CSS) and only http, https and mailto links."""
    return nh3.clean(
        markup,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def paragraphs(text: str) -> str:
    """WordPress-style auto-paragraphs: text without block markup becomes <p> per blank-line
    separated paragraph and <br> per single line break. Output still needs sanitize_html."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text or _BLOCK.search(text):
        return text
    parts = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in parts)
