"""Admin screen: experiments (/admin/experiments). The list, a form for a new A/B test on a
landing page (the control and one or more variants, each a copy of the page to edit in the
page builder, with a traffic split), the same form to edit it (a running experiment keeps
its variants and split), each experiment's results (``analytics.results``: keep running
until the minimums are met, the sample ratio check, chance to beat control, p-values) and
its start, stop and conclude buttons.

Every experiment is fetched with ``get_or_404``: another merchant's id answers 404; a page
in the form is chosen from the merchant's own.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404, scoped
from storefront.analytics.dashboard import page_titles
from storefront.analytics.experiments import (
    Change,
    ExperimentError,
    conclude,
    create_experiment,
    experiment_pages,
    start,
    stop,
    update_experiment,
    variants_of,
)
from storefront.analytics.forms import MAX_VARIANTS, ConcludeForm, ExperimentForm
from storefront.analytics.models import EXPERIMENT_METRICS, Experiment
from storefront.extensions import db
from storefront.htmx import render
from storefront.inputs import multiline
from storefront.routing import Routes

routes = Routes()
NEW = "admin/analytics/experiment_new.html"
DETAIL = "admin/analytics/experiment.html"


@routes.get("/experiments")
@login_required
def experiments():
    """The merchant's experiments, newest first."""
    company = current_user.company
    rows = db.session.execute(scoped(Experiment).order_by(Experiment.id.desc())).scalars().all()
    return render("admin/analytics/experiments.html", "content", **kit.merchant(company), experiments=rows,
                  titles=page_titles(company.id), metrics=EXPERIMENT_METRICS)


def _form(company, experiment: Experiment | None = None, fresh: bool = False) -> ExperimentForm:
    """The form, showing ``experiment`` (when editing) or a 50/50 split with one variant."""
    if experiment is None:
        data = {"control_weight": 50, "metric": "conversion_rate",
                "variants": [{"name": "Variant B", "weight": 50, "variant_id": ""}]}
    else:
        arms = variants_of(experiment.id)
        data = {"page": experiment.landing_page_id, "name": experiment.name, "hypothesis": experiment.hypothesis,
                "metric": experiment.metric, "control_weight": arms[0].weight,
                "variants": [{"variant_id": str(v.id), "name": v.name, "headline": v.headline or "",
                              "weight": v.weight} for v in arms[1:]]}
    form = ExperimentForm.of(company, data, fresh=fresh)
    form.page.choices = list(experiment_pages(company.id).items())
    if experiment is not None:
        arms = variants_of(experiment.id)
        form.editing, form.running = True, experiment.status == "running"
        form.stored = {"control": arms[0].weight, **{v.id: v.weight for v in arms[1:]}}
    return form


def _form_page(form: ExperimentForm, experiment: Experiment | None = None, status: int = 200):
    return render(NEW, "experiment_form", status=status, form=form, experiment=experiment,
                  max_variants=MAX_VARIANTS, **kit.merchant(current_user.company))


def _more(form: ExperimentForm, experiment: Experiment | None):
    """"Add a variant": the form again with one more blank variant (nothing saved)."""
    if len(form.variants) < MAX_VARIANTS:
        form.variants.append_entry({"variant_id": "", "name": f"Variant {chr(ord('B') + len(form.variants))}"})
    return _form_page(form, experiment)


@routes.route("/experiments/new", methods=["GET", "POST"])
@login_required
@multiline("hypothesis")
def new_experiment():
    """The new-experiment form; POST creates a draft with a copy of the page per variant
    (422 with the fields marked on errors); ``add_variant`` in the post adds a blank one."""
    company = current_user.company
    form = _form(company)
    if request.method == "GET":
        return _form_page(form)
    if form.add_variant.data:
        return _more(form, None)
    if not form.validate():
        return kit.invalid(_form_page(form, status=422))
    try:
        experiment = create_experiment(company.id, form.page.data, form.name.data, form.hypothesis.data,
                                       form.metric.data, [("Control", form.control_weight.data, None)] + [
                                           (entry.name.data, entry.weight.data, entry.headline.data or None)
                                           for entry in form.kept()])
    except ExperimentError as error:
        db.session.rollback()
        form.fail(None, str(error))
        return kit.invalid(_form_page(form, status=422))
    return kit.done("Experiment saved as a draft: edit each variant in the page builder, then start it.",
                    url_for("admin.experiment", experiment_id=experiment.id))


