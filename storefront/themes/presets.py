"""The nine theme presets, the allow-listed font stacks and the fixed shadows.

Every preset sets every variable of ``themes.validation.VARIABLES`` in normal form (a test
checks it), and every colour pair of ``themes.css.CONTRAST_PAIRS`` reaches 4.5:1. "Classic"
is the look of ``storefront.css`` itself, the default of a page without a theme.
"""
from __future__ import annotations

from dataclasses import dataclass

# System font stacks only (no web fonts to load): https://modernfontstacks.com
FONT_STACKS: dict[str, tuple[str, str]] = {
    "system-sans": ("System sans-serif", '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'),
    "humanist-sans": ("Humanist sans-serif", 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif'),
    "geometric-sans": ("Geometric sans-serif", 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif'),
    "transitional-serif": ("Transitional serif", 'Charter, "Bitstream Charter", "Sitka Text", Cambria, serif'),
    "old-style-serif": ("Old-style serif", '"Iowan Old Style", "Palatino Linotype", "URW Palladio L", P052, serif'),
    "monospace": ("Monospace", 'ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, "DejaVu Sans Mono", monospace'),
    "rounded": ("Rounded sans-serif", 'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, "Arial Rounded MT", Calibri, source-sans-pro, sans-serif'),
}

SHADOWS: dict[str, str] = {
    "none": "none",
    "soft": "0 10px 30px rgba(0, 0, 0, .14)",
    "strong": "0 20px 50px rgba(0, 0, 0, .38)",
}


@dataclass(frozen=True)
class Preset:
    """A named look: ``values`` maps every variable name to its normal-form value."""

    key: str
    label: str
    description: str
    values: dict[str, str]


def _preset(key, label, description, colors, **rest) -> Preset:
    names = ("bg", "surface", "text", "muted", "primary", "primary-text", "accent", "border",
             "badge", "success", "error")
    values = {f"color-{n}": c for n, c in zip(names, colors.split(), strict=True)}
    values.update({k.replace("_", "-"): v for k, v in rest.items()})
    return Preset(key, label, description, values)


_LIST = [
    #        bg       surface  text     muted    primary  pr-text  accent   border   badge    success  error
    _preset("classic", "Classic", "The shop's own look: forest green on warm white.",
            "#ffffff #f6f5f2 #1c1b1a #5f5b55 #1f3d2b #ffffff #c2410c #e3e0da #b91c1c #15803d #b91c1c",
            radius="10px", font_family="system-sans", font_size="16px", space="1rem",
            drawer_width="420px", drawer_side="right", button_style="solid", shadow="soft",
            overlay_opacity="0.45"),
    _preset("minimal", "Minimal", "Black on white, square corners, no shadow.",
            "#ffffff #fafafa #111111 #595959 #111111 #ffffff #b45309 #e5e5e5 #111111 #15803d #b91c1c",
            radius="2px", font_family="system-sans", font_size="16px", space="1rem",
            drawer_width="400px", drawer_side="right", button_style="outline", shadow="none",
            overlay_opacity="0.3"),
    _preset("bold", "Bold", "Red and black, big type, hard edges and a deep shadow.",
            "#ffffff #fff1e6 #0a0a0a #4a4a4a #c8102e #ffffff #1d4ed8 #0a0a0a #c8102e #15803d #b91c1c",
            radius="0px", font_family="geometric-sans", font_size="17px", space="1.125rem",
            drawer_width="460px", drawer_side="right", button_style="solid", shadow="strong",
            overlay_opacity="0.6"),
    _preset("luxe", "Luxe", "Ivory and ink with a serif face and gold accents.",
            "#fbf8f3 #f1ebe1 #1a1614 #5e554c #1a1614 #f5ecdc #7a5c14 #d9cfc0 #8a1c2b #2f6b3a #a3202f",
            radius="0px", font_family="old-style-serif", font_size="17px", space="1.25rem",
            drawer_width="440px", drawer_side="right", button_style="outline", shadow="soft",
            overlay_opacity="0.5"),
    _preset("playful", "Playful", "Violet and pink, rounded type and pill buttons.",
            "#fffdf7 #fdf0f6 #2a1f3d #6b5a80 #7c3aed #ffffff #a21caf #f3d1e6 #e11d48 #15803d #be123c",
            radius="18px", font_family="rounded", font_size="16px", space="1rem",
            drawer_width="400px", drawer_side="right", button_style="pill", shadow="soft",
            overlay_opacity="0.4"),
    _preset("dark", "Dark", "Light text on near-black, periwinkle buttons.",
            "#121212 #1e1e1e #f5f5f5 #a3a3a3 #a5b4fc #111827 #fb923c #333333 #dc2626 #4ade80 #f87171",
            radius="12px", font_family="system-sans", font_size="16px", space="1rem",
            drawer_width="420px", drawer_side="right", button_style="solid", shadow="strong",
            overlay_opacity="0.7"),
    _preset("organic", "Organic", "Moss, clay and linen with a humanist face.",
            "#fbfaf5 #eef0e6 #2b2a22 #5d5f4e #4d6b3c #ffffff #9a4a1e #dcdccb #9a3412 #3f6f2a #a1281b",
            radius="16px", font_family="humanist-sans", font_size="16px", space="1.125rem",
            drawer_width="420px", drawer_side="right", button_style="pill", shadow="soft",
            overlay_opacity="0.4"),
    _preset("tech", "Tech", "Slate and electric blue, monospace, drawer on the left.",
            "#f8fafc #eef2f7 #0f172a #475569 #2563eb #ffffff #0e7490 #cbd5e1 #dc2626 #047857 #b91c1c",
            radius="4px", font_family="monospace", font_size="15px", space="0.875rem",
            drawer_width="400px", drawer_side="left", button_style="solid", shadow="soft",
            overlay_opacity="0.5"),
    _preset("high-contrast", "High-contrast", "Black on white at 7:1 or more, larger type.",
            "#ffffff #ffffff #000000 #333333 #000000 #ffffff #0033cc #000000 #000000 #006400 #b00000",
            radius="4px", font_family="system-sans", font_size="18px", space="1.125rem",
            drawer_width="480px", drawer_side="right", button_style="solid", shadow="none",
            overlay_opacity="0.8"),
]

PRESETS: dict[str, Preset] = {p.key: p for p in _LIST}
DEFAULT_PRESET = "classic"
