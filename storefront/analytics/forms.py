"""The experiment form (admin): the page, a name, the hypothesis, the primary metric, and
the control and one variant with a headline, each with its share of traffic in percent."""
from __future__ import annotations

from storefront.analytics.models import EXPERIMENT_METRICS
from storefront.forms import AdminForm, Choice, Paragraphs, Text, WholeNumber, to_id


class ExperimentForm(AdminForm):
    """A new experiment; ``page.choices`` are set per merchant (its landing pages). The two
    weights must sum to 100: both are marked when they do not."""

    page = Choice("Landing page", required=True, coerce=to_id)
    name = Text("Name", required=True, max_length=120)
    hypothesis = Paragraphs("Hypothesis", max_length=1000)
    metric = Choice("Primary metric", required=True, choices=list(EXPERIMENT_METRICS.items()))
    control_weight = WholeNumber("Control's share of traffic (%)", low=1, high=99, required=True)
    variant_name = Text("Variant name", required=True, max_length=80)
    headline = Text("Variant headline", required=True, max_length=200)
    variant_weight = WholeNumber("Variant's share of traffic (%)", low=1, high=99, required=True)

    def check(self) -> None:
        if self.ok("control_weight", "variant_weight") and self.control_weight.data + self.variant_weight.data != 100:
            message = "The two shares must add up to 100 %."
            self.fail("control_weight", message)
            self.fail("variant_weight", message)


class RetentionForm(AdminForm):
    """How many days the raw event log is kept (``analytics.retention``: 31 to 1,825)."""

    days = WholeNumber("Keep raw events for (days)", low=31, high=1825, required=True)
