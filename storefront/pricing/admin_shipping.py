"""Shipping and tax admin services: zones (in the order they are tried) with their methods,
tax rates with the WooCommerce CSV upload, and the "prices include tax" setting.

Form services validate the whole form and either commit or raise ``FormError`` (nothing
saved, what was typed kept). Every read is scoped to the signed-in merchant. Every change
ends with ``forget_pricing_config(company_id)``, so the drawer and checkout price with the
new zones and rates at once instead of after the cache's 30 seconds.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.orm import selectinload
from werkzeug.utils import secure_filename

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.countries import CHECKOUT_CODES, CHECKOUT_COUNTRIES, COUNTRY_NAMES
from storefront.extensions import db
from storefront.pricing.context import forget_pricing_config
from storefront.pricing.form_values import Reader, amount_text, percent_text
from storefront.pricing.models import SHIPPING_RULE_TYPES, ShippingMethod, ShippingZone, TaxRate
from storefront.pricing.tax_import import MAX_BYTES, TaxImportError, import_tax_rates

COMMON_COUNTRIES = CHECKOUT_COUNTRIES
COMMON_CODES = CHECKOUT_CODES
METHOD_LABELS = {"FLAT_RATE": "Flat rate", "PER_ITEM": "Per item", "WEIGHT_BASED": "By weight",
                 "PRICE_BASED": "By order value", "FREE": "Free shipping"}
TIER_ROWS = 6
# Input name -> what the error summary calls it.
METHOD_FIELD_LABELS = {"name": "Name", "type": "Type", "amount": "Cost", "per_kg": "Cost per kg",
                       "free_above": "Free from order value",
                       **{f"tier_min_{row}": f"Tier {row + 1}: from order value" for row in range(TIER_ROWS)},
                       **{f"tier_cost_{row}": f"Tier {row + 1}: cost" for row in range(TIER_ROWS)}}
_STATE = re.compile(r"([A-Z]{2}):([A-Z0-9-]{1,10})")
_POSTCODE = re.compile(r"[A-Z0-9 -]{1,20}\*?|\*")
_RANGE = re.compile(r"(\d{1,10})\.\.\.(\d{1,10})")
_TAX_STATE = re.compile(r"[A-Z0-9 -]{0,32}")


def _changed(company_id: int) -> None:
    db.session.commit()
    forget_pricing_config(company_id)


# ----------------------------------------------------------------------------- zones


def list_zones() -> list[ShippingZone]:
    """The merchant's zones in the order checkout tries them, methods loaded (2 queries)."""
    return list(db.session.execute(
        scoped(ShippingZone).order_by(ShippingZone.position, ShippingZone.id).options(selectinload(ShippingZone.methods))
    ).scalars())


def zone_values(zone: ShippingZone | None) -> dict:
    """The zone form's values (common countries as checkboxes, the rest typed)."""
    if zone is None:
        return {"name": "", "countries": [], "other_countries": "", "states": "", "postcodes": ""}
    codes = list(zone.countries or ())
    return {"name": zone.name, "countries": [c for c in codes if c in COMMON_CODES],
            "other_countries": ", ".join(c for c in codes if c not in COMMON_CODES),
            "states": "\n".join(zone.states or ()), "postcodes": "\n".join(zone.postcodes or ())}


def _postcode_ok(pattern: str) -> bool:
    ranged = _RANGE.fullmatch(pattern)
    if ranged:
        return int(ranged.group(1)) <= int(ranged.group(2))
    return bool(_POSTCODE.fullmatch(pattern))


def _read_postcodes(r: Reader, name: str) -> list[str]:
    patterns = [p.upper() for p in r.lines(name, "Postcodes", 1000, 40)]
    bad = [p for p in patterns if not _postcode_ok(p)]
    if bad and name not in r.errors:
        r.errors[name] = (f"Not a postcode pattern: {bad[0][:40]}. Use a code (90210), a prefix ending in * (902*) "
                          "or a range (90000...90999).")
    return patterns


