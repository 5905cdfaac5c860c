"""Catalogue importers: WooCommerce and Shopify product CSVs -> ParsedCatalog (no database).

``parse_catalog`` is the entry point; ``catalog.services.import_catalog`` writes the result.
"""
from __future__ import annotations

from pathlib import Path

from storefront.catalog.importers.common import (
    FORMATS,
    MAX_FILE_BYTES,
    SHOPIFY,
    WOOCOMMERCE,
    CatalogImportError,
    ParsedCatalog,
    ParsedImage,
    ParsedProduct,
    ParsedVariant,
    read_csv,
    sniff_format,
)
from storefront.catalog.importers.shopify import parse_shopify
from storefront.catalog.importers.woocommerce import parse_woocommerce

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "SHOPIFY",
    "WOOCOMMERCE",
    "CatalogImportError",
    "ParsedCatalog",
    "ParsedImage",
    "ParsedProduct",
    "ParsedVariant",
    "parse_catalog",
]


def parse_catalog(path: str | Path, currency: str, fmt: str | None = None) -> ParsedCatalog:
    """Read and validate a product CSV. ``fmt`` is "woocommerce", "shopify" or None to sniff
    it from the header. Prices come out in minor units of ``currency`` (ISO 4217).

    Raises CatalogImportError (file, line, column) for any problem; nothing is half-parsed.
    """
    table = read_csv(path)
    if fmt is None:
        fmt = sniff_format(table)
    elif fmt not in FORMATS:
        raise CatalogImportError(
            table.file, None, None, f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}"
        )
    if fmt == WOOCOMMERCE:
        return parse_woocommerce(table, currency)
    return parse_shopify(table, currency)
