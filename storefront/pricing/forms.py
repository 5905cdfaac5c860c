"""The pricing admin's forms (storefront.forms): a promotion, a batch of single-use codes, a
shipping zone, a shipping method with its price tiers, a tax rate, the prices-include-tax
setting and the exit-intent offer. Each validates what the merchant typed, with its
messages, and gives the validated values in stored units (``fields()``, or ``.data``) to
the services of ``pricing.admin_services``, ``admin_codes``, ``admin_shipping`` and
``exit_offer``.

Build one with ``Form.of(company, data)``: the posted form on a POST, else ``data`` (the
stored values, by input name; ``fresh=True`` ignores a post). Catalogue choices and code
uniqueness are read in the merchant's own rows (``accounts.scoping``), so another
merchant's ids and codes are refused or not seen.
"""
from __future__ import annotations

import re
from datetime import timedelta

from storefront.countries import CHECKOUT_CODES, CHECKOUT_COUNTRIES, COUNTRY_NAMES
from storefront.forms import (
    AdminForm,
    Choice,
    Flag,
    Ids,
    Lines,
    LocalDateTime,
    Many,
    Money,
    Percent,
    Required,
    Text,
    ValidationError,
    WholeNumber,
    to_id,
)
from storefront.pricing.admin_services import (
    CODE_RE,
    MAX_GROUP_QUANTITY,
    MAX_PER_CUSTOMER,
    MAX_USAGE_LIMIT,
    SCOPE_LABELS,
    TYPE_LABELS,
    TYPE_SCOPES,
    catalogue_choices,
    code_taken,
)
from storefront.pricing.admin_shipping import METHOD_LABELS
from storefront.pricing.exit_offer import MAX_HEADLINE, MAX_OFFER_BP, MAX_OFFER_HOURS, MIN_OFFER_BP
from storefront.pricing.models import (
    PROMOTION_SCOPES,
    PROMOTION_TYPES,
    Promotion,
    ShippingMethod,
    ShippingZone,
    TaxRate,
)
from storefront.types import utcnow


def _upper(text: str | None) -> str | None:
    return text.upper() if text else text


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text else text


# ----------------------------------------------------------------------------- promotions

# The inputs each type uses; the others keep what was typed but are not read.
TYPE_INPUTS = {"PERCENTAGE_OFF": {"percent"}, "FIXED_AMOUNT_OFF": {"amount"},
               "BUY_X_GET_Y": {"buy_quantity", "get_quantity"}, "FREE_GIFT": {"gift_variant_id"}}
SCOPE_INPUTS = {"PRODUCT": "product_ids", "CATEGORY": "category_ids"}