def _read_zone(form, company: Company) -> dict:
    r = Reader(form, company)
    name = r.text("name", "Name", 100, required=True)
    checked = [c.strip().upper() for c in form.getlist("countries") if c.strip()][:300]
    r.values["countries"] = checked
    typed = [c.upper() for c in re.split(r"[\s,;]+", r.raw("other_countries")) if c]
    codes = list(dict.fromkeys(checked + typed))
    unknown = [c for c in codes if c not in COUNTRY_NAMES]
    if len(codes) > 300:
        r.errors["other_countries"] = "At most 300 countries in a zone."
    elif unknown:
        r.errors["other_countries"] = f"Unknown country code: {unknown[0][:10]}. Use ISO two-letter codes, like DE or JP."
    states = [s.upper().replace(" ", "") for s in r.lines("states", "States", 500, 13)]
    for state in states:
        match = _STATE.fullmatch(state)
        if not match or match.group(1) not in COUNTRY_NAMES:
            r.errors.setdefault("states", f"Not a state: {state[:20]}. Write the country code, a colon and the "
                                          "state code, one per line, like US:CA.")
        elif codes and match.group(1) not in codes:
            r.errors.setdefault("states", f"{state} is in {match.group(1)}, which is not among this zone's "
                                          "countries: add it, or leave the countries empty.")
    postcodes = _read_postcodes(r, "postcodes")
    r.done()
    return {"name": name, "countries": codes, "states": states, "postcodes": postcodes}


def create_zone(company: Company, form) -> ShippingZone:
    """A new zone, tried after the existing ones. Raises FormError. Commits."""
    fields = _read_zone(form, company)
    last = db.session.execute(scoped(ShippingZone, func.max(ShippingZone.position))).scalar()
    zone = ShippingZone(company_id=company.id, position=(last or 0) + 1, **fields)
    db.session.add(zone)
    _changed(company.id)
    return zone


def update_zone(zone: ShippingZone, company: Company, form) -> ShippingZone:
    """Save the zone's name and regions. Raises FormError. Commits."""
    for key, value in _read_zone(form, company).items():
        setattr(zone, key, value)
    _changed(company.id)
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


def method_values(method: ShippingMethod | None, currency: str) -> dict:
    """The method form's values, money as decimals; tiers as rows tier_min_N / tier_cost_N."""
    if method is None:
        values = {"name": "", "type": "FLAT_RATE", "amount": "", "per_kg": "", "free_above": "", "active": True}
        tiers = []
    else:
        values = {"name": method.name, "type": method.type, "active": method.active,
                  "amount": amount_text(method.amount_cents, currency) if method.type != "FREE" else "",
                  "per_kg": amount_text(method.per_kg_cents, currency) if method.type == "WEIGHT_BASED" else "",
                  "free_above": amount_text(method.free_above_cents, currency) if method.type == "FREE" else ""}
        tiers = sorted(method.tiers or ()) if method.type == "PRICE_BASED" else []
    for row in range(TIER_ROWS):
        low, cost = tiers[row] if row < len(tiers) else (None, None)
        values[f"tier_min_{row}"], values[f"tier_cost_{row}"] = amount_text(low, currency), amount_text(cost, currency)
    return values


def _read_method(form, company: Company) -> dict:
    r = Reader(form, company)
    fields = {"name": r.text("name", "Name", 100, required=True), "type": r.choice("type", "Type", SHIPPING_RULE_TYPES),
              "amount_cents": 0, "per_kg_cents": 0, "free_above_cents": 0, "tiers": [], "active": r.flag("active")}
    kind = fields["type"]
    if kind in ("FLAT_RATE", "PER_ITEM"):
        fields["amount_cents"] = r.money("amount", "Cost", required=True) or 0
    elif kind == "WEIGHT_BASED":
        fields["amount_cents"] = r.money("amount", "Base cost") or 0
        fields["per_kg_cents"] = r.money("per_kg", "Cost per kg", required=True) or 0
    elif kind == "PRICE_BASED":
        fields["amount_cents"] = r.money("amount", "Cost below the first tier") or 0
        tiers: dict[int, int] = {}
        for row in range(TIER_ROWS):
            low_name, cost_name = f"tier_min_{row}", f"tier_cost_{row}"
            low, cost = r.money(low_name, "Order value from"), r.money(cost_name, "Cost")
            if (low is None) != (cost is None) and low_name not in r.errors and cost_name not in r.errors:
                r.errors[cost_name if low is not None else low_name] = "Fill in both the order value and its cost."
            elif low is not None and cost is not None:
                if low in tiers:
                    r.errors[low_name] = "Two tiers start at the same order value."
                tiers[low] = cost
        if not tiers and not any(k.startswith("tier_") for k in r.errors):
            r.errors["tier_min_0"] = "Add at least one tier: from which order value, at what cost."
        fields["tiers"] = [[low, cost] for low, cost in sorted(tiers.items())]
    elif kind == "FREE":
        fields["free_above_cents"] = r.money("free_above", "Free from order value") or 0
    r.values = {**method_values(None, company.currency), **{k: form.get(k, "")[:2000] for k in form if k != "csrf_token"},
                **r.values}
    r.done()
    return fields


