"""The checkout form's fields and their validation (email-validator, phonenumbers).

Each field is validated alone, so progressive capture can save it the moment the shopper
leaves it. Values are normalised: emails lower-cased in the domain, phones in E.164.
"""
from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from storefront.countries import CHECKOUT_CODES

# (name, label, group, required, max length); order is the form's order.
FIELDS: tuple[tuple[str, str, str, bool, int], ...] = (
    ("email", "Email", "customer", True, 254),
    ("phone", "Phone", "customer", False, 32),
    ("first_name", "First name", "customer", True, 100),
    ("last_name", "Last name", "customer", True, 100),
    ("address1", "Address", "shipping", True, 200),
    ("address2", "Apartment, suite (optional)", "shipping", False, 200),
    ("city", "City", "shipping", True, 100),
    ("postcode", "ZIP / postcode", "shipping", True, 20),
    ("country", "Country", "shipping", True, 2),
)
FIELD_NAMES = tuple(f[0] for f in FIELDS)
REQUIRED = frozenset(f[0] for f in FIELDS if f[3])
MAX_LENGTH = {f[0]: f[4] for f in FIELDS}
LABELS = {f[0]: f[1] for f in FIELDS}
GROUPS = {f[0]: f[2] for f in FIELDS}


@dataclass(frozen=True)
class FieldResult:
    """A validated field: ``value`` normalised (or as typed when invalid), ``error`` or None."""

    name: str
    value: str
    error: str | None

    @property
    def valid(self) -> bool:
        return self.error is None and bool(self.value)


def validate_field(name: str, raw: str | None, country: str | None = None) -> FieldResult:
    """Validate one checkout field. ``country`` (ISO 3166 alpha-2) guides phone parsing.

    Raises KeyError for an unknown field name.
    """
    if name not in MAX_LENGTH:
        raise KeyError(name)
    value = (raw or "").strip()
    if len(value) > MAX_LENGTH[name]:
        return FieldResult(name, value[: MAX_LENGTH[name]], f"{LABELS[name]} is too long.")
    if not value:
        return FieldResult(name, "", f"{LABELS[name]} is required." if name in REQUIRED else None)
    if name == "email":
        try:
            checked = validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            return FieldResult(name, value, "Enter a valid email address, like name@example.com.")
        return FieldResult(name, checked.normalized, None)
    if name == "phone":
        try:
            number = phonenumbers.parse(value, (country or "US").upper())
        except phonenumbers.NumberParseException:
            return FieldResult(name, value, "Enter a valid phone number.")
        if not phonenumbers.is_valid_number(number):
            return FieldResult(name, value, "Enter a valid phone number.")
        return FieldResult(name, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None)
    if name == "country":
        code = value.upper()
        if code not in CHECKOUT_CODES:
            return FieldResult(name, value, "We don't ship to that country yet.")
        return FieldResult(name, code, None)
    return FieldResult(name, value, None)


def validate_all(form: dict) -> dict[str, FieldResult]:
    """Validate every checkout field from ``form`` (a mapping of name to text)."""
    country = (form.get("country") or "").strip().upper() or None
    return {name: validate_field(name, form.get(name), country) for name in FIELD_NAMES}


def missing_required(fields: dict) -> list[str]:
    """Names of required fields without a saved valid value in ``fields`` (the cart's copy)."""
    return [name for name in FIELD_NAMES if name in REQUIRED and not fields.get(name)]
