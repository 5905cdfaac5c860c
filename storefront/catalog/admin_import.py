"""Catalogue admin: the CSV import of a WooCommerce or Shopify product export. A dry run
for the preview, the real import on confirmation (public pages show the new prices and stock
at once: the landing pages' cache forgets them on commit), and the JSON-safe summary
of either that the upload screen stores and shows.

Storing the upload between preview and confirmation, and deleting it afterwards, is the
upload screen's job: see ``storefront.admin.product_import``.
"""
from __future__ import annotations

from pathlib import Path

from storefront.accounts.models import Company
from storefront.catalog.images import enqueue_image_fetches
from storefront.catalog.services import ImportReport, import_catalog

MAX_REPORT_LINES = 500  # changes shown in an import preview; the counts cover the rest


def preview_import(path: Path, company: Company, fmt: str | None) -> dict:
    """Dry-run the import of ``path`` (nothing is saved) and return its summary (see
    ``report_summary``). Raises CatalogImportError with file, line and column."""
    return report_summary(import_catalog(path, company, fmt, dry_run=True))


def run_import(path: Path, company: Company, fmt: str | None) -> dict:
    """Import ``path`` for real (one transaction) and return its summary, with
    ``images_queued``: the new remote images queued for fetching (see
    ``catalog.images.enqueue_image_fetches``). Raises CatalogImportError with nothing saved."""
    summary = report_summary(import_catalog(path, company, fmt, dry_run=False))
    summary["images_queued"] = enqueue_image_fetches(company.id)
    return summary


def report_summary(report: ImportReport) -> dict:
    """A JSON-safe summary of an ImportReport: the counts, the first MAX_REPORT_LINES
    changes as {line, action, subject, details}, how many more there are, and the notes."""
    changes = [{"line": c.line, "action": c.action, "subject": c.subject, "details": c.details}
               for c in report.changes[:MAX_REPORT_LINES]]
    counts = {name: getattr(report, name) for name in (
        "products_created", "products_updated", "products_unchanged",
        "variants_created", "variants_updated", "variants_unchanged")}
    return {"fmt": report.fmt, "dry_run": report.dry_run, "counts": counts, "changes": changes,
            "more": max(len(report.changes) - MAX_REPORT_LINES, 0),
            "notes": report.notes[:MAX_REPORT_LINES]}