def add_method(zone: ShippingZone, company: Company, form) -> ShippingMethod:
    """A new method at the end of the zone's list. Raises FormError. Commits."""
    fields = _read_method(form, company)
    method = ShippingMethod(company_id=company.id, zone_id=zone.id,
                            position=max((m.position for m in zone.methods), default=-1) + 1, **fields)
    zone.methods.append(method)
    _changed(company.id)
    return method


def update_method(method: ShippingMethod, company: Company, form) -> ShippingMethod:
    """Save the method. Raises FormError. Commits."""
    for key, value in _read_method(form, company).items():
        setattr(method, key, value)
    _changed(company.id)
    return method


def delete_method(method: ShippingMethod) -> None:
    """Delete the method (carts that chose it fall back to the cheapest). Commits."""
    # Through the zone's list (delete-orphan): the row goes and the loaded list stays current.
    method.zone.methods.remove(method)
    _changed(method.company_id)


# ----------------------------------------------------------------------------- tax rates


def list_tax_rates() -> list[TaxRate]:
    """The merchant's rates in the order checkout tries them: priority, then position."""
    return list(db.session.execute(
        scoped(TaxRate).order_by(TaxRate.priority, TaxRate.position, TaxRate.id)
    ).scalars())


def tax_values(rate: TaxRate | None) -> dict:
    """The tax form's values; the rate as a percentage with up to 4 decimals."""
    if rate is None:
        return {"country": "", "state": "", "postcodes": "", "cities": "", "rate": "", "name": "Tax",
                "priority": "1", "compound": False, "applies_to_shipping": True, "tax_class": ""}
    return {"country": rate.country, "state": rate.state, "postcodes": "\n".join(rate.postcodes or ()),
            "cities": "\n".join(rate.cities or ()), "rate": percent_text(rate.rate_micro, 4), "name": rate.name,
            "priority": str(rate.priority), "compound": rate.compound,
            "applies_to_shipping": rate.applies_to_shipping, "tax_class": rate.tax_class}


def _read_tax(form, company: Company) -> dict:
    r = Reader(form, company)
    country = r.text("country", "Country", 2).upper()
    country = "" if country == "*" else country
    r.values["country"] = r.values["country"].upper()
    if country and country not in COUNTRY_NAMES:
        r.errors["country"] = "Unknown country code: use an ISO two-letter code like US or DE, or leave empty for any."
    state = r.text("state", "State", 32).upper()
    state = "" if state == "*" else state
    if "state" not in r.errors and not _TAX_STATE.fullmatch(state):
        r.errors["state"] = "Use the state's code, like CA, or leave empty for any."
    fields = {
        "country": country, "state": state, "postcodes": _read_postcodes(r, "postcodes"),
        "cities": [c.upper() for c in r.lines("cities", "Cities", 500, 100)],
        "rate_micro": r.percent("rate", "Rate", required=True, decimals=4, allow_zero=True),
        "name": r.text("name", "Name", 100) or "Tax",
        "priority": r.whole("priority", "Priority", 1, 99) or 1,
        "compound": r.flag("compound"), "applies_to_shipping": r.flag("applies_to_shipping"),
        "tax_class": r.text("tax_class", "Tax class", 64),
    }
    r.done()
    return fields


def create_tax_rate(company: Company, form) -> TaxRate:
    """A new rate, after the others of its priority. Raises FormError. Commits."""
    fields = _read_tax(form, company)
    last = db.session.execute(scoped(TaxRate, func.max(TaxRate.position))).scalar()
    rate = TaxRate(company_id=company.id, position=(last if last is not None else -1) + 1, **fields)
    db.session.add(rate)
    _changed(company.id)
    return rate


def update_tax_rate(rate: TaxRate, company: Company, form) -> TaxRate:
    """Save the rate. Raises FormError. Commits."""
    for key, value in _read_tax(form, company).items():
        setattr(rate, key, value)
    _changed(company.id)
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
