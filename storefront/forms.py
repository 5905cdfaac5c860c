"""The form kit: a Flask-WTF base form and the field types a merchant types into, each
reading the typed text into its stored unit with its own messages.

- ``Text``: one line, stripped; ``required`` and ``max_length`` built in.
- ``Paragraphs``: a textarea, stripped, its line breaks kept (as LF); the view declares it
  ``@inputs.multiline``.
- ``Secret``: a password: never shown again.
- ``Choice``: one value of ``choices`` (a select), ``coerce``-d (``str``, or ``to_id``).
- ``Flag``: a checkbox (value "1"); absent means False.
- ``Money``: a decimal amount, as minor units of the form's ``currency`` (``money.parse_amount``).
- ``Percent``: a percentage, as percent × 10**decimals: basis points (2) or WooCommerce's
  micro-units (4).
- ``WholeNumber``: ASCII digits from ``low`` to ``high`` (``inputs.parse_int``).
- ``LocalDateTime``: a datetime-local value typed in the merchant's timezone, as aware UTC
  (``dates.parse_local``); shown back in that timezone (``dates.local_input``).
- ``Lines``: a textarea as a list of stripped items, with an item count and a length cap.
- ``Many`` and ``Ids``: every value of a repeated input (checkboxes); ``Ids`` as distinct
  positive ints (``inputs.parse_ids``).

Every field shows again what was typed (``_value()``, at most ECHO_LIMIT characters), so a
refused form loses nothing, while ``.data`` holds the stored unit (None for an empty
optional input). An input missing from a post reads as empty, never as the stored value.
Messages name the input by its label ("Name is required.", "Price must be an amount of USD
of 0 or more, ..."); a ``message=`` argument replaces a field's own message (``{label}`` and
the field's figures, e.g. ``{low}``/``{high}``, are filled in).

Two small forms serve every screen: ``MoveForm`` (a row one place ``up`` or ``down``) and
``ConfirmForm`` (``confirmed=yes``, sent once a question was answered).

A screen's form subclasses ``AdminForm``, built with the merchant's ``currency`` and
``timezone``; it reads ``request.form`` on a POST (``formdata=None`` for a fresh one),
``data=`` gives the stored values to show. ``validate()`` also runs ``check()``, the form's
own cross-input rules, and leaves out the inputs named by ``skipped()``; ``fail(name,
message)`` adds an error found later (a unique key taken at commit). Templates render the
fields with ``templates/admin/_forms.html``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import StopValidation, ValidationError

from storefront.dates import local_input, merchant_zone, parse_local
from storefront.inputs import InputError, optional_int, parse_ids, parse_int
from storefront.money import MoneyError, amount_text, minor_units, parse_amount, percent_text

__all__ = ["ECHO_LIMIT", "AdminForm", "Choice", "ConfirmForm", "Flag", "Ids", "Lines", "LocalDateTime", "Many", "MaxLength",
           "Money", "MoveForm", "OWN_WORDS", "Paragraphs", "Percent", "Required", "Secret", "Text", "ValidationError",
           "WholeNumber", "to_id"]

ECHO_LIMIT = 2000  # characters of an input shown again: enough to fix it, not a megabyte
OWN_WORDS = None  # ``message=OWN_WORDS``: the parser's own message (Money, LocalDateTime)
_DEFAULT = object()


class AdminForm(FlaskForm):
    """A merchant's form. ``currency`` (ISO 4217) and ``timezone`` (IANA name) are the
    merchant's: money and local times are read and shown in them (``self.zone``)."""

    class Meta:
        csrf = False  # CSRFProtect (extensions.csrf) checks every POST before its view runs

    def __init__(self, *args, currency: str = "USD", timezone: str | None = None, **kwargs) -> None:
        self.currency = currency
        self.zone = merchant_zone(timezone)
        super().__init__(*args, **kwargs)

    @classmethod
    def of(cls, company, data: dict | None = None, *, fresh: bool = False, **kwargs):
        """The form of ``company`` (its ``currency`` and ``timezone``): the posted form on a
        POST, else ``data`` (stored values by input name; the fields' defaults for the rest);
        ``fresh=True`` shows ``data`` even on a POST (after a save)."""
        if fresh:
            kwargs["formdata"] = None
        return cls(data=data, currency=company.currency, timezone=company.timezone, **kwargs)

    def skipped(self) -> set[str]:
        """Names of the inputs this submission does not use (e.g. another promotion type's):
        they are not validated. None by default."""
        return set()

    def check(self) -> None:
        """The form's rules across inputs, run after each input's own; report with ``fail``."""

    def validate(self, extra_validators=None) -> bool:
        """Every used input's validators, then ``check()``; True when nothing failed."""
        super().validate(extra_validators)
        for name in self.skipped():
            self[name].errors = []
        self.check()
        return not self.errors

    def fail(self, name: str | None, message: str) -> None:
        """Record ``message`` on the input ``name`` (None: on the whole form)."""
        if name is None:
            self.form_errors.append(message)
        else:
            self[name].errors = [*self[name].errors, message]

    def ok(self, *names: str) -> bool:
        """True when none of the inputs ``names`` has an error (yet)."""
        return not any(self[name].errors for name in names)


