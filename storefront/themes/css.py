"""Rendering a theme to CSS, and the WCAG contrast checks of its colours.

``render_css`` writes custom properties only from a theme in normal form
(``validation.validate_theme``), then checks the text once more: a value holding any
character outside a small safe set is a bug, and raises rather than being served.
The drawer side and the button style are not properties: they are data attributes
(``data_attributes``) that the rules appended to ``storefront.css`` select on.
"""
from __future__ import annotations

import colorsys
import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from storefront.themes.presets import FONT_STACKS, PRESETS, SHADOWS
from storefront.themes.validation import ATTRIBUTE_VARIABLES, VARIABLES, resolve

AA_NORMAL_TEXT = 4.5
# Letters, digits, space and the punctuation of colours, lengths and font stacks.
_SAFE_VALUE = re.compile(r'[A-Za-z0-9 #%(),."\-]{1,200}')
_ALLOWED_SCOPES = frozenset({":root", ".theme-preview"} | {".swatches-" + key for key in PRESETS})


def css_values(values: dict[str, str]) -> dict[str, str]:
    """``{"--color-bg": "#ffffff", ...}`` for resolved ``values``: enumeration keys become
    their font stack or shadow; the attribute enumerations are left out."""
    out = {}
    for variable in VARIABLES:
        if variable.name in ATTRIBUTE_VARIABLES:
            continue
        value = values[variable.name]
        if variable.name == "font-family":
            value = FONT_STACKS[value][1]
        elif variable.name == "shadow":
            value = SHADOWS[value]
        out["--" + variable.name] = value
    return out


def render_css(theme: dict, scope: str = ":root") -> str:
    """The CSS text of a normal-form ``theme``: ``<scope>{--color-bg:#ffffff;...}``.

    ``scope`` is ``:root`` (the landing page), ``.theme-preview`` (the admin preview) or
    ``.swatches-<preset>`` (the editor's preset cards).
    Raises ValueError if any value is not plainly safe (it cannot be, once validated)."""
    if scope not in _ALLOWED_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    declarations = []
    for prop, value in css_values(resolve(theme)).items():
        if not _SAFE_VALUE.fullmatch(value):
            raise ValueError(f"unsafe value for {prop}")
        declarations.append(f"  {prop}: {value};")
    header = f"/* theme: {PRESETS[theme['preset']].key} */\n"
    return header + scope + " {\n" + "\n".join(declarations) + "\n}\n"


@lru_cache(maxsize=1)
def presets_css() -> tuple[str, str]:
    """(CSS text, content hash) of every preset's variables, scoped to ``.swatches-<key>``
    for the swatches of the editor's preset cards."""
    css = "".join(render_css({"preset": key, "overrides": {}}, ".swatches-" + key) for key in PRESETS)
    return css, hashlib.sha256(css.encode()).hexdigest()[:20]


def data_attributes(values: dict[str, str]) -> dict[str, str]:
    """``{"data-drawer-side": "left", "data-button-style": "pill"}`` for resolved values."""
    return {"data-" + name: values[name] for name in ATTRIBUTE_VARIABLES}


@lru_cache(maxsize=512)
def _stylesheet(key: str, preset: str, overrides: tuple) -> tuple[str, str]:
    css = render_css({"preset": preset, "overrides": dict(overrides)})
    return css, hashlib.sha256(css.encode()).hexdigest()[:20]


def stylesheet(theme: dict) -> tuple[str, str]:
    """(CSS text, content hash) of a normal-form theme at ``:root``; cached per theme, as
    every landing-page view asks for the hash of its stylesheet's URL."""
    overrides = tuple(sorted(theme["overrides"].items()))
    return _stylesheet(repr((theme["preset"], overrides)), theme["preset"], overrides)


# --- contrast (WCAG 2.x) -------------------------------------------------------------------

def to_rgb(color: str) -> tuple[float, float, float]:
    """A normal-form colour as (r, g, b), each 0..255."""
    if color.startswith("#"):
        return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    numbers = [float(n) for n in re.findall(r"[0-9.]+", color)]
    if color.startswith("rgb"):
        return numbers[0], numbers[1], numbers[2]
    red, green, blue = colorsys.hls_to_rgb(numbers[0] / 360 % 1.0, numbers[2] / 100, numbers[1] / 100)
    return red * 255, green * 255, blue * 255


def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of a normal-form colour, 0 (black) .. 1 (white)."""
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in to_rgb(color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two normal-form colours, 1.0 .. 21.0 (order does not matter)."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# (foreground, background, where the pair is seen): a name is a variable, "#..." a literal
# colour fixed in storefront.css.
CONTRAST_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("color-text", "color-bg", "Text on background"),
    ("color-muted", "color-bg", "Muted text on background"),
    ("color-text", "color-surface", "Text on surface"),
    ("color-muted", "color-surface", "Muted text on surface"),
    ("color-primary-text", "color-primary", "Button text on primary"),
    ("color-primary", "color-bg", "Primary (links, outline buttons) on background"),
    ("#ffffff", "color-badge", "Cart badge count (white) on badge"),
    ("color-accent", "color-bg", "Accent (sale badge, low stock) on background"),
    ("color-error", "color-bg", "Error on background"),
    ("color-success", "color-bg", "Success on background"),
)


@dataclass(frozen=True)
class ContrastWarning:
    """A pair under 4.5:1: ``ratio`` truncated to 2 places (4.499 shows as 4.49, never as
    a passing 4.5); colours in normal form."""

    label: str
    foreground: str
    background: str
    ratio: float


def contrast_warnings(values: dict[str, str]) -> list[ContrastWarning]:
    """The pairs of CONTRAST_PAIRS whose ratio is under 4.5:1 (WCAG AA, normal text)."""
    warnings = []
    for fg_name, bg_name, label in CONTRAST_PAIRS:
        fg = fg_name if fg_name.startswith("#") else values[fg_name]
        bg = values[bg_name]
        ratio = contrast_ratio(fg, bg)
        if ratio < AA_NORMAL_TEXT:
            warnings.append(ContrastWarning(label, fg, bg, math.floor(ratio * 100) / 100))
    return warnings
