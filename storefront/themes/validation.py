"""A page's theme: the schema of its CSS variables, and the one validator of every write.

A theme is ``{"preset": <preset key>, "overrides": {<variable>: <value>}}``. Variables are
named as the CSS custom properties without the leading ``--`` (``color-primary``), plus
the two enumerations that are not properties (``drawer-side``, ``button-style``).

Values are checked against strict, ASCII-only patterns and re-written in one normal form
(``#rrggbb``, ``rgb(r, g, b)``, ``hsl(h, s%, l%)``, ``12px``, ``0.45``, an enumeration key).
CSS is only ever rendered from that normal form, so nothing posted reaches a stylesheet or a
page as written: no ``;``, braces, quotes, backslashes, ``url()`` or ``<`` can get through.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from storefront.themes.presets import DEFAULT_PRESET, FONT_STACKS, PRESETS, SHADOWS

MAX_VALUE_LENGTH = 64
LENGTH_UNITS = ("px", "rem", "em")
# rem and em are measured against the browsers' default 16px for the range checks.
PX_PER_REM = 16


@dataclass(frozen=True)
class Variable:
    """One themable setting. ``kind`` is color, length, number or enum; lengths have a
    range in px (``low``..``high``), numbers a plain range; enums their ``choices``."""

    name: str
    label: str
    kind: str
    group: str
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def css_property(self) -> str | None:
        """The custom property it sets, or None for the enumerations rendered as attributes."""
        return None if self.name in ATTRIBUTE_VARIABLES else "--" + self.name


ATTRIBUTE_VARIABLES = ("drawer-side", "button-style")

VARIABLES: tuple[Variable, ...] = (
    Variable("color-bg", "Background", "color", "Colours"),
    Variable("color-surface", "Surface (panels, image placeholders)", "color", "Colours"),
    Variable("color-text", "Text", "color", "Colours"),
    Variable("color-muted", "Muted text", "color", "Colours"),
    Variable("color-primary", "Primary (buttons, links)", "color", "Colours"),
    Variable("color-primary-text", "Text on primary", "color", "Colours"),
    Variable("color-accent", "Accent (sale badges, low stock, focus ring)", "color", "Colours"),
    Variable("color-border", "Borders", "color", "Colours"),
    Variable("color-badge", "Cart badge", "color", "Colours"),
    Variable("color-success", "Success", "color", "Colours"),
    Variable("color-error", "Error", "color", "Colours"),
    Variable("font-family", "Font", "enum", "Type and spacing", choices=tuple(FONT_STACKS)),
    Variable("font-size", "Base font size", "length", "Type and spacing", 14, 22),
    Variable("space", "Spacing", "length", "Type and spacing", 8, 32),
    Variable("radius", "Corner radius", "length", "Type and spacing", 0, 32),
    Variable("button-style", "Button style", "enum", "Buttons and effects",
             choices=("solid", "outline", "pill")),
    Variable("shadow", "Shadow", "enum", "Buttons and effects", choices=tuple(SHADOWS)),
    Variable("overlay-opacity", "Overlay opacity", "number", "Buttons and effects", 0, 0.9,
             help="0 (clear) to 0.9 (nearly opaque)"),
    Variable("drawer-side", "Drawer side", "enum", "Cart drawer", choices=("right", "left")),
    Variable("drawer-width", "Drawer width", "length", "Cart drawer", 280, 640),
)
BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}

# Strict ASCII patterns, matched whole (fullmatch): [0-9] not \d, which also matches other
# scripts' digits; a literal space, not \s.
_NUM = r"[0-9]{1,4}(?:\.[0-9]{1,4})?|\.[0-9]{1,4}"
_SEP = r" *, *| +"
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_RGB = re.compile(rf"rgb\( *({_NUM})(%?)(?:{_SEP})({_NUM})(%?)(?:{_SEP})({_NUM})(%?) *\)", re.I)
_HSL = re.compile(rf"hsl\( *({_NUM})(?:deg)?(?:{_SEP})({_NUM})%(?:{_SEP})({_NUM})% *\)", re.I)
_LENGTH = re.compile(rf"({_NUM})(px|rem|em)", re.I)
_NUMBER = re.compile(_NUM)

COLOR_HELP = "use a hex colour (#rgb or #rrggbb), rgb(r, g, b) or hsl(h, s%, l%)"


class ThemeError(ValueError):
    """A theme failed validation. ``errors`` maps a field (a variable name, or ``preset``,
    ``overrides``, ``theme``) to one clear message for the merchant."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _number(text: str) -> float:
    return float(text)


def _fmt(number: float) -> str:
    """A number in the shortest plain form: 12, 0.5, 1.375 (never an exponent)."""
    text = f"{number:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def _clean(variable: Variable, value: object) -> str:
    """The posted value as a short string, or ValueError with the message to show."""
    if variable.kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        value = _fmt(float(value))
    if not isinstance(value, str):
        raise ValueError(f"{variable.label} must be text.")
    if len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"{variable.label} is too long ({MAX_VALUE_LENGTH} characters at most).")
    value = value.strip(" ")
    if not value:
        raise ValueError(f"{variable.label} is required.")
    return value