# ----------------------------------------------------------------------------- validators


class Required:
    """The input may not be left empty: "<label> is required." (or ``message``)."""

    field_flags = {"required": True}

    def __init__(self, message: str = "{label} is required.") -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data is None or field.data == "" or field.data == []:
            raise StopValidation(self.message.format(label=field.label.text))


class MaxLength:
    """At most ``limit`` characters: "<label> is too long: at most <limit> characters."."""

    def __init__(self, limit: int, message: str = "{label} is too long: at most {limit} characters.") -> None:
        self.limit, self.message = limit, message

    def __call__(self, form, field) -> None:
        if field.data and len(field.data) > self.limit:
            raise ValidationError(self.message.format(label=field.label.text, limit=self.limit))


# ----------------------------------------------------------------------------- fields


class _Typed(Field):
    """A field that reads one typed text; ``_value()`` shows it again as typed (stripped),
    or the stored ``data`` through ``show``. Parse errors stop the field's validators."""

    kind = "input"
    input_type = "text"

    def __init__(self, label=None, validators=None, *, required: bool = False, message=_DEFAULT,
                 **kwargs) -> None:
        chain = [Required()] if required else []
        super().__init__(label, [*chain, *(validators or ())], **kwargs)
        if message is not _DEFAULT:
            self.message = message

    @property
    def raw(self) -> str:
        """What was typed, stripped ("" when nothing was posted)."""
        return (self.raw_data[0] if self.raw_data else "").strip()

    def process_formdata(self, valuelist) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        self.data = self.parse(text) if text else None

    def parse(self, text: str):
        return text

    def show(self, data) -> str:
        return "" if data is None else str(data)

    def _value(self) -> str:
        if self.raw_data is not None:
            return self.raw[:ECHO_LIMIT]
        return self.show(self.data)

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()

    def explain(self, **figures) -> str:
        return self.message.format(label=self.label.text, **figures)


class Text(_Typed):
    """One line of text, stripped; "" when empty. ``max_length`` adds ``MaxLength`` (with
    ``too_long`` as its message when given)."""

    def __init__(self, label=None, validators=None, *, max_length: int | None = None, too_long: str | None = None,
                 **kwargs) -> None:
        extra = [MaxLength(max_length, *([too_long] if too_long else []))] if max_length else []
        super().__init__(label, [*extra, *(validators or ())], **kwargs)
        self.max_length = max_length  # also the input's maxlength attribute

    def process_formdata(self, valuelist) -> None:
        self.data = (valuelist[0] if valuelist else "").strip()

    def process_data(self, value) -> None:
        self.data = "" if value is None else value

    def _value(self) -> str:
        return (self.data or "")[:ECHO_LIMIT]  # after the filters (e.g. upper-cased), as saved


class Paragraphs(Text):
    """A textarea: stripped, CR LF read as LF, its line breaks kept; "" when empty. What was
    typed is shown again up to ``max_length`` + ECHO_LIMIT characters, so a note typed a
    little too long can be shortened rather than retyped."""

    kind = "textarea"

    def process_formdata(self, valuelist) -> None:
        self.data = (valuelist[0] if valuelist else "").replace("\r\n", "\n").replace("\r", "\n").strip()

    def _value(self) -> str:
        return (self.data or "")[:(self.max_length or 0) + ECHO_LIMIT]


