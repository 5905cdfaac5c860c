"""The theme editor's form: its field values from a theme, and a raw theme from a post.

Fields are named after the variables. A colour has a text input (``<name>``, any accepted
syntax), a colour picker (``<name>__picker``) and the picker's value when the page was drawn
(``<name>__was``): a picker that moved wins, so the picker works without JavaScript too (with
JavaScript, admin-theme.js keeps the three in step). A length is a number (``<name>``) and a
unit (``<name>__unit``). ``base_preset`` is the preset the fields were filled from: a post
naming another preset is a switch, and the fields are filled from the new preset.
"""
from __future__ import annotations

from collections.abc import Mapping

from storefront.themes.css import to_rgb
from storefront.themes.presets import PRESETS
from storefront.themes.validation import (
    BY_NAME,
    LENGTH_UNITS,
    VARIABLES,
    ThemeError,
    normalise_color,
    resolve,
)

# Typed input is echoed back as typed, but not without limit.
ECHO_LIMIT = 200


def to_hex(color: str) -> str:
    """``#rrggbb`` of a colour in normal form (what ``<input type=color>`` takes)."""
    return "#{:02x}{:02x}{:02x}".format(*(min(255, max(0, round(c))) for c in to_rgb(color)))


def _split_length(value: str) -> tuple[str, str]:
    for unit in sorted(LENGTH_UNITS, key=len, reverse=True):
        if value.endswith(unit):
            return value[: -len(unit)], unit
    return value, "px"


def fields_from_theme(theme: dict) -> dict[str, str]:
    """Every form field's value for a normal-form ``theme`` (base_preset included)."""
    fields = {"preset": theme["preset"], "base_preset": theme["preset"]}
    for name, value in resolve(theme).items():
        kind = BY_NAME[name].kind
        if kind == "color":
            fields[name] = value
            fields[name + "__picker"] = fields[name + "__was"] = to_hex(value)
        elif kind == "length":
            fields[name], fields[name + "__unit"] = _split_length(value)
        else:
            fields[name] = value
    return fields


def _picker_hex(text: str, fallback: str) -> str:
    try:
        return to_hex(normalise_color(text.strip(" ")))
    except (ValueError, TypeError):
        return fallback


def theme_from_form(form: Mapping[str, str]) -> tuple[dict, dict[str, str], bool]:
    """(raw theme for validation, the fields to draw the form again with, preset switched?).

    The raw theme carries every posted variable as an override; ``validate_theme`` keeps
    only those that differ from the preset. Other posted names are ignored."""
    preset = (form.get("preset") or "")[:ECHO_LIMIT]
    base = form.get("base_preset")
    if preset in PRESETS and base in PRESETS and preset != base:
        return {"preset": preset, "overrides": {}}, fields_from_theme(
            {"preset": preset, "overrides": {}}), True
    overrides: dict[str, str] = {}
    fields = {"preset": preset, "base_preset": preset if preset in PRESETS else (base or "")}
    for variable in VARIABLES:
        name = variable.name
        value = form.get(name)
        if value is None:
            continue
        value = value[:ECHO_LIMIT * 2]
        if variable.kind == "color":
            picker, was = form.get(name + "__picker"), form.get(name + "__was")
            if picker and was and picker != was:
                value = picker[:ECHO_LIMIT]
            fields[name] = value[:ECHO_LIMIT]
            fields[name + "__picker"] = fields[name + "__was"] = _picker_hex(value, (was or "#000000")[:7])
        elif variable.kind == "length":
            unit = form.get(name + "__unit", "")[:ECHO_LIMIT]
            fields[name], fields[name + "__unit"] = value[:ECHO_LIMIT], unit
            value = value.strip(" ") + unit
        else:
            fields[name] = value[:ECHO_LIMIT]
        overrides[name] = value
    return {"preset": preset, "overrides": overrides}, fields, False


def errors_for_fields(error: ThemeError) -> dict[str, str]:
    """ThemeError messages keyed by form field (``theme``/``overrides`` go under ``form``)."""
    return {(k if k in BY_NAME or k == "preset" else "form"): v for k, v in error.errors.items()}
