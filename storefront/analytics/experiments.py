"""A/B experiments on landing pages: create, start, stop; sticky assignment of a visitor to a
variant; the exposure record; per-variant results with their statistics.

- **Assignment** is deterministic: SHA-256 of "<experiment id>:<visitor id>" picks a point in
  [0, 1), and the variants' weights (percent, summing to 100) split that interval in
  position order. A returning visitor (same visitor cookie) gets the same variant; no
  variant cookie exists, so none can be tampered with. Bots (``BOT_PATTERN`` on the
  user agent) see the control and are neither exposed nor counted.
- **Exposure**: a visitor's first view of a running experiment is one row in
  ``experiment_exposures`` (INSERT ... ON CONFLICT DO NOTHING: one statement, written only
  for a new visit). The rollups key each visit by that row's variant (``analytics.rollups``).
- **Results** read the rollups per variant and the exposure counts (visitors per variant),
  never the event log; see ``results``.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from storefront.analytics.models import (
    EXPERIMENT_METRICS,
    Experiment,
    ExperimentExposure,
    ExperimentVariant,
)
from storefront.extensions import db
from storefront.types import utcnow

BOT_PATTERN = re.compile(r"bot|crawl|spider|slurp|facebookexternalhit|preview|headless|lighthouse|curl|wget|python-",
                         re.IGNORECASE)
DEFAULT_CACHE_SECONDS = 10


class ExperimentError(ValueError):
    """A change the experiment's state refuses; the message is for the merchant."""


@dataclass(frozen=True)
class Arm:
    """A variant as the landing page needs it: id, weight (percent), headline (None: the
    page's own), is_control."""

    id: int
    weight: int
    headline: str | None
    is_control: bool


@dataclass(frozen=True)
class Plan:
    """The running experiment of a page: its id, merchant and arms in position order."""

    experiment_id: int
    company_id: int
    arms: tuple[Arm, ...]