class Secret(Text):
    """A password input: read as typed (not stripped: spaces may be part of it), never
    shown again."""

    input_type = "password"

    def process_formdata(self, valuelist) -> None:
        self.data = valuelist[0] if valuelist else ""

    def _value(self) -> str:
        return ""


class Choice(_Typed):
    """One of ``choices``, a list of (value, label) (set on the class or per form). The
    posted text goes through ``coerce`` (None when unreadable). Message: "Choose a <label>
    from the list."."""

    kind = "select"
    message = "Choose a {lower} from the list."

    def __init__(self, label=None, validators=None, *, choices: Iterable = (), coerce: Callable = str,
                 **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.choices, self.coerce = list(choices), coerce

    def parse(self, text: str):
        return self.coerce(text)

    def pre_validate(self, form) -> None:
        if self.data not in {value for value, _label in self.choices}:
            raise StopValidation(self.message.format(label=self.label.text, lower=self.label.text.lower()))


def to_id(text: str) -> int | None:
    """A positive id (1..DB_INT_MAX) from a text, None when unreadable: ``Choice``'s ``coerce``."""
    return optional_int(text, 1)


class Flag(Field):
    """A checkbox sent as "1": present and not "" or "false" means True."""

    kind = "checkbox"

    def process_formdata(self, valuelist) -> None:
        self.data = bool(valuelist) and valuelist[0] not in ("", "false")

    def process_data(self, value) -> None:
        self.data = bool(value)


class Money(_Typed):
    """An amount typed as a decimal ("19.99", "1,250"), as minor units of the form's
    currency; None when empty. ``positive`` refuses 0: "<label> must be more than 0.".
    ``message=OWN_WORDS`` gives ``parse_amount``'s own words (what exactly is wrong)."""

    message = ("{label} must be an amount of {currency} of 0 or more, with at most {places} decimals, "
               "e.g. {example}.")

    def __init__(self, label=None, validators=None, *, positive: bool = False, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.positive = positive

    def parse(self, text: str) -> int:
        currency = self._form.currency
        try:
            return parse_amount(text, currency)
        except MoneyError as error:
            if self.message is OWN_WORDS:  # the parser's words: "too many decimals for JPY: '1.5'"
                raise ValueError(f"{str(error)[:1].upper()}{str(error)[1:]}.") from error
            raise ValueError(self.explain(currency=currency, places=minor_units(currency),
                                          example=amount_text(1250, currency))) from error

    def show(self, data) -> str:
        return amount_text(data, self._form.currency)

    def post_validate(self, form, validation_stopped: bool) -> None:
        if self.positive and self.data == 0 and not self.errors:
            self.errors.append(f"{self.label.text} must be more than 0.")


class Percent(_Typed):
    """A percentage up to 100 with at most ``decimals`` decimals ("12.5", "8.875 %"), as
    percent × 10**decimals; None when empty. 0 is refused unless ``allow_zero``."""

    message = "{label} must be a percentage from {low} to 100, with at most {decimals} decimals."

    def __init__(self, label=None, validators=None, *, decimals: int = 2, allow_zero: bool = False,
                 **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.decimals, self.allow_zero = decimals, allow_zero

    def parse(self, text: str) -> int:
        try:
            number = Decimal(text.rstrip("%").strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number < 0 or number > 100 or (number == 0 and not self.allow_zero) \
                or number != number.quantize(Decimal(1).scaleb(-self.decimals)):
            raise ValueError(self.explain(low="0" if self.allow_zero else "more than 0", decimals=self.decimals))
        return int(number.scaleb(self.decimals))

    def show(self, data) -> str:
        return "" if data is None else percent_text(data, self.decimals)


class WholeNumber(_Typed):
    """A whole number from ``low`` to ``high`` in ASCII digits; None when empty."""

    message = "{label} must be a whole number from {low:,} to {high:,}."

    def __init__(self, label=None, validators=None, *, low: int = 0, high: int, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.low, self.high = low, high

    def parse(self, text: str) -> int:
        try:
            return parse_int(text, self.low, self.high)
        except InputError as error:
            raise ValueError(self.explain(low=self.low, high=self.high)) from error


class LocalDateTime(_Typed):
    """A date and time typed in the merchant's timezone ("2025-07-01T18:00"), as aware UTC;
    None when empty. ``message=OWN_WORDS`` gives ``parse_local``'s own words (it names a time
    the clocks skip)."""

    input_type = "datetime-local"
    message = "{label} must be a date and time, like 2025-07-01 09:00."

    def parse(self, text: str):
        try:
            return parse_local(text, self._form.zone)
        except ValueError as error:
            raise ValueError(str(error) if self.message is OWN_WORDS else self.explain()) from error

    def show(self, data) -> str:
        return local_input(data, self._form.zone)


class Lines(_Typed):
    """A textarea as a list of items, stripped, empty ones dropped, split on ``split`` (a
    regex; line breaks, commas and semicolons by default); at most ``max_items`` items of at
    most ``item_length`` characters. Items go through ``item`` (e.g. ``str.upper``); stored
    items are shown joined by ``joiner``."""

    kind = "textarea"
    message = "{label}: at most {max_items} entries."
    long_message = "{label}: each entry can be at most {item_length} characters."

    def __init__(self, label=None, validators=None, *, max_items: int, item_length: int,
                 split: str = r"[\r\n,;]+", item: Callable[[str], str] = str, joiner: str = "\n", **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.max_items, self.item_length, self.split, self.item = max_items, item_length, re.compile(split), item
        self.joiner = joiner

    def process_formdata(self, valuelist) -> None:
        text = valuelist[0] if valuelist else ""
        items = [self.item(part.strip()) for part in self.split.split(text) if part.strip()]
        if len(items) > self.max_items:
            self.process_errors.append(self.explain(max_items=self.max_items))
        elif any(len(item) > self.item_length for item in items):
            self.process_errors.append(self.long_message.format(label=self.label.text, item_length=self.item_length))
        self.data = items[:self.max_items]

    def process_data(self, value) -> None:
        self.data = list(value or [])

    def show(self, data) -> str:
        return self.joiner.join(data or ())


class Many(Field):
    """Every value posted under the input's name (a group of checkboxes), stripped, empty
    ones dropped, at most ``limit``; ``chosen()`` gives them as texts for the template,
    ``choices`` (value, label) are the boxes to show."""

    kind = "checks"

    def __init__(self, label=None, validators=None, *, limit: int = 1000, item: Callable[[str], str] = str,
                 choices: Iterable | None = None, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.limit, self.item = limit, item
        self.choices = None if choices is None else list(choices)

    def process_formdata(self, valuelist) -> None:
        self.data = [self.item(v.strip()[:100]) for v in valuelist if v and v.strip()][:self.limit]

    def process_data(self, value) -> None:
        self.data = list(value or [])

    def chosen(self) -> list[str]:
        """The checked values as texts (what a checkbox's ``value`` is compared with)."""
        return [str(v) for v in self.data or ()]


class Ids(Many):
    """Distinct positive ids (``inputs.parse_ids``) from a group of checkboxes. An unreadable
    id, or one not among ``choices`` (when given, e.g. set per form from the merchant's
    rows), is refused with ``message``."""

    message = "Choose each {lower} from the list."

    def __init__(self, label=None, validators=None, *, message: str | None = None, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.typed: list[str] = []
        if message is not None:
            self.message = message

    def process_formdata(self, valuelist) -> None:
        self.typed = [v.strip()[:20] for v in valuelist if v and v.strip()][:self.limit]
        self.data = parse_ids(self.typed, self.limit)

    def chosen(self) -> list[str]:
        return self.typed if self.raw_data is not None else super().chosen()

    def pre_validate(self, form) -> None:
        known = None if self.choices is None else {value for value, _label in self.choices}
        unreadable = any(optional_int(text, 1) is None for text in self.typed)
        if unreadable or (known is not None and not set(self.data) <= known):
            raise StopValidation(self.message.format(label=self.label.text, lower=self.label.text.lower()))


# ----------------------------------------------------------------------------- small forms


class MoveForm(AdminForm):
    """Move a row of a list one place: ``direction`` is "up" or "down"."""

    direction = Choice("Direction", choices=[("up", "Up"), ("down", "Down")], message="Move up or down.")


class ConfirmForm(AdminForm):
    """An action asked about first: ``confirmed`` is "yes" once the merchant said so (in the
    browser's dialog, or on the confirmation page shown without JavaScript)."""

    confirmed = Text("Confirmed")

    def said_yes(self) -> bool:
        """True when the post carries ``confirmed=yes``."""
        return self.confirmed.data == "yes"
