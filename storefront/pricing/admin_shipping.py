"""Shipping and tax admin services: zones (in the order they are tried) with their methods,
tax rates with the WooCommerce CSV upload, and the "prices include tax" setting.

Form services take the validated columns of a ``pricing.forms`` form and commit. Every read
is scoped to the signed-in merchant. Every change ends with ``forget_pricing_config
(company_id)``, so the drawer and checkout price with the new zones and rates at once
instead of after the cache's 30 seconds.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Select, func
from sqlalchemy.orm import selectinload
from werkzeug.utils import secure_filename

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.extensions import db
from storefront.pricing.context import forget_pricing_config
from storefront.pricing.models import ShippingMethod, ShippingZone, TaxRate
from storefront.pricing.tax_import import MAX_BYTES, TaxImportError, import_tax_rates

METHOD_LABELS = {"FLAT_RATE": "Flat rate", "PER_ITEM": "Per item", "WEIGHT_BASED": "By weight",
                 "PRICE_BASED": "By order value", "FREE": "Free shipping"}


def _changed(company_id: int) -> None:
    db.session.commit()
    forget_pricing_config(company_id)


# ----------------------------------------------------------------------------- zones


def zone_statements() -> tuple[Select, Select]:
    """(the merchant's zones in the order checkout tries them, methods loaded; their count).
    Page them with ``admin.kit.paginate``."""
    rows = scoped(ShippingZone).order_by(ShippingZone.position, ShippingZone.id).options(
        selectinload(ShippingZone.methods))
    return rows, scoped(ShippingZone, func.count(ShippingZone.id))


def create_zone(company: Company, fields: dict) -> ShippingZone:
    """A new zone from ``ZoneForm.fields()``, tried after the existing ones. Commits."""
    last = db.session.execute(scoped(ShippingZone, func.max(ShippingZone.position))).scalar()
    zone = ShippingZone(company_id=company.id, position=(last or 0) + 1, **fields)
    db.session.add(zone)
    _changed(company.id)
    return zone


def update_zone(zone: ShippingZone, fields: dict) -> ShippingZone:
    """Save the zone's name and regions (``ZoneForm.fields()``). Commits."""
    for key, value in fields.items():
        setattr(zone, key, value)
    _changed(zone.company_id)
    return zone


def move_zone(zone: ShippingZone, direction: str) -> bool:
    """Move the zone one place "up" (tried earlier) or "down". Positions are renumbered
    1..n in the current order first, so equal or missing positions cannot stall a move.
    Returns False at either end (or for another direction). Commits."""
    zones = list(db.session.execute(
        scoped(ShippingZone).order_by(ShippingZone.position, ShippingZone.id).with_for_update()).scalars())
    index = next(i for i, z in enumerate(zones) if z.id == zone.id)
    other = index - 1 if direction == "up" else index + 1 if direction == "down" else -1
    if not 0 <= other < len(zones):
        return False
    zones[index], zones[other] = zones[other], zones[index]
    for position, item in enumerate(zones, start=1):
        item.position = position
    _changed(zone.company_id)
    return True


def delete_zone(zone: ShippingZone) -> None:
    """Delete the zone and its methods (carts that chose one fall back to the cheapest). Commits."""
    db.session.delete(zone)
    _changed(zone.company_id)


# ----------------------------------------------------------------------------- methods


def add_method(zone: ShippingZone, fields: dict) -> ShippingMethod:
    """A new method (``MethodForm.fields()``) at the end of the zone's list. Commits."""
    method = ShippingMethod(company_id=zone.company_id, zone_id=zone.id,
                            position=max((m.position for m in zone.methods), default=-1) + 1, **fields)
    zone.methods.append(method)
    _changed(zone.company_id)
    return method


def update_method(method: ShippingMethod, fields: dict) -> ShippingMethod:
    """Save the method (``MethodForm.fields()``). Commits."""
    for key, value in fields.items():
        setattr(method, key, value)
    _changed(method.company_id)
    return method


def delete_method(method: ShippingMethod) -> None:
    """Delete the method (carts that chose it fall back to the cheapest). Commits."""
    # Through the zone's list (delete-orphan): the row goes and the loaded list stays current.
    method.zone.methods.remove(method)
    _changed(method.company_id)


# ----------------------------------------------------------------------------- tax rates


def tax_rate_statements() -> tuple[Select, Select]:
    """(the merchant's rates in the order checkout tries them: priority, then position; their
    count). Page them with ``admin.kit.paginate``."""
    rows = scoped(TaxRate).order_by(TaxRate.priority, TaxRate.position, TaxRate.id)
    return rows, scoped(TaxRate, func.count(TaxRate.id))


def create_tax_rate(company: Company, fields: dict) -> TaxRate:
    """A new rate (``TaxRateForm.fields()``), after the others of its priority. Commits."""
    last = db.session.execute(scoped(TaxRate, func.max(TaxRate.position))).scalar()
    rate = TaxRate(company_id=company.id, position=(last if last is not None else -1) + 1, **fields)
    db.session.add(rate)
    _changed(company.id)
    return rate


def update_tax_rate(rate: TaxRate, fields: dict) -> TaxRate:
    """Save the rate (``TaxRateForm.fields()``). Commits."""
    for key, value in fields.items():
        setattr(rate, key, value)
    _changed(rate.company_id)
    return rate


def delete_tax_rate(rate: TaxRate) -> None:
    """Delete the rate. Commits."""
    db.session.delete(rate)
    _changed(rate.company_id)


def import_tax_upload(company: Company, filename: str | None, stream) -> int:
    """Replace the merchant's rates with an uploaded WooCommerce tax CSV (at most 5 MB).

    The upload is copied under its own (sanitised) name to a private temporary folder, so
    errors name the merchant's file: "rates.csv, line 4, column 5 (Rate %): ...". Raises
    TaxImportError (nothing changes). Commits; returns how many rates were imported."""
    name = secure_filename(filename or "") or "tax_rates.csv"
    if not filename:
        raise TaxImportError("Choose a CSV file to upload.")
    with tempfile.TemporaryDirectory(prefix="tax-upload-") as folder:
        path = Path(folder) / name
        size = 0
        with path.open("wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise TaxImportError(f"{name}: file is larger than 5 MB")
                out.write(chunk)
        if size == 0:
            raise TaxImportError(f"{name}: the file is empty")
        return import_tax_rates(path, company)


def set_prices_include_tax(company: Company, include: bool) -> bool:
    """Set whether the merchant's prices include tax. Returns False when unchanged. Commits."""
    if company.prices_include_tax == include:
        return False
    company.prices_include_tax = include
    _changed(company.id)
    return True