def normalise_color(text: str) -> str:
    """``#rgb``/``#rrggbb``/``rgb()``/``hsl()`` in normal form, or ValueError(message).

    rgb channels are 0..255 (or 0..100%); hsl hue 0..360, saturation and lightness 0..100%.
    Colours are opaque: alpha is refused, as contrast could not be checked."""
    if match := _HEX.fullmatch(text):
        digits = match.group(1).lower()
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return "#" + digits
    if match := _RGB.fullmatch(text):
        channels = []
        for number, percent in (match.group(1, 2), match.group(3, 4), match.group(5, 6)):
            value = _number(number)
            if percent:
                if value > 100:
                    raise ValueError("rgb() percentages must be 0% to 100%.")
                value = value * 255 / 100
            elif value > 255:
                raise ValueError("rgb() channels must be 0 to 255.")
            channels.append(round(value))
        return "rgb({}, {}, {})".format(*channels)
    if match := _HSL.fullmatch(text):
        hue, saturation, lightness = (_number(g) for g in match.groups())
        if hue > 360:
            raise ValueError("hsl() hue must be 0 to 360.")
        if saturation > 100 or lightness > 100:
            raise ValueError("hsl() saturation and lightness must be 0% to 100%.")
        return f"hsl({_fmt(hue)}, {_fmt(saturation)}%, {_fmt(lightness)}%)"
    raise ValueError(COLOR_HELP + ".")


def _range_text(variable: Variable) -> str:
    low, high = variable.low, variable.high
    return f"{_fmt(low)}px and {_fmt(high)}px ({_fmt(low / PX_PER_REM)}–{_fmt(high / PX_PER_REM)}rem)"


def normalise_value(name: str, value: object) -> str:
    """The normal form of ``value`` for the variable ``name``.

    Raises KeyError for an unknown name and ValueError with the merchant-facing message
    (starting with the variable's label) for a bad value."""
    variable = BY_NAME[name]
    text = _clean(variable, value)
    if variable.kind == "color":
        try:
            return normalise_color(text)
        except ValueError as error:
            raise ValueError(f"{variable.label}: {error}") from None
    if variable.kind == "length":
        match = _LENGTH.fullmatch(text)
        if not match:
            raise ValueError(f"{variable.label} needs a number and a unit (px, rem or em), e.g. 16px.")
        number, unit = _number(match.group(1)), match.group(2).lower()
        px = number if unit == "px" else number * PX_PER_REM
        if not variable.low <= px <= variable.high:
            raise ValueError(f"{variable.label} must be between {_range_text(variable)}.")
        return _fmt(number) + unit
    if variable.kind == "number":
        if not _NUMBER.fullmatch(text) or not variable.low <= _number(text) <= variable.high:
            raise ValueError(f"{variable.label} must be a number from {_fmt(variable.low)} to {_fmt(variable.high)}.")
        return _fmt(_number(text))
    if text not in variable.choices:
        raise ValueError(f"{variable.label} must be one of: {', '.join(variable.choices)}.")
    return text


def _short(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_shape(raw: object) -> tuple[str, dict, dict[str, str]]:
    """Top-level checks: (preset key, raw overrides, errors)."""
    errors: dict[str, str] = {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ThemeError({"theme": "A theme is an object with a preset and overrides."})
    unknown = [k for k in raw if k not in ("preset", "overrides")]
    if unknown:
        errors["theme"] = f"Unknown theme key {_short(unknown[0])}: only preset and overrides are allowed."
    preset = raw.get("preset", DEFAULT_PRESET)
    if not isinstance(preset, str) or preset not in PRESETS:
        errors["preset"] = "Choose one of the presets: " + ", ".join(p.label for p in PRESETS.values()) + "."
        preset = DEFAULT_PRESET
    overrides = raw.get("overrides", {})
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        errors["overrides"] = "Overrides must map setting names to values."
        overrides = {}
    return preset, overrides, errors


def _check_overrides(preset: str, overrides: dict, errors: dict[str, str]) -> dict[str, str]:
    """Valid overrides in normal form, minus those equal to the preset's own values; each bad
    one adds a message to ``errors``."""
    base = PRESETS[preset].values
    clean: dict[str, str] = {}
    for key, value in overrides.items():
        name = key[2:] if isinstance(key, str) and key.startswith("--") else key
        if not isinstance(name, str) or name not in BY_NAME:
            errors.setdefault("overrides", f"Unknown setting {_short(key)}.")
            continue
        try:
            normal = normalise_value(name, value)
        except ValueError as error:
            errors[name] = str(error)
            continue
        if normal != base[name]:
            clean[name] = normal
    return clean


def validate_theme(raw: object) -> dict:
    """The theme in normal form: ``{"preset": key, "overrides": {name: value}}`` with only
    the overrides that differ from the preset. ``{}`` or None mean the default preset.

    Raises ThemeError with one message per bad field; nothing is partially accepted."""
    preset, overrides, errors = _check_shape(raw)
    clean = _check_overrides(preset, overrides, errors)
    if errors:
        raise ThemeError(errors)
    return {"preset": preset, "overrides": dict(sorted(clean.items()))}


def partial_theme(raw: object) -> tuple[dict, dict[str, str]]:
    """For previews: the valid part of ``raw`` in normal form (bad values fall back to the
    preset's) and the errors of the rest. Never raises."""
    try:
        preset, overrides, errors = _check_shape(raw)
    except ThemeError as error:
        return {"preset": DEFAULT_PRESET, "overrides": {}}, error.errors
    clean = _check_overrides(preset, overrides, errors)
    return {"preset": preset, "overrides": dict(sorted(clean.items()))}, errors


def stored_theme(raw: object) -> dict:
    """A theme read back from the database, in normal form; the default preset if it no
    longer validates (e.g. a preset removed since), so a page always renders."""
    try:
        return validate_theme(raw)
    except ThemeError:
        return {"preset": DEFAULT_PRESET, "overrides": {}}


def resolve(theme: dict) -> dict[str, str]:
    """Every variable's value for a normal-form ``theme``: its preset's, then the overrides."""
    return {**PRESETS[theme["preset"]].values, **theme["overrides"]}