@routes.route("/experiments/<int:experiment_id>/edit", methods=["GET", "POST"])
@login_required
@multiline("hypothesis")
def edit_experiment(experiment_id: int):
    """Edit a draft or running experiment (a running one keeps its variants and split: the
    inputs that would change them are refused one by one, 422)."""
    company = current_user.company
    found = get_or_404(Experiment, experiment_id)
    form = _form(company, found)
    if request.method == "GET":
        return _form_page(form, found)
    if form.add_variant.data:
        return _more(form, found)
    if found.status not in ("draft", "running"):
        form.fail(None, "Only a draft or running experiment can change.")
    if not form.validate():
        return kit.invalid(_form_page(form, found, 422))
    changes = [Change(entry.form.stored_id, entry.form.name.data, entry.form.weight.data or 0,
                      entry.form.headline.data or None, bool(entry.form.remove.data)) for entry in form.variants]
    try:
        update_experiment(found, form.name.data, form.hypothesis.data, form.metric.data, form.control_weight.data,
                          changes)
    except ExperimentError as error:
        db.session.rollback()
        form.fail(None, str(error))
        return kit.invalid(_form_page(form, found, 422))
    return kit.done("Experiment saved.", url_for("admin.experiment", experiment_id=found.id))


def _detail(experiment: Experiment, status: int = 200, error: str | None = None):
    # SciPy is imported here, not at start-up: it costs every web worker about 0.8 s and
    # tens of MB, and only this screen needs it.
    from storefront.analytics.results import results

    return render(DETAIL, "experiment_screen", status=status, experiment=experiment, result=results(experiment),
                  title=page_titles(experiment.company_id).get(experiment.landing_page_id, ""),
                  metrics=EXPERIMENT_METRICS, error=error, **kit.merchant(current_user.company))


@routes.get("/experiments/<int:experiment_id>")
@login_required
def experiment(experiment_id: int):
    """One experiment: its variants, results and state."""
    return _detail(get_or_404(Experiment, experiment_id))


@routes.post("/experiments/<int:experiment_id>/conclude")
@login_required
def conclude_experiment(experiment_id: int):
    """Conclude with the posted ``variant`` (an id of this experiment's variants): its
    headline becomes the page's (409 with the reason when refused)."""
    form = ConcludeForm()
    # An unreadable choice is no variant of this experiment: the service says so (409).
    variant_id = (form.variant.data or 0) if form.validate() else 0
    return _change(experiment_id, lambda found: conclude(found, variant_id, current_user.id),
                   "Experiment concluded: the chosen version is now the page.")


def _change(experiment_id: int, action, done_message: str):
    found = get_or_404(Experiment, experiment_id)
    try:
        action(found)
    except ExperimentError as error:
        db.session.rollback()
        return kit.invalid(_detail(found, 409, str(error)), str(error))
    target = url_for("admin.experiment", experiment_id=found.id)
    return kit.done(done_message, target, lambda: _detail(found))


@routes.post("/experiments/<int:experiment_id>/start")
@login_required
def start_experiment(experiment_id: int):
    """draft → running (409 with the reason when refused)."""
    return _change(experiment_id, start, "Experiment started: visitors now see its variants.")


@routes.post("/experiments/<int:experiment_id>/stop")
@login_required
def stop_experiment(experiment_id: int):
    """running → stopped (409 with the reason when refused)."""
    return _change(experiment_id, stop, "Experiment stopped: every visitor sees the page as it is.")
