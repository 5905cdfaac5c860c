"""The theme editor's form (storefront.forms): a preset and one input per theme variable.

Inputs are named after the variables. A colour has a text input (``<name>``, any accepted
syntax), a colour picker (``<name>__picker``) and the picker's value when the page was drawn
(``<name>__was``): a picker that moved wins, so the picker works without JavaScript too (with
JavaScript, admin-theme.js keeps the three in step). A length is a number (``<name>``) and a
unit (``<name>__unit``). ``base_preset`` is the preset the inputs were filled from: a post
naming another preset is a switch, and the inputs are filled from the new preset.

Each variable's value is checked by ``validation.normalise_value`` (the one rule of every
theme write, with its messages); ``raw_theme()`` gives what was posted as a raw theme for
``themes.services.update_theme`` or ``validation.partial_theme``. A variable missing from a
post is no override (the preset's value stands).
"""
from __future__ import annotations

from wtforms import Field
from wtforms.utils import unset_value
from wtforms.validators import StopValidation

from storefront.forms import AdminForm, Choice, Text
from storefront.themes.css import to_rgb
from storefront.themes.presets import PRESETS
from storefront.themes.validation import (
    LENGTH_UNITS,
    VARIABLES,
    Variable,
    normalise_color,
    normalise_value,
    resolve,
)

# Typed input is echoed back as typed, but not without limit; what is checked may be longer
# (so "too long" is said of it, not of a cut copy).
ECHO_LIMIT = 200
CHECK_LIMIT = 2 * ECHO_LIMIT
PRESET_MESSAGE = "Choose one of the presets: " + ", ".join(p.label for p in PRESETS.values()) + "."


def to_hex(color: str) -> str:
    """``#rrggbb`` of a colour in normal form (what ``<input type=color>`` takes)."""
    return "#{:02x}{:02x}{:02x}".format(*(min(255, max(0, round(c))) for c in to_rgb(color)))


def _picker_hex(text: str, fallback: str) -> str:
    try:
        return to_hex(normalise_color(text.strip(" ")))
    except (ValueError, TypeError):
        return fallback


def _split_length(value: str) -> tuple[str, str]:
    for unit in sorted(LENGTH_UNITS, key=len, reverse=True):
        if value.endswith(unit):
            return value[: -len(unit)], unit
    return value, "px"


class Setting(Field):
    """One theme variable (``variable``), read from its input and, for a colour or a length,
    the inputs beside it. ``text`` is what the main input shows, ``picker``/``was`` a colour's
    picker value, ``unit`` a length's unit; ``data`` is the override to check (None: not
    posted). Its one check is ``normalise_value``, whose message names the variable."""

    kind, input_type = "input", "text"
    max_length = None
    choices = None

    def __init__(self, variable: Variable, **kwargs) -> None:
        super().__init__(variable.label, **kwargs)  # named by its attribute: the variable's name
        self.variable = variable
        self.text, self.picker, self.was, self.unit = "", "#000000", "#000000", "px"

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.process_errors, self.data, self.raw_data = [], None, None
        if data is not unset_value and data is not None:
            self.show(data)
        if formdata is not None:
            value = formdata.get(self.name)
            self.raw_data = [] if value is None else [value]
            if value is not None:
                self.read(formdata, value[:CHECK_LIMIT])

    def show(self, value: str) -> None:
        """Fill the inputs from a stored value in normal form."""
        kind = self.variable.kind
        if kind == "color":
            self.text, self.picker, self.was = value, to_hex(value), to_hex(value)
        elif kind == "length":
            self.text, self.unit = _split_length(value)
        else:
            self.text = value

    def read(self, formdata, value: str) -> None:
        """Take the posted ``value`` (and its neighbours) as typed."""
        kind = self.variable.kind
        if kind == "color":
            picker, was = formdata.get(self.name + "__picker"), formdata.get(self.name + "__was")
            if picker and was and picker != was:  # the picker moved: it wins
                value = picker[:ECHO_LIMIT]
            self.picker = self.was = _picker_hex(value, (was or "#000000")[:7])
        self.text, self.data = value[:ECHO_LIMIT], value
        if kind == "length":
            self.unit = formdata.get(self.name + "__unit", "")[:ECHO_LIMIT]
            self.data = value.strip(" ") + self.unit

    def inputs(self) -> dict[str, str]:
        """Every input of this variable with the value it shows, by input name."""
        found = {self.name: self.text}
        if self.variable.kind == "color":
            found.update({self.name + "__picker": self.picker, self.name + "__was": self.was})
        elif self.variable.kind == "length":
            found[self.name + "__unit"] = self.unit
        return found

    def _value(self) -> str:
        return self.text

    def pre_validate(self, form) -> None:
        if self.data is None:
            return
        try:
            normalise_value(self.name, self.data)
        except ValueError as error:
            raise StopValidation(str(error)) from None


class ThemeForm(AdminForm):
    """The preset and every variable of ``validation.VARIABLES`` (as ``form[name]``). Build
    it with ``ThemeForm.of(company, ThemeForm.stored(theme))``."""

    preset = Choice("Preset", choices=[(key, p.label) for key, p in PRESETS.items()], message=PRESET_MESSAGE)
    base_preset = Text("Preset shown")

    @staticmethod
    def stored(theme: dict) -> dict:
        """The form's values for a normal-form ``theme``."""
        return {"preset": theme["preset"], "base_preset": theme["preset"], **resolve(theme)}

    def settings(self) -> list[Setting]:
        """The variables' fields, in ``VARIABLES`` order."""
        return [self[variable.name] for variable in VARIABLES]

    def switched_to(self) -> str | None:
        """The preset chosen instead of the one the inputs were filled from, if any: the
        inputs are then to be filled from it, and nothing else posted counts."""
        preset, base = self.preset.data, self.base_preset.data
        return preset if preset in PRESETS and base in PRESETS and preset != base else None

    def base(self) -> str:
        """What ``base_preset`` carries into the next post: the preset now shown."""
        return self.preset.data if self.preset.data in PRESETS else (self.base_preset.data or "")[:ECHO_LIMIT]

    def raw_theme(self) -> dict:
        """What was posted as a raw theme: the preset and every posted variable as an
        override (``validate_theme`` keeps only those that differ from the preset)."""
        return {"preset": (self.preset.data or "")[:ECHO_LIMIT], "overrides": {f.name: f.data for f in self.settings() if f.data is not None}}

    def inputs(self) -> dict[str, str]:
        """Every input's value as the editor shows it, by input name (a post of the form)."""
        found = {"preset": self.preset.data or "", "base_preset": self.base()}
        for setting in self.settings():
            found.update(setting.inputs())
        return found

    def messages(self) -> dict[str, str]:
        """The first error of each input, by input name; errors of the whole form under
        ``form`` (the editor's error slots)."""
        found = {name: errors[0] for name, errors in self.errors.items() if name and errors}
        if self.form_errors:
            found["form"] = self.form_errors[0]
        return found


for _variable in VARIABLES:
    setattr(ThemeForm, _variable.name, Setting(_variable))
