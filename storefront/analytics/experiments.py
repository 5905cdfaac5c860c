"""A/B experiments on landing pages: create, start, stop; sticky assignment of a visitor to a
variant; the exposure record; per-variant results with their statistics.

- **Variants** are versions of the page: creating an experiment copies the page's sections,
  products and theme once per variant (``landing.versions``), and the merchant edits each
  copy in the page builder. The landing view renders the assigned variant's copy; the
  control is the page itself. Concluding makes the winner's copy the page's content.
- **Assignment** is deterministic: SHA-256 of "<experiment id>:<visitor id>" picks a point in
  [0, 1), and the variants' weights (percent, summing to 100) split that interval in
  position order. A returning visitor (same visitor cookie) gets the same variant; no
  variant cookie exists, so none can be tampered with (any other cookie is ignored). Bots
  (``BOT_PATTERN`` on the user agent) see the control and are neither exposed nor counted.
- **Orders** record the variant of their visit in ``Order.experiment_variant_id``
  (``variant_of_visit``, from checkout's order hook).
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
from sqlalchemy import and_, func, or_, select

from storefront.analytics.models import (
    EXPERIMENT_METRICS,
    Experiment,
    ExperimentExposure,
    ExperimentVariant,
)
from storefront.extensions import db
from storefront.types import utcnow
from storefront.visits.models import Visit

BOT_PATTERN = re.compile(r"bot|crawl|spider|slurp|facebookexternalhit|preview|headless|lighthouse|curl|wget|python-",
                         re.IGNORECASE)
DEFAULT_CACHE_SECONDS = 10


class ExperimentError(ValueError):
    """A change the experiment's state refuses; the message is for the merchant."""


@dataclass(frozen=True)
class Arm:
    """A variant as the landing page needs it: id, weight (percent), headline (the hero
    heading it was created with, or None), is_control, and ``page_id``: the version of the
    page to show (None: the page itself)."""

    id: int
    weight: int
    headline: str | None
    is_control: bool
    page_id: int | None = None


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


# Per page: (expires_at, its running experiment's plan or None, whether any experiment of
# it ever started).
_plans: dict[int, tuple[float, Plan | None, bool]] = {}
_plans_lock = threading.Lock()


def forget_plans() -> None:
    """Drop this process's cache of running experiments (after a start or a stop)."""
    with _plans_lock:
        _plans.clear()


