"""The experiment form (admin): the page, a name, the hypothesis, the primary metric, the
control's share of traffic, and one or more variants, each a name, an optional new hero
heading and its share of traffic in percent.

Each variant becomes a copy of the page (sections, products, theme) that the merchant then
edits in the page builder (``landing.versions``); the heading is only a head start.

The rules, each reported on the input it is about (GrowthBook's experiment form refuses the
same cases; the issue's "Bad input" list):
- the shares of the control and the kept variants add up to 100 (every share is marked);
- at least one variant is kept;
- while the experiment runs, no variant is removed or added and no share changes: a
  visitor's variant comes from the split (``analytics.experiments.assign``), so another
  split would move returning visitors and break the sample ratio check.
"""
from __future__ import annotations

from wtforms import Form
from wtforms.fields import FieldList, FormField, HiddenField

from storefront.analytics.models import EXPERIMENT_METRICS
from storefront.forms import AdminForm, Choice, Flag, Paragraphs, Text, WholeNumber, to_id
from storefront.inputs import DB_INT_MAX

MAX_VARIANTS = 4  # besides the control; more splits the traffic too thin to ever conclude


class VariantEntry(Form):
    """One variant: ``variant_id`` (hidden: an existing variant's id, "" for a new one), its
    name, an optional new hero heading, its share of traffic, and ``remove``."""

    variant_id = HiddenField()
    name = Text("Variant name", required=True, max_length=80)
    headline = Text("New hero heading", max_length=200)
    weight = WholeNumber("Share of traffic (%)", low=1, high=99, required=True)
    remove = Flag("Remove this variant")

    @property
    def stored_id(self) -> int | None:
        """The existing variant's id, None for a new entry (or an unreadable id)."""
        return to_id(self.variant_id.data or "")


class Entries(FieldList):
    """A FieldList whose entry numbers are read as ASCII digits only: WTForms' own reader
    takes "²" for a digit and then fails to convert it (a 500 on a hand-made post)."""

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                number = key[offset:].split(self._field_separator, 1)[0]
                if number.isascii() and number.isdigit() and len(number) <= 3:
                    yield int(number)


class ExperimentForm(AdminForm):
    """A new or edited experiment. The route sets ``page.choices`` (the merchant's own
    pages) and, when editing, ``running`` and ``stored`` ({variant id: weight}, with the
    control's under "control") so ``check`` can refuse what a running experiment keeps."""

    page = Choice("Landing page", required=True, coerce=to_id)
    name = Text("Name", required=True, max_length=120)
    hypothesis = Paragraphs("Hypothesis", max_length=1000)
    metric = Choice("Primary metric", required=True, choices=list(EXPERIMENT_METRICS.items()))
    control_weight = WholeNumber("Control's share of traffic (%)", low=1, high=99, required=True)
    variants = Entries(FormField(VariantEntry), min_entries=1, max_entries=MAX_VARIANTS)
    # The "Add a variant" button: the post shows the form again with one more blank variant.
    add_variant = Flag("Add a variant")

    editing = False
    running = False
    stored: dict = {}

    def skipped(self) -> set[str]:
        # An experiment stays on its page: the page is chosen once, when it is created.
        return {"page"} if self.editing else set()

    def kept(self) -> list[VariantEntry]:
        """The variant entries not marked for removal."""
        return [entry.form for entry in self.variants if not entry.form.remove.data]

    def check(self) -> None:
        entries = [entry.form for entry in self.variants]
        for entry in entries:
            if entry.remove.data:  # what a removed variant says no longer matters
                entry.name.errors, entry.headline.errors, entry.weight.errors = [], [], []
        kept = self.kept()
        if not kept:
            entries[0].remove.errors = ["Keep at least one variant: an experiment compares the control with it."]
        if self.running:
            self._keep_running_split(entries)
        weights = [self.control_weight] + [entry.weight for entry in kept]
        if kept and not any(field.errors for field in weights):
            total = sum(field.data for field in weights)
            if total != 100:
                message = f"The shares must add up to 100 % (now {total} %)."
                for field in weights:
                    field.errors = [*field.errors, message]
        # FieldList keeps the errors its validate() saw: add the ones found here.
        found = [entry.errors for entry in self.variants.entries]
        self.variants.errors = found if any(found) else []

    def _keep_running_split(self, entries: list[VariantEntry]) -> None:
        if self.control_weight.data is not None and self.control_weight.data != self.stored.get("control"):
            self.control_weight.errors = [*self.control_weight.errors,
                                          "The split cannot change while the experiment runs: stop it first."]
        for entry in entries:
            known = entry.stored_id in self.stored
            if not known:
                entry.name.errors = [*entry.name.errors,
                                     "Variants can be added only before the experiment starts."]
            elif entry.remove.data:
                entry.remove.errors = ["A running experiment keeps its variants: stop it first, or conclude it."]
            elif entry.weight.data is not None and entry.weight.data != self.stored[entry.stored_id]:
                entry.weight.errors = [*entry.weight.errors,
                                       "The split cannot change while the experiment runs: stop it first."]

    def problems(self) -> tuple[dict[str, str], dict[str, str]]:
        """({input id: first message}, {input id: label}) over every input, the variants'
        included, for the error summary (``admin/_forms.html`` ``error_summary``)."""
        messages: dict[str, str] = {}
        labels: dict[str, str] = {}
        for field in self:
            if field.name == "variants":
                for number, entry in enumerate(field, start=1):
                    for sub in entry.form:
                        if sub.errors:
                            messages[sub.id], labels[sub.id] = sub.errors[0], f"Variant {number}: {sub.label.text}"
            elif field.errors:
                messages[field.id], labels[field.id] = field.errors[0], field.label.text
        for message in self.form_errors:
            messages["form"] = message
        return messages, labels


class RetentionForm(AdminForm):
    """How many days the raw event log is kept (``analytics.retention``: 31 to 1,825)."""

    days = WholeNumber("Keep raw events for (days)", low=31, high=1825, required=True)



class ConcludeForm(AdminForm):
    """Conclude an experiment with the chosen ``variant`` (a variant id; whether it is one of
    this experiment's is the service's rule, ``analytics.experiments.conclude``)."""

    variant = WholeNumber("Winning version", low=1, high=DB_INT_MAX)
