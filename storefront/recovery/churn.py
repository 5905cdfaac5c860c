"""Checkout churn risk: how likely the shopper now on checkout is to leave without paying,
from how they move through the form (issue 11, "Checkout churn detection"). Pure functions,
no database (unit-tested in tests/unit/test_churn_score.py).

The signals come from the field events ``static/js/field-events.js`` already sends
(``leads.field_events``); nothing a shopper types is read. The score is 0–100, a sum of
five capped parts, each 0 until its signal passes what an ordinary checkout shows:

==========================  ======  ==============================================  ==========
Signal                      Points  Scale                                           Reason key
==========================  ======  ==============================================  ==========
exit intent                 30      any EXIT_INTENT (pointer left through the top)  EXIT
idling on the payment card  25      0 at 15 s on a card field, full at 60 s         PAYMENT
repeated validation errors  20      20 × min(errors / 3, 1)                         ERRORS
tab switches                15      15 × min(switches / 3, 1)                       TABS
time on the form            10      0 up to 3 min, full at 10 min                   TIME
==========================  ======  ==============================================  ==========

Sources of the rules:

- the five signals and "above a merchant threshold" are the issue's list, in its order;
- exit intent weighs most: it is the one signal that is the act of leaving itself, and the
  trigger every exit-offer tool (the seed's exit offer, ``pricing.exit_offer``) acts on;
- validation errors and tab switches use the scales of the lead's live risk
  (``leads.value.abandonment_risk``: errors saturate at 3; switches at 2 there, 3 here,
  because one glance at a password manager or a banking app is normal on checkout);
- payment idling: Baymard Institute's checkout studies find payment the step where
  hesitation turns into leaving (unexpected costs, distrust of the card form, a declined
  card); 15 s is longer than typing a card takes, 60 s means the shopper is stuck;
- time on the form: Baymard puts an ordinary checkout at a few minutes; past 3 minutes the
  part grows, and 10 minutes on one form is a shopper who is not finishing.

``DEFAULT_THRESHOLD`` (50) is where the in-page save shows unless the merchant set their
own (REALTIME stage ``threshold``, 1–100): exit intent with a second
signal well on, or most of the others together; never one signal alone. The largest part names the
friction (``ChurnRisk.friction``): PAYMENT picks the payment alternative over a discount.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

DEFAULT_THRESHOLD = 50
EXIT_POINTS, PAYMENT_POINTS, ERROR_POINTS, TAB_POINTS, TIME_POINTS = 30, 25, 20, 15, 10
PAYMENT_IDLE_FROM_MS, PAYMENT_IDLE_FULL_MS = 15_000, 60_000
ERRORS_FULL, TABS_FULL = 3, 3
FORM_TIME_FROM_MS, FORM_TIME_FULL_MS = 3 * 60_000, 10 * 60_000
EXIT, PAYMENT, ERRORS, TABS, TIME = "EXIT", "PAYMENT", "ERRORS", "TABS", "TIME"
REASON_TEXT = {EXIT: "pointer left the page", PAYMENT: "idle on the card fields", ERRORS: "repeated form errors",
               TABS: "switched tabs", TIME: "long time on the form"}


@dataclass(frozen=True)
class ChurnSignals:
    """What the score reads: ``exit_intent`` (bool), ``payment_idle_ms`` (the longest time
    on a payment field without leaving it, ms), ``validation_errors`` and ``tab_switches``
    (counts) and ``form_ms`` (time since the first event on the form, ms)."""

    exit_intent: bool = False
    payment_idle_ms: int = 0
    validation_errors: int = 0
    tab_switches: int = 0
    form_ms: int = 0


@dataclass(frozen=True)
class ChurnRisk:
    """The score (0–100), its parts by reason key (points, only those above 0, largest
    first) and the friction: the reason key of the largest part, None at 0."""

    score: int
    parts: tuple[tuple[str, int], ...]

    @property
    def friction(self) -> str | None:
        return self.parts[0][0] if self.parts else None

    def reasons_text(self) -> str:
        """The parts in words, for the admin: "pointer left the page 30, switched tabs 10"."""
        return ", ".join(f"{REASON_TEXT[key]} {points}" for key, points in self.parts)

    def is_high(self, threshold: int = DEFAULT_THRESHOLD) -> bool:
        """True at or above ``threshold`` (1–100)."""
        return self.score >= threshold


def _ramp(value: int, start: int, full: int) -> float:
    """0 up to ``start``, 1 from ``full``, linear between."""
    if value <= start:
        return 0.0
    return min((value - start) / (full - start), 1.0)


def churn_risk(signals: ChurnSignals) -> ChurnRisk:
    """The risk of ``signals`` by the rule in the module docstring. Negative counts or times
    read as 0. Points are rounded half up per part, so the parts always add up to the score."""
    raw = {
        EXIT: EXIT_POINTS * bool(signals.exit_intent),
        PAYMENT: PAYMENT_POINTS * _ramp(signals.payment_idle_ms, PAYMENT_IDLE_FROM_MS, PAYMENT_IDLE_FULL_MS),
        ERRORS: ERROR_POINTS * min(max(signals.validation_errors, 0) / ERRORS_FULL, 1.0),
        TABS: TAB_POINTS * min(max(signals.tab_switches, 0) / TABS_FULL, 1.0),
        TIME: TIME_POINTS * _ramp(signals.form_ms, FORM_TIME_FROM_MS, FORM_TIME_FULL_MS),
    }
    order = {key: index for index, key in enumerate(raw)}
    parts = tuple(sorted(((key, int(points + 0.5)) for key, points in raw.items() if int(points + 0.5) > 0),
                         key=lambda part: (-part[1], order[part[0]])))
    return ChurnRisk(score=min(sum(points for _, points in parts), 100), parts=parts)


@dataclass(frozen=True)
class Event:
    """One field event as the score needs it: ``type`` (FOCUS, BLUR, VALIDATION_ERROR,
    TAB_HIDDEN, EXIT_INTENT...), ``group`` (customer, shipping, payment, page), ``focus_ms``
    of a BLUR (or None) and ``at`` (aware UTC)."""

    type: str
    group: str
    focus_ms: int | None
    at: datetime


def signals_from_events(events: Iterable[Event], now: datetime) -> ChurnSignals:
    """The signals of one checkout's events (any order), at ``now`` (aware UTC).

    - payment idling: the longest ``focus_ms`` of a payment BLUR, or, when the last payment
      FOCUS has no BLUR after it, the time from it to ``now`` (the shopper is still there);
    - validation errors: VALIDATION_ERROR events; tab switches: TAB_HIDDEN events;
    - time on the form: from the first event to ``now``.
    """
    ordered = sorted(events, key=lambda e: e.at)
    if not ordered:
        return ChurnSignals()
    idle, open_since = 0, None
    for event in ordered:
        if event.group != "payment":
            continue
        if event.type == "FOCUS":
            open_since = event.at
        elif event.type == "BLUR":
            idle = max(idle, event.focus_ms or 0)
            open_since = None
    if open_since is not None:
        idle = max(idle, int((now - open_since).total_seconds() * 1000))
    return ChurnSignals(
        exit_intent=any(e.type == "EXIT_INTENT" for e in ordered),
        payment_idle_ms=idle,
        validation_errors=sum(e.type == "VALIDATION_ERROR" for e in ordered),
        tab_switches=sum(e.type == "TAB_HIDDEN" for e in ordered),
        form_ms=max(int((now - ordered[0].at).total_seconds() * 1000), 0),
    )