def _page_experiments(page_id: int) -> tuple[Plan | None, bool]:
    """(The page's running experiment's plan or None, whether any experiment of the page
    ever started), from a per-process cache kept EXPERIMENT_CACHE_SECONDS (default 10): one
    query on a miss, over the variants of the page's started experiments."""
    ttl = float(current_app.config.get("EXPERIMENT_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
    now = time.monotonic()
    cached = _plans.get(page_id)
    if cached is not None and cached[0] > now and ttl > 0:
        return cached[1], cached[2]
    rows = db.session.execute(
        select(Experiment.id, Experiment.company_id, ExperimentVariant.id, ExperimentVariant.weight,
               ExperimentVariant.headline, ExperimentVariant.is_control, ExperimentVariant.page_id,
               Experiment.status)
        .join(ExperimentVariant, ExperimentVariant.experiment_id == Experiment.id)
        .where(Experiment.landing_page_id == page_id, Experiment.started_at.is_not(None))
        .order_by(ExperimentVariant.position, ExperimentVariant.id)
    ).all()
    running = [r for r in rows if r[7] == "running"]
    plan = None
    if running:
        first = running[0][0]
        plan = Plan(first, running[0][1], tuple(Arm(*r[2:7]) for r in running if r[0] == first))
    with _plans_lock:
        _plans[page_id] = (now + ttl, plan, bool(rows))
    return plan, bool(rows)


def running_plan(page_id: int) -> Plan | None:
    """The page's running experiment, from a per-process cache kept EXPERIMENT_CACHE_SECONDS
    (default 10): a landing view usually costs no statement for it."""
    return _page_experiments(page_id)[0]


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


def _check_split(weights: list[int]) -> None:
    if any(not 1 <= weight <= 99 for weight in weights) or sum(weights) != 100:
        raise ExperimentError("The traffic weights must each be 1 to 99 % and sum to 100 %.")


def _add_variant(experiment: Experiment, page, position: int, name: str, weight: int,
                 headline: str | None) -> ExperimentVariant:
    """A treatment of ``experiment``: a new version of ``page`` (its hero heading set to
    ``headline`` when given). Flushes."""
    from storefront.landing.versions import new_version, set_heading

    version = new_version(page)
    if headline:
        try:
            set_heading(version, headline)
        except LookupError as error:
            raise ExperimentError(f"{error} Leave the heading empty and edit the variant in the page builder.") \
                from error
    variant = ExperimentVariant(experiment_id=experiment.id, company_id=experiment.company_id, position=position,
                                name=name, is_control=False, weight=weight, headline=headline or None,
                                page_id=version.id)
    db.session.add(variant)
    db.session.flush()
    return variant


def create_experiment(company_id: int, page_id: int, name: str, hypothesis: str, metric: str,
                      variants: list[tuple[str, int, str | None]]) -> Experiment:
    """A draft experiment on the page ``page_id`` (already checked to be the merchant's) with
    ``variants`` as (name, weight percent, new hero heading or None); the first is the
    control (the page itself), each other gets its own copy of the page's sections,
    products and theme to edit in the builder. Raises ExperimentError: fewer than two
    variants, weights not each 1..99 or not summing to 100, a heading for a page without a
    hero, an unknown metric. Commits."""
    from storefront.landing.models import LandingPage

    if metric not in EXPERIMENT_METRICS:
        raise ExperimentError("Choose a metric from the list.")
    if len(variants) < 2:
        raise ExperimentError("An experiment needs the control and at least one variant.")
    _check_split([weight for _n, weight, _h in variants])
    page = db.session.get(LandingPage, page_id)
    if page is None or page.company_id != company_id:
        raise ExperimentError("Choose one of your landing pages.")
    experiment = Experiment(company_id=company_id, landing_page_id=page_id, name=name, hypothesis=hypothesis,
                            metric=metric, status="draft")
    db.session.add(experiment)
    db.session.flush()
    control_name, control_weight, _ = variants[0]
    db.session.add(ExperimentVariant(experiment_id=experiment.id, company_id=company_id, position=0,
                                     name=control_name, is_control=True, weight=control_weight))
    for position, (variant_name, weight, headline) in enumerate(variants[1:], start=1):
        _add_variant(experiment, page, position, variant_name, weight, headline)
    db.session.commit()
    return experiment


@dataclass(frozen=True)
class Change:
    """One variant entry of an edit: ``variant_id`` (None: a new variant), its name, weight
    (percent), new hero heading (None or "": leave the copy as it is) and ``remove``."""

    variant_id: int | None
    name: str
    weight: int
    headline: str | None = None
    remove: bool = False


def update_experiment(experiment: Experiment, name: str, hypothesis: str, metric: str, control_weight: int,
                      changes: list[Change]) -> None:
    """Save an edit. A draft may change anything: removed variants lose their version of
    the page, new ones get a fresh copy. A running experiment may change its name,
    hypothesis, metric and headings, never its variants or split (assignment would move
    returning visitors). Raises ExperimentError: a stopped or concluded experiment, a
    variant id not of this experiment, a removal, addition or new split while running, no
    variant kept, weights not summing to 100. Commits."""
    from storefront.landing.models import LandingPage
    from storefront.landing.versions import drop_version, set_heading

    if experiment.status not in ("draft", "running"):
        raise ExperimentError("Only a draft or running experiment can change.")
    if metric not in EXPERIMENT_METRICS:
        raise ExperimentError("Choose a metric from the list.")
    arms = {variant.id: variant for variant in variants_of(experiment.id)}
    control = next(variant for variant in arms.values() if variant.is_control)
    if any(change.variant_id is not None and (change.variant_id not in arms or change.variant_id == control.id)
           for change in changes):
        raise ExperimentError("Choose one of this experiment's variants.")
    kept = [change for change in changes if not change.remove]
    if not kept:
        raise ExperimentError("Keep at least one variant.")
    _check_split([control_weight] + [change.weight for change in kept])
    if experiment.status == "running":
        before = {variant_id: variant.weight for variant_id, variant in arms.items()}
        after = {control.id: control_weight, **{change.variant_id: change.weight for change in kept}}
        if after != before or len(changes) != len(arms) - 1:
            raise ExperimentError("A running experiment keeps its variants and split: stop it first.")
    experiment.name, experiment.hypothesis, experiment.metric = name, hypothesis, metric
    control.weight = control_weight
    page = db.session.get(LandingPage, experiment.landing_page_id)
    for position, change in enumerate(kept, start=1):
        if change.variant_id is None:
            _add_variant(experiment, page, position, change.name, change.weight, change.headline)
            continue
        variant = arms[change.variant_id]
        variant.name, variant.weight, variant.position = change.name, change.weight, position
        version = db.session.get(LandingPage, variant.page_id) if variant.page_id else None
        if change.headline and change.headline != variant.headline and version is not None:
            try:
                set_heading(version, change.headline)
            except LookupError as error:
                raise ExperimentError(str(error)) from error
            variant.headline = change.headline
    for change in changes:
        if change.remove:
            variant = arms[change.variant_id] if change.variant_id else None
            if variant is not None:
                version = db.session.get(LandingPage, variant.page_id) if variant.page_id else None
                db.session.delete(variant)
                db.session.flush()
                if version is not None:
                    drop_version(version)
    db.session.commit()
    forget_plans()


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
    """Make ``variant_id``'s version the page: its sections, products and theme replace the
    page's (the control keeps the page as it is), and mark the experiment concluded, with
    the audit (winner, when, who, the hero heading the page had before). The version stays,
    hidden, as the record of what won. A running experiment is stopped first. Raises
    ExperimentError for a draft or an already concluded experiment, or a variant of another
    experiment. Commits."""
    from storefront.landing.builder import BuilderError, set_hero_heading
    from storefront.landing.models import LandingPage
    from storefront.landing.versions import hero_heading, replace_content

    if experiment.status not in ("running", "stopped"):
        raise ExperimentError("Only a running or stopped experiment can be concluded.")
    variant = next((v for v in variants_of(experiment.id) if v.id == variant_id), None)
    if variant is None:
        raise ExperimentError("Choose one of this experiment's variants.")
    now = now or utcnow()
    if not variant.is_control:
        page = db.session.get(LandingPage, experiment.landing_page_id)
        version = db.session.get(LandingPage, variant.page_id) if variant.page_id else None
        if version is not None:
            experiment.previous_headline = hero_heading(page)
            replace_content(page, version)
        elif variant.headline:
            # A variant from before versions existed: only its headline differs.
            try:
                experiment.previous_headline = set_hero_heading(page, variant.headline)
            except BuilderError as error:
                raise ExperimentError(str(error)) from error
        else:
            raise ExperimentError("This variant's version of the page is gone: choose another.")
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


def variant_of_visit(visit_id: int | None, page_id: int | None) -> int | None:
    """The experiment variant the visit ``visit_id`` was shown: its visitor's exposure to an
    experiment of the visit's page that was running when the visit started (the rollups'
    rule, ``analytics.rollups``), or None. So an order placed after its experiment stopped
    keeps the variant its visit saw. Looked up only when an experiment of ``page_id`` (the
    order's landing page) has ever started, from a per-process cache: an order from a page
    that never had one usually costs no statement. One indexed query at most."""
    if visit_id is None or page_id is None or not _page_experiments(page_id)[1]:
        return None
    return db.session.execute(
        select(ExperimentExposure.variant_id)
        .join(Experiment, Experiment.id == ExperimentExposure.experiment_id)
        .join(Visit, and_(Visit.visitor_id == ExperimentExposure.visitor_id,
                          Visit.landing_page_id == Experiment.landing_page_id))
        .where(Visit.id == visit_id, Experiment.started_at <= Visit.started_at,
               or_(Experiment.stopped_at.is_(None), Visit.started_at < Experiment.stopped_at))
        .order_by(Experiment.started_at.desc()).limit(1)
    ).scalar()


def experiment_pages(company_id: int) -> dict[int, str]:
    """The merchant's landing pages an experiment can run on, title by id (not the
    experiments' own versions of pages)."""
    from storefront.landing.models import LandingPage
    from storefront.landing.versions import VERSION_STATUS

    rows = db.session.execute(
        select(LandingPage.id, LandingPage.title)
        .where(LandingPage.company_id == company_id, LandingPage.status != VERSION_STATUS)
        .order_by(LandingPage.title, LandingPage.id))
    return dict(rows.all())


def experiment_of_version(page_id: int, company_id: int) -> tuple[int, str, str] | None:
    """(experiment id, experiment name, variant name) of the experiment whose variant the
    page ``page_id`` of ``company_id`` is a version of, or None (one indexed query)."""
    row = db.session.execute(
        select(Experiment.id, Experiment.name, ExperimentVariant.name)
        .join(ExperimentVariant, ExperimentVariant.experiment_id == Experiment.id)
        .where(ExperimentVariant.page_id == page_id, Experiment.company_id == company_id)
    ).first()
    return tuple(row) if row is not None else None