class PromotionForm(AdminForm):
    """A promotion's terms. ``promotion_id`` (the one edited) lets it keep its own code."""

    name = Text("Name", required=True, max_length=200)
    type = Choice("Type", choices=[(t, TYPE_LABELS[t]) for t in PROMOTION_TYPES], default="PERCENTAGE_OFF")
    scope = Choice("Applies to", choices=[(s, SCOPE_LABELS[s]) for s in PROMOTION_SCOPES], default="CART")
    code = Text("Code", max_length=64, filters=[_upper])
    percent = Percent("Percentage", required=True, default=1000)
    amount = Money("Amount", required=True, positive=True)
    min_subtotal = Money("Minimum subtotal")
    usage_limit = WholeNumber("Usage limit", low=1, high=MAX_USAGE_LIMIT)
    per_customer_limit = WholeNumber("Uses per customer", low=1, high=MAX_PER_CUSTOMER)
    buy_quantity = WholeNumber("Buy", low=1, high=MAX_GROUP_QUANTITY, required=True)
    get_quantity = WholeNumber("Get free", low=1, high=MAX_GROUP_QUANTITY, required=True)
    gift_variant_id = Choice("Gift", coerce=to_id, message="Choose the gift from your products.")
    product_ids = Ids("Products", [Required("Choose at least one product.")], limit=5000,
                      message="Choose each product from your catalogue.")
    category_ids = Ids("Categories", [Required("Choose at least one category.")], limit=5000,
                       message="Choose each category from your catalogue.")
    starts_at = LocalDateTime("Starts")
    ends_at = LocalDateTime("Ends")
    automatic = Flag("Automatic")
    combinable = Flag("Combinable")
    active = Flag("Active", default=True)

    def __init__(self, *args, promotion_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.promotion_id = promotion_id
        # What it can target: the merchant's catalogue (archived products only when chosen).
        choices = catalogue_choices(self.product_ids.data, self.gift_variant_id.data)
        self.product_ids.choices, self.category_ids.choices = choices["products"], choices["categories"]
        self.gift_variant_id.choices = choices["variants"]

    @staticmethod
    def stored(promotion: Promotion) -> dict:
        """The form's values for ``promotion`` as stored (other types' inputs empty)."""
        kind = promotion.type
        return {
            "name": promotion.name, "type": kind, "scope": promotion.scope, "code": promotion.code or "",
            "automatic": promotion.automatic, "combinable": promotion.combinable, "active": promotion.active,
            "percent": promotion.percent_bp if kind == "PERCENTAGE_OFF" else None,
            "amount": promotion.amount_cents if kind == "FIXED_AMOUNT_OFF" else None,
            "min_subtotal": promotion.min_subtotal_cents or None,
            "buy_quantity": promotion.buy_quantity or None, "get_quantity": promotion.get_quantity or None,
            "gift_variant_id": promotion.gift_variant_id, "product_ids": list(promotion.product_ids or ()),
            "category_ids": list(promotion.category_ids or ()), "starts_at": promotion.starts_at,
            "ends_at": promotion.ends_at, "usage_limit": promotion.usage_limit,
            "per_customer_limit": promotion.per_customer_limit,
        }

    def validate(self, extra_validators=None) -> bool:
        # Free shipping always applies to shipping, a free gift to the cart: the type decides.
        scopes = TYPE_SCOPES.get(self.type.data, ())
        if len(scopes) == 1:
            self.scope.data = scopes[0]
        return super().validate(extra_validators)

    def skipped(self) -> set[str]:
        used = TYPE_INPUTS.get(self.type.data, set()) | {SCOPE_INPUTS.get(self.scope.data)}
        return (set().union(*TYPE_INPUTS.values()) | set(SCOPE_INPUTS.values())) - used

    def check(self) -> None:
        kind, scope, code = self.type.data, self.scope.data, self.code.data
        if kind in TYPE_SCOPES and scope in PROMOTION_SCOPES and scope not in TYPE_SCOPES[kind]:
            self.fail("scope", f"{TYPE_LABELS[kind]} applies to chosen products or categories.")
        if code and self.ok("code"):
            if not CODE_RE.fullmatch(code):
                self.fail("code", "Use 3 to 64 letters, digits, dashes or underscores.")
            elif code_taken(code, self.promotion_id):
                self.fail("code", f"{code} is already used by another promotion or generated code.")
        starts, ends = self.starts_at.data, self.ends_at.data
        if starts and ends and ends <= starts:
            self.fail("ends_at", "The end must be after the start.")

    def fields(self) -> dict:
        """The Promotion columns of a valid form: the type's own terms, the others zero."""
        kind, scope = self.type.data, self.scope.data
        return {
            "name": self.name.data, "type": kind, "scope": scope, "code": self.code.data or None,
            "automatic": self.automatic.data, "combinable": self.combinable.data, "active": self.active.data,
            "percent_bp": self.percent.data if kind == "PERCENTAGE_OFF" else 0,
            "amount_cents": self.amount.data if kind == "FIXED_AMOUNT_OFF" else 0,
            "min_subtotal_cents": self.min_subtotal.data or 0,
            "buy_quantity": self.buy_quantity.data if kind == "BUY_X_GET_Y" else 0,
            "get_quantity": self.get_quantity.data if kind == "BUY_X_GET_Y" else 0,
            "gift_variant_id": self.gift_variant_id.data if kind == "FREE_GIFT" else None,
            "product_ids": sorted(self.product_ids.data) if scope == "PRODUCT" else [],
            "category_ids": sorted(self.category_ids.data) if scope == "CATEGORY" else [],
            "usage_limit": self.usage_limit.data, "per_customer_limit": self.per_customer_limit.data,
            "starts_at": self.starts_at.data, "ends_at": self.ends_at.data,
        }


class CodesForm(AdminForm):
    """A batch of single-use codes: how many (1..500), a prefix, when they expire."""

    count = WholeNumber("Number of codes", low=1, high=500, required=True, default=50)
    prefix = Text("Prefix", max_length=20, filters=[_upper])
    expires_at = LocalDateTime("Expires", required=True, default=lambda: utcnow() + timedelta(days=7))

    def validate_prefix(self, field) -> None:
        if not re.fullmatch(r"[A-Z0-9]{0,20}", field.data):
            raise ValidationError("Use up to 20 letters and digits.")

    def validate_expires_at(self, field) -> None:
        if field.data and field.data <= utcnow():
            raise ValidationError("The expiry must be in the future.")


# ----------------------------------------------------------------------------- shipping and tax

_STATE = re.compile(r"([A-Z]{2}):([A-Z0-9-]{1,10})")
_POSTCODE = re.compile(r"[A-Z0-9 -]{1,20}\*?|\*")
_RANGE = re.compile(r"(\d{1,10})\.\.\.(\d{1,10})")
_TAX_STATE = re.compile(r"[A-Z0-9 -]{0,32}")
MAX_ZONE_COUNTRIES = 300
TIER_ROWS = 6


def _postcode_ok(pattern: str) -> bool:
    ranged = _RANGE.fullmatch(pattern)
    if ranged:
        return int(ranged.group(1)) <= int(ranged.group(2))
    return bool(_POSTCODE.fullmatch(pattern))


def postcode_patterns(form, field) -> None:
    """Each item is a postcode (90210), a prefix ending in * (902*) or a range (90000...90999)."""
    bad = [p for p in field.data if not _postcode_ok(p)]
    if bad:
        raise ValidationError(f"Not a postcode pattern: {bad[0][:40]}. Use a code (90210), a prefix ending in * "
                              "(902*) or a range (90000...90999).")


def _postcodes() -> Lines:
    return Lines("Postcodes", [postcode_patterns], max_items=1000, item_length=40, item=str.upper)


class ZoneForm(AdminForm):
    """A shipping zone: its name and where it ships (countries, states, postcodes)."""

    name = Text("Name", required=True, max_length=100)
    countries = Many("Countries", limit=MAX_ZONE_COUNTRIES, item=str.upper, choices=CHECKOUT_COUNTRIES)
    other_countries = Lines("Other countries", max_items=MAX_ZONE_COUNTRIES, item_length=2000, split=r"[\s,;]+",
                            item=str.upper, joiner=", ", message="At most {max_items} countries in a zone.")
    states = Lines("States", max_items=500, item_length=13, item=lambda s: s.upper().replace(" ", ""))
    postcodes = _postcodes()

    @staticmethod
    def stored(zone: ShippingZone | None) -> dict:
        """The form's values for ``zone``: the checkout countries as checkboxes, the rest typed."""
        codes = list(zone.countries or ()) if zone else []
        return {"name": zone.name if zone else "", "countries": [c for c in codes if c in CHECKOUT_CODES],
                "other_countries": [c for c in codes if c not in CHECKOUT_CODES],
                "states": list(zone.states or ()) if zone else [], "postcodes": list(zone.postcodes or ()) if zone else []}

    def codes(self) -> list[str]:
        """The zone's countries: the ticked ones, then the typed ones, once each."""
        return list(dict.fromkeys([*self.countries.data, *(self.other_countries.data or ())]))

    def check(self) -> None:
        codes = self.codes()
        unknown = [c for c in codes if c not in COUNTRY_NAMES]
        if len(codes) > MAX_ZONE_COUNTRIES and self.ok("other_countries"):
            self.fail("other_countries", f"At most {MAX_ZONE_COUNTRIES} countries in a zone.")
        elif unknown and self.ok("other_countries"):
            self.fail("other_countries", f"Unknown country code: {unknown[0][:10]}. Use ISO two-letter codes, "
                                         "like DE or JP.")
        for state in self.states.data if self.ok("states") else ():
            match = _STATE.fullmatch(state)
            if not match or match.group(1) not in COUNTRY_NAMES:
                self.fail("states", f"Not a state: {state[:20]}. Write the country code, a colon and the state "
                                    "code, one per line, like US:CA.")
            elif codes and match.group(1) not in codes:
                self.fail("states", f"{state} is in {match.group(1)}, which is not among this zone's countries: "
                                    "add it, or leave the countries empty.")
            if not self.ok("states"):
                break

    def fields(self) -> dict:
        """The ShippingZone columns of a valid form."""
        return {"name": self.name.data, "countries": self.codes(), "states": self.states.data,
                "postcodes": self.postcodes.data}


# The longest delivery estimate a method may state, in business days.
MAX_DELIVERY_DAYS = 60
# What the method's cost is, by type, in its messages.
AMOUNT_LABELS = {"WEIGHT_BASED": "Base cost", "PRICE_BASED": "Cost below the first tier"}
TIERS = [(f"tier_min_{row}", f"tier_cost_{row}") for row in range(TIER_ROWS)]
METHOD_INPUTS = {"FLAT_RATE": {"amount"}, "PER_ITEM": {"amount"}, "WEIGHT_BASED": {"amount", "per_kg"},
                 "PRICE_BASED": {"amount", *(name for pair in TIERS for name in pair)}, "FREE": {"free_above"}}


class MethodForm(AdminForm):
    """A shipping method: name, type and the costs its type uses (tiers: rows of "from this
    order value, this cost")."""

    name = Text("Name", required=True, max_length=100)
    type = Choice("Type", choices=list(METHOD_LABELS.items()), default="FLAT_RATE")
    amount = Money("Cost")
    per_kg = Money("Cost per kg", required=True)
    free_above = Money("Free from order value")
    # The tier inputs tier_min_N / tier_cost_N (N < tier_rows) are added below the class.
    # The delivery estimate shoppers see ("arrives in 2–4 business days"); both or neither.
    min_days = WholeNumber("Delivery from (business days)", high=MAX_DELIVERY_DAYS)
    max_days = WholeNumber("Delivery up to (business days)", high=MAX_DELIVERY_DAYS)
    active = Flag("Offered to shoppers", default=True)
    tier_rows = TIER_ROWS

    @staticmethod
    def stored(method: ShippingMethod | None) -> dict:
        """The form's values for ``method`` (None: a new flat rate); tiers as rows."""
        if method is None:
            return {}
        kind = method.type
        values = {"name": method.name, "type": kind, "active": method.active,
                  "min_days": method.min_days, "max_days": method.max_days,
                  "amount": method.amount_cents if kind != "FREE" else None,
                  "per_kg": method.per_kg_cents if kind == "WEIGHT_BASED" else None,
                  "free_above": method.free_above_cents if kind == "FREE" else None}
        tiers = sorted(method.tiers or ()) if kind == "PRICE_BASED" else []
        for (low_name, cost_name), (low, cost) in zip(TIERS, tiers, strict=False):
            values[low_name], values[cost_name] = low, cost
        return values

    def validate(self, extra_validators=None) -> bool:
        self.amount.label.text = AMOUNT_LABELS.get(self.type.data, "Cost")
        return super().validate(extra_validators)

    def skipped(self) -> set[str]:
        return set().union(*METHOD_INPUTS.values()) - METHOD_INPUTS.get(self.type.data, set())

    def check(self) -> None:
        low, high = self.min_days.data, self.max_days.data
        if (low is None) != (high is None) and self.ok("min_days", "max_days"):
            self.fail("max_days" if low is not None else "min_days",
                      "Fill in both delivery days, or neither.")
        elif low is not None and high is not None and low > high and self.ok("min_days", "max_days"):
            self.fail("max_days", "Delivery up to must be at least delivery from.")
        kind = self.type.data
        if kind in ("FLAT_RATE", "PER_ITEM") and self.amount.data is None and self.ok("amount"):
            self.fail("amount", f"{self.amount.label.text} is required.")
        if kind != "PRICE_BASED":
            return
        starts: set[int] = set()
        for low_name, cost_name in TIERS:
            low, cost = self[low_name].data, self[cost_name].data
            if (low is None) != (cost is None) and self.ok(low_name, cost_name):
                self.fail(cost_name if low is not None else low_name, "Fill in both the order value and its cost.")
            elif low is not None and cost is not None:
                if low in starts:
                    self.fail(low_name, "Two tiers start at the same order value.")
                starts.add(low)
        if not starts and self.ok(*(name for pair in TIERS for name in pair)):
            self.fail("tier_min_0", "Add at least one tier: from which order value, at what cost.")

    def tiers(self) -> list[list[int]]:
        """The tiers as [[from, cost], ...] in minor units, lowest first."""
        rows = {self[low].data: self[cost].data for low, cost in TIERS if self[low].data is not None
                and self[cost].data is not None}
        return [[low, cost] for low, cost in sorted(rows.items())]

    def fields(self) -> dict:
        """The ShippingMethod columns of a valid form: the type's own costs, the others zero."""
        kind = self.type.data
        uses = METHOD_INPUTS.get(kind, set())
        return {"name": self.name.data, "type": kind, "active": self.active.data,
                "amount_cents": (self.amount.data or 0) if "amount" in uses else 0,
                "per_kg_cents": (self.per_kg.data or 0) if "per_kg" in uses else 0,
                "free_above_cents": (self.free_above.data or 0) if "free_above" in uses else 0,
                "tiers": self.tiers() if kind == "PRICE_BASED" else [],
                "min_days": self.min_days.data, "max_days": self.max_days.data}


# Labelled by row for the error summary; their messages say "Order value from" and "Cost".
for _row, (_low, _cost) in enumerate(TIERS):
    setattr(MethodForm, _low, Money(f"Tier {_row + 1}: from order value",
                                    message=Money.message.replace("{label}", "Order value from")))
    setattr(MethodForm, _cost, Money(f"Tier {_row + 1}: cost", message=Money.message.replace("{label}", "Cost")))


class TaxRateForm(AdminForm):
    """A tax rate: where it applies, its percentage (up to 4 decimals) and how it stacks."""

    country = Text("Country", max_length=2, filters=[_upper])
    state = Text("State", max_length=32, filters=[_upper])
    postcodes = _postcodes()
    cities = Lines("Cities", max_items=500, item_length=100, item=str.upper)
    rate = Percent("Rate", required=True, decimals=4, allow_zero=True)
    name = Text("Name", max_length=100, default="Tax")
    priority = WholeNumber("Priority", low=1, high=99, default=1)
    compound = Flag("Compound")
    applies_to_shipping = Flag("Also charged on shipping", default=True)
    tax_class = Text("Tax class", max_length=64)

    @staticmethod
    def stored(rate: TaxRate) -> dict:
        """The form's values for ``rate``."""
        return {"country": rate.country, "state": rate.state, "postcodes": list(rate.postcodes or ()),
                "cities": list(rate.cities or ()), "rate": rate.rate_micro, "name": rate.name,
                "priority": rate.priority, "compound": rate.compound,
                "applies_to_shipping": rate.applies_to_shipping, "tax_class": rate.tax_class}

    def where(self) -> tuple[str, str]:
        """(country, state); "*" (any, as WooCommerce writes it) is stored empty."""
        return tuple("" if value == "*" else value for value in (self.country.data, self.state.data))

    def check(self) -> None:
        country, state = self.where()
        if country and self.ok("country") and country not in COUNTRY_NAMES:
            self.fail("country", "Unknown country code: use an ISO two-letter code like US or DE, or leave empty "
                                 "for any.")
        if self.ok("state") and not _TAX_STATE.fullmatch(state):
            self.fail("state", "Use the state's code, like CA, or leave empty for any.")

    def fields(self) -> dict:
        """The TaxRate columns of a valid form."""
        country, state = self.where()
        return {"country": country, "state": state, "postcodes": self.postcodes.data, "cities": self.cities.data,
                "rate_micro": self.rate.data, "name": self.name.data or "Tax", "priority": self.priority.data or 1,
                "compound": self.compound.data, "applies_to_shipping": self.applies_to_shipping.data,
                "tax_class": self.tax_class.data}


class TaxSettingsForm(AdminForm):
    """Whether the merchant's prices include tax (VAT style) or not (US style)."""

    prices_include_tax = Flag("My prices include tax")


class TaxUploadForm(AdminForm):
    """Beside the uploaded CSV: ``replace``, ticked to confirm the file replaces every rate."""

    replace = Flag("Replace my current tax rates")


# ----------------------------------------------------------------------------- the exit offer


class ExitOfferForm(AdminForm):
    """The exit-intent offer's settings: on or off, 1 to 50 % off, a headline, and how many
    hours (1..168) a code stays valid."""

    enabled = Flag("Show the exit-intent offer on my landing pages")
    percent = Percent("Discount", required=True)
    headline = Text("Headline", required=True, max_length=MAX_HEADLINE, filters=[_one_line])
    valid_hours = WholeNumber("Hours the code stays valid", low=1, high=MAX_OFFER_HOURS, required=True)

    def validate_percent(self, field) -> None:
        if not MIN_OFFER_BP <= field.data <= MAX_OFFER_BP:
            raise ValidationError("Discount must be from 1 to 50 %.")
