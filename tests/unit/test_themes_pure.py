"""Themes as pure functions (named apart from tests/functional/admin/test_themes.py, as test
modules share one namespace): presets complete and valid, validation of good and hostile
values, CSS rendering only from the normal form, and WCAG contrast."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from storefront.themes.css import (
    CONTRAST_PAIRS,
    contrast_ratio,
    contrast_warnings,
    data_attributes,
    presets_css,
    render_css,
    stylesheet,
)
from storefront.themes.forms import ThemeForm, to_hex
from storefront.themes.presets import DEFAULT_PRESET, FONT_STACKS, PRESETS, SHADOWS
from storefront.themes.validation import (
    BY_NAME,
    VARIABLES,
    ThemeError,
    normalise_value,
    partial_theme,
    resolve,
    stored_theme,
    validate_theme,
)

STOREFRONT_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "storefront.css"
STOREFRONT_CSS_VARIABLES = (
    "--color-bg --color-surface --color-text --color-muted --color-primary --color-primary-text "
    "--color-accent --color-border --color-badge --color-success --color-error --radius "
    "--font-family --font-size --space --drawer-width --shadow --overlay-opacity"
).split()

HOSTILE = [
    "red;}</style><script>alert(1)</script>",
    "#fff;}body{background:url(javascript:alert(1))}",
    "url(javascript:alert(1))",
    "expression(alert(1))",
    "#fff\\;",
    "\\23 fff",
    "#fff\n}body{display:none",
    "#fff /* */",
    "/*",
    "*/",
    "#fff\x00",
    "#ｆｆｆ",  # fullwidth letters
    "#fff\u200b",  # zero-width space
    "rgb(\u0661\u0662, 0, 0)",  # Arabic-Indic digits
    "１２px",  # fullwidth digits
    "12px\u202e",  # right-to-left override
    "<img src=x onerror=alert(1)>",
    "\"><script>alert(1)</script>",
    "var(--color-text)",
    "calc(100% - 1px)",
    "inherit",
    "!important",
    "12px !important",
    "a" * 10_000,
    "#" + "f" * 70,
]


def test_there_are_nine_presets_named_for_their_look():
    labels = {p.label for p in PRESETS.values()}
    assert labels == {"Minimal", "Bold", "Luxe", "Playful", "Dark", "Organic", "Tech", "Classic", "High-contrast"}
    assert DEFAULT_PRESET in PRESETS


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_is_complete_and_in_normal_form(key):
    values = PRESETS[key].values
    assert set(values) == {v.name for v in VARIABLES}
    for name, value in values.items():
        assert normalise_value(name, value) == value, name
    assert validate_theme({"preset": key}) == {"preset": key, "overrides": {}}


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_renders_every_storefront_variable_and_passes_contrast(key):
    css = render_css({"preset": key, "overrides": {}})
    declared = re.findall(r"(--[a-z-]+):", css)
    assert sorted(declared) == sorted(STOREFRONT_CSS_VARIABLES)
    assert contrast_warnings(PRESETS[key].values) == []


def test_the_stylesheet_itself_uses_every_variable_the_presets_set():
    with open(STOREFRONT_CSS, encoding="utf-8") as handle:
        sheet = handle.read()
    for variable in STOREFRONT_CSS_VARIABLES:
        assert f"var({variable})" in sheet, variable


def test_classic_is_the_stylesheets_own_look():
    with open(STOREFRONT_CSS, encoding="utf-8") as handle:
        root = handle.read().split("}", 1)[0]
    for prop, value in re.findall(r"(--color-[a-z-]+): (#[0-9a-f]{6})", root):
        assert PRESETS["classic"].values[prop[2:]] == value


@pytest.mark.parametrize(("name", "raw", "normal"), [
    ("color-primary", "#ABC", "#aabbcc"),
    ("color-primary", "#1f3d2b", "#1f3d2b"),
    ("color-primary", " #1F3D2B ", "#1f3d2b"),
    ("color-primary", "rgb(255, 0, 10)", "rgb(255, 0, 10)"),
    ("color-primary", "rgb(255 0 10)", "rgb(255, 0, 10)"),
    ("color-primary", "RGB(100%,0%,50%)", "rgb(255, 0, 128)"),
    ("color-primary", "hsl(210, 50%, 40%)", "hsl(210, 50%, 40%)"),
    ("color-primary", "hsl(210deg 50.5% 40%)", "hsl(210, 50.5%, 40%)"),
    ("radius", "12px", "12px"),
    ("radius", "0px", "0px"),
    ("radius", "0.5REM", "0.5rem"),
    ("radius", "2em", "2em"),
    ("font-size", "1.125rem", "1.125rem"),
    ("drawer-width", "640px", "640px"),
    ("overlay-opacity", "0.45", "0.45"),
    ("overlay-opacity", ".9", "0.9"),
    ("overlay-opacity", 0.5, "0.5"),
    ("overlay-opacity", "0", "0"),
    ("font-family", "old-style-serif", "old-style-serif"),
    ("shadow", "strong", "strong"),
    ("drawer-side", "left", "left"),
    ("button-style", "pill", "pill"),
])
def test_good_values_are_normalised(name, raw, normal):
    assert normalise_value(name, raw) == normal


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("color-primary", "red", "hex colour"),
    ("color-primary", "#abcd", "hex colour"),
    ("color-primary", "rgb(256, 0, 0)", "0 to 255"),
    ("color-primary", "rgb(101%, 0%, 0%)", "0% to 100%"),
    ("color-primary", "rgba(0, 0, 0, .5)", "hex colour"),
    ("color-primary", "hsl(361, 50%, 50%)", "hue must be 0 to 360"),
    ("color-primary", "hsl(10, 150%, 50%)", "0% to 100%"),
    ("color-primary", "hsl(10, 50, 50)", "hex colour"),
    ("color-primary", "", "required"),
    ("radius", "12", "a number and a unit"),
    ("radius", "12pt", "a number and a unit"),
    ("radius", "-1px", "a number and a unit"),
    ("radius", "33px", "between 0px and 32px"),
    ("font-size", "8px", "between 14px and 22px"),
    ("font-size", "3rem", "between 14px and 22px"),
    ("drawer-width", "100vw", "a number and a unit"),
    ("drawer-width", "2000px", "between 280px and 640px"),
    ("space", "1e3px", "a number and a unit"),
    ("overlay-opacity", "0.95", "from 0 to 0.9"),
    ("overlay-opacity", "50%", "from 0 to 0.9"),
    ("overlay-opacity", True, "must be text"),
    ("font-family", "Comic Sans MS", "must be one of"),
    ("shadow", "0 0 10px red", "must be one of"),
    ("drawer-side", "top", "must be one of: right, left"),
    ("button-style", "Pill", "must be one of"),
    ("radius", ["12px"], "must be text"),
    ("radius", {"a": 1}, "must be text"),
])
def test_bad_values_get_a_clear_message_naming_the_field(name, raw, message):
    with pytest.raises(ValueError) as caught:
        normalise_value(name, raw)
    assert message in str(caught.value)
    assert str(caught.value).startswith(BY_NAME[name].label)


@pytest.mark.parametrize("name", [v.name for v in VARIABLES])
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_are_rejected_in_every_variable(name, hostile):
    with pytest.raises(ThemeError) as caught:
        validate_theme({"preset": "classic", "overrides": {name: hostile}})
    assert set(caught.value.errors) == {name}
    assert caught.value.errors[name].startswith(BY_NAME[name].label)


def test_a_very_long_value_is_too_long():
    with pytest.raises(ThemeError) as caught:
        validate_theme({"overrides": {"color-bg": "#" + "f" * 10_000}})
    assert "too long" in caught.value.errors["color-bg"]


@pytest.mark.parametrize(("raw", "field", "message"), [
    ("dark", "theme", "an object"),
    (["dark"], "theme", "an object"),
    ({"preset": "dark", "css": "body{}"}, "theme", "Unknown theme key 'css'"),
    ({"preset": "neon"}, "preset", "Choose one of the presets"),
    ({"preset": "<script>"}, "preset", "Choose one of the presets"),
    ({"preset": ["dark"]}, "preset", "Choose one of the presets"),
    ({"overrides": "color-bg: red"}, "overrides", "map setting names"),
    ({"overrides": {"background-image": "url(x)"}}, "overrides", "Unknown setting 'background-image'"),
    ({"overrides": {"color-bg;}": "#fff"}}, "overrides", "Unknown setting"),
    ({"overrides": {"x" * 500: "#fff"}}, "overrides", "..."),
])
def test_theme_shape_is_checked(raw, field, message):
    with pytest.raises(ThemeError) as caught:
        validate_theme(raw)
    assert message in caught.value.errors[field]
    assert len(caught.value.errors[field]) < 200


def test_overrides_equal_to_the_preset_are_dropped_and_keys_may_carry_dashes():
    theme = validate_theme({"preset": "dark", "overrides": {
        "--color-bg": "#121212", "color-primary": "#F00", "radius": "12px", "drawer-side": "left"}})
    assert theme == {"preset": "dark", "overrides": {"color-primary": "#ff0000", "drawer-side": "left"}}


def test_empty_theme_is_the_default_preset():
    assert validate_theme({}) == validate_theme(None) == {"preset": DEFAULT_PRESET, "overrides": {}}


def test_every_error_is_reported_at_once_and_nothing_is_accepted():
    with pytest.raises(ThemeError) as caught:
        validate_theme({"preset": "dark", "overrides": {"color-bg": "red", "radius": "99px", "space": "1rem"}})
    assert set(caught.value.errors) == {"color-bg", "radius"}


def test_partial_theme_keeps_the_valid_part():
    theme, errors = partial_theme({"preset": "tech", "overrides": {"color-bg": "red;}", "radius": "8px"}})
    assert theme == {"preset": "tech", "overrides": {"radius": "8px"}}
    assert set(errors) == {"color-bg"}
    assert partial_theme("nonsense")[0] == {"preset": DEFAULT_PRESET, "overrides": {}}


def test_stored_theme_falls_back_to_the_default_when_invalid():
    assert stored_theme({"preset": "gone"}) == {"preset": DEFAULT_PRESET, "overrides": {}}
    assert stored_theme({"preset": "luxe", "overrides": {"radius": "4px"}})["overrides"] == {"radius": "4px"}


def test_render_css_writes_the_normal_form_only():
    theme = validate_theme({"preset": "bold", "overrides": {
        "color-primary": "RGB(1 2 3)", "font-family": "monospace", "shadow": "none", "radius": "0.5REM"}})
    css = render_css(theme)
    assert css.startswith("/* theme: bold */\n:root {")
    assert "  --color-primary: rgb(1, 2, 3);" in css
    assert "  --radius: 0.5rem;" in css
    assert f"  --font-family: {FONT_STACKS['monospace'][1]};" in css
    assert "  --shadow: none;" in css
    assert "drawer-side" not in css and "button-style" not in css
    assert render_css(theme, ".theme-preview").split("\n")[1] == ".theme-preview {"
    with pytest.raises(ValueError):
        render_css(theme, "body{}")


def test_render_css_refuses_an_unsafe_value_even_if_it_got_past_validation():
    with pytest.raises(ValueError, match="unsafe"):
        render_css({"preset": "classic", "overrides": {"color-bg": "red;}</style>"}})


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from([v.name for v in VARIABLES]), value=st.text(max_size=80))
def test_whatever_is_posted_the_css_is_safe(name, value):
    theme, _errors = partial_theme({"preset": "classic", "overrides": {name: value}})
    css = render_css(theme)
    body = css.split("{", 1)[1].rsplit("}", 1)[0]
    assert not re.search(r"[{}<>\\;]", body.replace(";\n", "\n"))
    assert all(ord(c) < 128 for c in css)
    assert "url(" not in css and "expression" not in css and "/*" not in body


def test_stylesheet_hash_changes_with_the_theme():
    a_css, a_hash = stylesheet(validate_theme({"preset": "dark"}))
    b_css, b_hash = stylesheet(validate_theme({"preset": "dark", "overrides": {"radius": "2px"}}))
    assert a_hash != b_hash and re.fullmatch(r"[0-9a-f]{20}", a_hash)
    assert stylesheet(validate_theme({"preset": "dark"})) == (a_css, a_hash)


def test_presets_css_scopes_each_preset_to_its_swatches():
    css, digest = presets_css()
    for key in PRESETS:
        assert f".swatches-{key} {{" in css
    assert len(digest) == 20


def test_data_attributes():
    values = resolve(validate_theme({"preset": "tech", "overrides": {"button-style": "pill"}}))
    assert data_attributes(values) == {"data-drawer-side": "left", "data-button-style": "pill"}


def test_shadows_are_a_fixed_enumeration():
    assert set(SHADOWS) == {"none", "soft", "strong"}
    assert BY_NAME["shadow"].choices == ("none", "soft", "strong")


# --- contrast ---------------------------------------------------------------------------

@pytest.mark.parametrize(("fg", "bg", "ratio"), [
    ("#000000", "#ffffff", 21.0),
    ("#ffffff", "#ffffff", 1.0),
    ("#777777", "#ffffff", 4.48),
    ("#767676", "#ffffff", 4.54),
    ("#595959", "#ffffff", 7.0),
    ("#ffffff", "#0000ff", 8.59),
    ("#ff0000", "#ffffff", 4.0),
    ("rgb(119, 119, 119)", "#ffffff", 4.48),
    ("hsl(0, 0%, 0%)", "hsl(0, 0%, 100%)", 21.0),
    ("hsl(0, 100%, 50%)", "#ffffff", 4.0),
])
def test_contrast_ratio_matches_known_wcag_examples(fg, bg, ratio):
    assert contrast_ratio(fg, bg) == pytest.approx(ratio, abs=0.01)
    assert contrast_ratio(bg, fg) == pytest.approx(ratio, abs=0.01)


def test_contrast_warnings_name_each_pair_under_4_5():
    values = resolve(validate_theme({"preset": "classic", "overrides": {
        "color-muted": "#777777", "color-badge": "#ffcc00"}}))
    warnings = {w.label: w for w in contrast_warnings(values)}
    assert set(warnings) == {"Muted text on background", "Muted text on surface",
                             "Cart badge count (white) on badge"}
    assert warnings["Muted text on background"].ratio == 4.47  # 4.478, never shown as a pass
    assert warnings["Muted text on background"].foreground == "#777777"


def test_contrast_pairs_name_real_variables():
    for fg, bg, _label in CONTRAST_PAIRS:
        assert fg.startswith("#") or fg in BY_NAME
        assert bg in BY_NAME


# --- the editor's form ----------------------------------------------------------------------

@pytest.fixture()
def bare_app():
    """The form needs an application context (its translations), nothing more."""
    with Flask("themes-form").app_context():
        yield


def fields_from_theme(theme: dict) -> dict:
    return ThemeForm(formdata=None, data=ThemeForm.stored(theme)).inputs()


def theme_from_form(fields: dict) -> tuple[dict, dict, bool, ThemeForm]:
    """(raw theme, what the form shows again, preset switched?, the validated form)."""
    form = ThemeForm(formdata=MultiDict(fields))
    switched = form.switched_to()
    form.validate()
    raw = {"preset": switched, "overrides": {}} if switched else form.raw_theme()
    shown = fields_from_theme(raw) if switched else form.inputs()
    return raw, shown, bool(switched), form


def test_form_round_trip(bare_app):
    theme = validate_theme({"preset": "luxe", "overrides": {"color-primary": "hsl(10, 50%, 30%)", "radius": "0.25rem"}})
    fields = fields_from_theme(theme)
    assert fields["radius"] == "0.25" and fields["radius__unit"] == "rem"
    assert fields["color-primary__picker"] == fields["color-primary__was"] == to_hex("hsl(10, 50%, 30%)")
    raw, echoed, switched, form = theme_from_form(fields)
    assert not switched and validate_theme(raw) == theme and not form.errors
    assert echoed["color-primary"] == "hsl(10, 50%, 30%)"


def test_a_moved_picker_wins_over_the_text(bare_app):
    fields = fields_from_theme(validate_theme({"preset": "classic"}))
    fields["color-accent__picker"] = "#123456"
    raw, echoed, _, _ = theme_from_form(fields)
    assert validate_theme(raw)["overrides"] == {"color-accent": "#123456"}
    assert echoed["color-accent"] == "#123456"


def test_choosing_another_preset_refills_the_fields(bare_app):
    fields = fields_from_theme(validate_theme({"preset": "classic", "overrides": {"radius": "3px"}}))
    fields["preset"] = "dark"
    raw, echoed, switched, _ = theme_from_form(fields)
    assert switched and raw == {"preset": "dark", "overrides": {}}
    assert echoed["color-bg"] == "#121212" and echoed["base_preset"] == "dark"


def test_hostile_form_input_is_echoed_as_typed_but_bounded(bare_app):
    fields = fields_from_theme(validate_theme({}))
    fields["color-bg"] = "red;}</style>" + "x" * 5000
    fields["radius__unit"] = "px;}"
    raw, echoed, _, form = theme_from_form(fields)
    assert echoed["color-bg"].startswith("red;}</style>") and len(echoed["color-bg"]) == 200
    with pytest.raises(ThemeError) as caught:
        validate_theme(raw)
    assert set(caught.value.errors) == {"color-bg", "radius"}
    # The form says the same, with the rule's own messages, on the same inputs.
    assert form.messages() == caught.value.errors


def test_a_variable_left_out_of_a_post_is_no_override(bare_app):
    fields = fields_from_theme(validate_theme({"preset": "classic", "overrides": {"radius": "3px"}}))
    del fields["radius"]
    raw, _, _, form = theme_from_form(fields)
    assert "radius" not in raw["overrides"] and not form.errors
