"""How well the checkout churn detector guessed (issue 11, §6 and the alerts of §7): the
shoppers it flagged in a period (REALTIME saves shown, by ``sent_at``), against what they
did next (``realtime``'s ``result``).

- **abandoned**: flagged, then left without ordering: the detector was right;
- **saved**: flagged, took the save ("Apply"/"Continue"), then bought: counted as right,
  since a shopper who takes the offer was hesitating (it cannot be known whether they
  would have left; the count is shown apart so the merchant can judge);
- **bought anyway**: flagged, did not take the save, and bought: a false positive;
- **waiting**: no outcome yet (still on checkout, or idle less than ``CART_ABANDON_MINUTES``).

precision = (abandoned + saved) ÷ decided; false positives = bought anyway ÷ decided, where
decided = abandoned + saved + bought anyway. The alert (issue §7, "churn false positives
over 30 %") fires above ``FALSE_POSITIVE_ALERT`` once ``MIN_DECIDED`` flags have an
outcome: below that, one or two shoppers would swing it.

Reads the merchant's REALTIME interventions of the period (``company_id`` index); small.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storefront.extensions import db
from storefront.recovery.models import CartIntervention
from storefront.recovery.stages import REALTIME

FALSE_POSITIVE_ALERT = 0.30
MIN_DECIDED = 10


@dataclass
class ChurnFigures:
    """Counts of the period's flagged shoppers by outcome, and the offers among them."""

    flagged: int = 0
    accepted: int = 0
    abandoned: int = 0
    saved: int = 0
    bought_anyway: int = 0
    codes_applied: int = 0

    @property
    def decided(self) -> int:
        return self.abandoned + self.saved + self.bought_anyway

    @property
    def waiting(self) -> int:
        return self.flagged - self.decided

    @property
    def precision(self) -> float | None:
        """(abandoned + saved) ÷ decided, None before any outcome."""
        return (self.abandoned + self.saved) / self.decided if self.decided else None

    @property
    def false_positive_rate(self) -> float | None:
        """bought anyway ÷ decided, None before any outcome."""
        return self.bought_anyway / self.decided if self.decided else None

    @property
    def alert(self) -> str | None:
        """The banner when false positives pass 30 % of at least ``MIN_DECIDED`` outcomes."""
        rate = self.false_positive_rate
        if rate is None or self.decided < MIN_DECIDED or rate <= FALSE_POSITIVE_ALERT:
            return None
        return (f"Checkout churn detection: {self.bought_anyway} of {self.decided} flagged shoppers bought without "
                f"the save ({rate:.0%} false positives, over {FALSE_POSITIVE_ALERT:.0%}): the in-page save shows "
                f"to shoppers who would have paid anyway.")


def classify(response: str | None, result: str | None) -> str | None:
    """The outcome of one save from its ``response`` (ACCEPTED, IGNORED or None) and
    ``result`` (BOUGHT, ABANDONED or None): "abandoned", "saved", "bought_anyway" or None
    (waiting)."""
    if result == "ABANDONED":
        return "abandoned"
    if result == "BOUGHT":
        return "saved" if response == "ACCEPTED" else "bought_anyway"
    return None


def churn_figures(company_id: int, since: datetime, until: datetime) -> ChurnFigures:
    """The figures of the saves shown at ``company_id`` from ``since`` (inclusive) to
    ``until`` (exclusive)."""
    rows = db.session.execute(select(CartIntervention.provider_response, CartIntervention.offer_code).where(
        CartIntervention.company_id == company_id, CartIntervention.stage == REALTIME,
        CartIntervention.sent_at >= since, CartIntervention.sent_at < until)).all()
    figures = ChurnFigures()
    for data, code in rows:
        data = data or {}
        figures.flagged += 1
        figures.accepted += data.get("response") == "ACCEPTED"
        figures.codes_applied += bool(code) and data.get("response") == "ACCEPTED"
        outcome = classify(data.get("response"), data.get("result"))
        if outcome:
            setattr(figures, outcome, getattr(figures, outcome) + 1)
    return figures