def bucket(experiment_id: int, visitor_id: str) -> float:
    """The visitor's point in [0, 1) for this experiment (SHA-256, first 8 bytes)."""
    digest = hashlib.sha256(f"{experiment_id}:{visitor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment_id: int, visitor_id: str, arms: tuple[Arm, ...]) -> Arm:
    """The arm whose share of [0, 1) holds the visitor's point (weights in percent)."""
    point = bucket(experiment_id, visitor_id) * sum(arm.weight for arm in arms)
    edge = 0
    for arm in arms:
        edge += arm.weight
        if point < edge:
            return arm
    return arms[-1]


def is_bot(user_agent: str | None) -> bool:
    """True for a user agent of a crawler, a link preview or a headless tool."""
    return bool(BOT_PATTERN.search(user_agent or ""))


_plans: dict[int, tuple[float, Plan | None]] = {}
_plans_lock = threading.Lock()


def forget_plans() -> None:
    """Drop this process's cache of running experiments (after a start or a stop)."""
    with _plans_lock:
        _plans.clear()


def running_plan(page_id: int) -> Plan | None:
    """The page's running experiment, from a per-process cache kept EXPERIMENT_CACHE_SECONDS
    (default 10): a landing view usually costs no statement for it."""
    ttl = float(current_app.config.get("EXPERIMENT_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
    now = time.monotonic()
    cached = _plans.get(page_id)
    if cached is not None and cached[0] > now and ttl > 0:
        return cached[1]
    rows = db.session.execute(
        select(Experiment.id, Experiment.company_id, ExperimentVariant.id, ExperimentVariant.weight,
               ExperimentVariant.headline, ExperimentVariant.is_control)
        .join(ExperimentVariant, ExperimentVariant.experiment_id == Experiment.id)
        .where(Experiment.landing_page_id == page_id, Experiment.status == "running")
        .order_by(ExperimentVariant.position, ExperimentVariant.id)
    ).all()
    plan = None
    if rows:
        plan = Plan(rows[0][0], rows[0][1], tuple(Arm(r[2], r[3], r[4], r[5]) for r in rows if r[0] == rows[0][0]))
    with _plans_lock:
        _plans[page_id] = (now + ttl, plan)
    return plan


def variant_for_view(page, visitor_id: str, user_agent: str | None, new_visit: bool) -> Arm | None:
    """The arm a landing view of ``page`` shows ``visitor_id``, or None without a running
    experiment or for a bot. A new visit records the exposure (one INSERT ... ON CONFLICT
    DO NOTHING, committed); a returning view only reads."""
    if is_bot(user_agent):
        return None
    plan = running_plan(page.id)
    if plan is None:
        return None
    arm = assign(plan.experiment_id, visitor_id, plan.arms)
    if new_visit:
        if db.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        db.session.execute(
            upsert(ExperimentExposure)
            .values(company_id=plan.company_id, experiment_id=plan.experiment_id, variant_id=arm.id,
                    visitor_id=visitor_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["experiment_id", "visitor_id"])
        )
        db.session.commit()
    return arm


# ----------------------------------------------------------------------------- lifecycle


def create_experiment(company_id: int, page_id: int, name: str, hypothesis: str, metric: str,
                      variants: list[tuple[str, int, str | None]]) -> Experiment:
    """A draft experiment on the page ``page_id`` (already checked to be the merchant's) with
    ``variants`` as (name, weight percent, headline or None); the first is the control.
    Raises ExperimentError: fewer than two variants, weights not each 1..99 or not summing
    to 100, a treatment without a headline, an unknown metric. Commits."""
    if metric not in EXPERIMENT_METRICS:
        raise ExperimentError("Choose a metric from the list.")
    if len(variants) < 2:
        raise ExperimentError("An experiment needs the control and at least one variant.")
    if any(not 1 <= weight <= 99 for _n, weight, _h in variants) or sum(w for _n, w, _h in variants) != 100:
        raise ExperimentError("The traffic weights must each be 1 to 99 % and sum to 100 %.")
    if any(not headline for _n, _w, headline in variants[1:]):
        raise ExperimentError("Give every variant besides the control a headline.")
    experiment = Experiment(company_id=company_id, landing_page_id=page_id, name=name, hypothesis=hypothesis,
                            metric=metric, status="draft")
    db.session.add(experiment)
    db.session.flush()
    for position, (variant_name, weight, headline) in enumerate(variants):
        db.session.add(ExperimentVariant(experiment_id=experiment.id, company_id=company_id, position=position,
                                         name=variant_name, is_control=position == 0, weight=weight,
                                         headline=headline if position else None))
    db.session.commit()
    return experiment


def start(experiment: Experiment, now: datetime | None = None) -> None:
    """draft → running. Raises ExperimentError when it is not a draft or another experiment
    of the page is running (a visit belongs to one experiment at most). Commits."""
    if experiment.status != "draft":
        raise ExperimentError("Only a draft experiment can start.")
    other = db.session.execute(
        select(Experiment.id).where(Experiment.landing_page_id == experiment.landing_page_id,
                                    Experiment.status == "running", Experiment.id != experiment.id)
        .with_for_update()
    ).first()
    if other is not None:
        raise ExperimentError("Another experiment is running on this page: stop it first.")
    experiment.status, experiment.started_at = "running", now or utcnow()
    db.session.commit()
    forget_plans()


def stop(experiment: Experiment, now: datetime | None = None) -> None:
    """running → stopped (no more assignments; results stay). A second stop is a no-op.
    Raises ExperimentError for a draft or a concluded experiment. Commits."""
    if experiment.status == "stopped":
        return
    if experiment.status != "running":
        raise ExperimentError("Only a running experiment can stop.")
    experiment.status, experiment.stopped_at = "stopped", now or utcnow()
    db.session.commit()
    forget_plans()


def conclude(experiment: Experiment, variant_id: int, user_id: int | None, now: datetime | None = None) -> None:
    """Make ``variant_id``'s headline the page's hero heading (the control keeps the page
    as it is) and mark the experiment concluded, with the audit (winner, when, who, the
    heading before). A running experiment is stopped first. Raises ExperimentError for a
    draft or an already concluded experiment, or a variant of another experiment; the
    page's BuilderError (no hero) as ExperimentError. Commits."""
    from storefront.landing.builder import BuilderError, set_hero_heading
    from storefront.landing.models import LandingPage

    if experiment.status not in ("running", "stopped"):
        raise ExperimentError("Only a running or stopped experiment can be concluded.")
    variant = next((v for v in variants_of(experiment.id) if v.id == variant_id), None)
    if variant is None:
        raise ExperimentError("Choose one of this experiment's variants.")
    now = now or utcnow()
    if not variant.is_control:
        page = db.session.get(LandingPage, experiment.landing_page_id)
        try:
            experiment.previous_headline = set_hero_heading(page, variant.headline)
        except BuilderError as error:
            raise ExperimentError(str(error)) from error
    if experiment.status == "running":
        experiment.stopped_at = now
    experiment.status, experiment.winner_variant_id = "concluded", variant.id
    experiment.concluded_at, experiment.concluded_by_id = now, user_id
    db.session.commit()
    forget_plans()


def variants_of(experiment_id: int) -> list[ExperimentVariant]:
    """The experiment's variants in position order (the control first)."""
    return list(db.session.execute(
        select(ExperimentVariant).where(ExperimentVariant.experiment_id == experiment_id)
        .order_by(ExperimentVariant.position, ExperimentVariant.id)).scalars())


def exposures(experiment_id: int) -> dict[int, int]:
    """Visitors exposed per variant id (one indexed aggregate)."""
    rows = db.session.execute(
        select(ExperimentExposure.variant_id, func.count()).where(ExperimentExposure.experiment_id == experiment_id)
        .group_by(ExperimentExposure.variant_id))
    return dict(rows.all())
