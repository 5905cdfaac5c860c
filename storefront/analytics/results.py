"""An experiment's results: per variant, from the rollups keyed by variant and the exposure
counts, with the statistics of ``analytics.stats``.

Visitors per variant are the exposed visitors (exact: one exposure per visitor). The
metric's successes come from the rollups: orders (conversion rate), visits with an add to
cart (add-to-cart rate), each capped at the visitors; revenue per visitor uses the orders'
revenue and its sum of squares, taking each order as one visitor's revenue.

A winner is shown only when every variant has ``EXPERIMENT_MIN_CONVERSIONS`` (default 150)
conversions (orders, for revenue) and the experiment ran ``EXPERIMENT_MIN_DAYS`` (default 7),
stricter than GrowthBook's defaults (150 on the metric total, 3 days), and the sample ratio
check passes; the winner is the treatment whose chance to beat the control is at least 0.95.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from storefront.analytics.experiments import exposures, variants_of
from storefront.analytics.models import Experiment, ExperimentVariant, HourlyRollup
from storefront.analytics.stats import (
    CHANCE_THRESHOLD,
    Bayesian,
    Frequentist,
    Sample,
    SampleRatio,
    bayes_means,
    bayes_rates,
    holm,
    srm,
    welch,
    z_test,
)
from storefront.extensions import db
from storefront.types import utcnow

DEFAULT_MIN_CONVERSIONS = 150
DEFAULT_MIN_DAYS = 7


@dataclass(frozen=True)
class Arm:
    """One variant's figures: ``visitors``, ``conversions`` (the metric's successes, or
    orders for revenue), ``value`` (the rate 0..1, or revenue per visitor in cents) and,
    for a treatment, its Bayesian and frequentist results (``p_adjusted`` after Holm)."""

    variant: ExperimentVariant
    visitors: int
    conversions: int
    value: float | None
    bayes: Bayesian | None = None
    freq: Frequentist | None = None
    p_adjusted: float | None = None


@dataclass(frozen=True)
class Results:
    """The experiment's arms (control first), the SRM check, days run, whether results may
    be shown (``ready``) with what is still ``needed``, and the ``winner`` (None: keep running
    or no clear winner)."""

    arms: list[Arm]
    sample_ratio: SampleRatio
    days: float
    ready: bool
    needed: list[str]
    winner: Arm | None


def _counts(experiment: Experiment, variant_ids: list[int]) -> dict[int, tuple[int, int, int, int]]:
    r = HourlyRollup
    rows = db.session.execute(
        select(r.variant_id, func.sum(r.orders), func.sum(r.add_to_cart_visits), func.sum(r.revenue_cents),
               func.sum(r.revenue_sq_cents))
        .where(r.company_id == experiment.company_id, r.variant_id.in_(variant_ids))
        .group_by(r.variant_id))
    return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in rows}


def results(experiment: Experiment, now: datetime | None = None) -> Results:
    """The results of ``experiment`` now (aware UTC, default the current time): three
    indexed queries (variants, exposures, rollups by variant)."""
    variants = variants_of(experiment.id)
    seen = exposures(experiment.id)
    counts = _counts(experiment, [v.id for v in variants])
    revenue = experiment.metric == "revenue_per_visitor"
    plain: list[tuple[ExperimentVariant, int, int, float | None, object]] = []
    for variant in variants:
        n = seen.get(variant.id, 0)
        orders, adds, cents, cents_sq = counts.get(variant.id, (0, 0, 0, 0))
        if revenue:
            sample = Sample.from_sums(n, cents, cents_sq)
            plain.append((variant, n, orders, sample.mean if n else None, sample))
        else:
            successes = min(adds if experiment.metric == "add_to_cart_rate" else orders, n)
            plain.append((variant, n, successes, successes / n if n else None, (successes, n)))
    control = plain[0]
    tested = []
    for variant, n, conversions, value, data in plain[1:]:
        bayes = freq = None
        if n and control[1]:
            if revenue:
                bayes = bayes_means(control[4], data)
                freq = welch(control[4], data) if n >= 2 and control[1] >= 2 else None
            else:
                bayes, freq = bayes_rates(control[4], data), z_test(control[4], data)
        tested.append((variant, n, conversions, value, bayes, freq))
    adjusted = iter(holm([t[5].p_value for t in tested if t[5] is not None]))
    arms = [Arm(control[0], control[1], control[2], control[3])] + [
        Arm(v, n, c, value, bayes, freq, next(adjusted) if freq is not None else None)
        for v, n, c, value, bayes, freq in tested]

    end = experiment.stopped_at or now or utcnow()
    days = max((end - experiment.started_at).total_seconds() / 86400, 0.0) if experiment.started_at else 0.0
    minimum = int(current_app.config.get("EXPERIMENT_MIN_CONVERSIONS", DEFAULT_MIN_CONVERSIONS))
    min_days = float(current_app.config.get("EXPERIMENT_MIN_DAYS", DEFAULT_MIN_DAYS))
    needed = [f"{arm.variant.name} needs {minimum - arm.conversions} more conversions"
              for arm in arms if arm.conversions < minimum]
    if days < min_days:
        needed.append(f"{min_days - days:.1f} more days (at least {min_days:g} in all)")
    ratio = srm([arm.visitors for arm in arms], [arm.variant.weight for arm in arms])
    ready = not needed
    winner = None
    if ready and not ratio.mismatch:
        best = max((a for a in arms[1:] if a.bayes is not None), key=lambda a: a.bayes.chance_to_win, default=None)
        if best is not None and best.bayes.chance_to_win >= CHANCE_THRESHOLD:
            winner = best
    return Results(arms, ratio, days, ready, needed, winner)
