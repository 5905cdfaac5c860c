"""Admin screen: experiments (/admin/experiments). The list, a form for a new A/B test on a
landing page (a variant headline against the page as it is, with a traffic split), each
experiment's results (``analytics.results``: keep running until the minimums are met, the
sample ratio check, chance to beat control, p-values) and its start and stop buttons.

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
    ExperimentError,
    conclude,
    create_experiment,
    start,
    stop,
)
from storefront.analytics.forms import ExperimentForm
from storefront.analytics.models import EXPERIMENT_METRICS, Experiment
from storefront.extensions import db
from storefront.htmx import render
from storefront.inputs import optional_int
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


def _form(company, fresh: bool = False) -> ExperimentForm:
    form = ExperimentForm.of(company, {"control_weight": 50, "variant_weight": 50, "metric": "conversion_rate",
                                       "variant_name": "Variant B"}, fresh=fresh)
    form.page.choices = list(page_titles(company.id).items())
    return form


def _new_page(form: ExperimentForm, status: int = 200):
    return render(NEW, "experiment_form", status=status, form=form, **kit.merchant(current_user.company))


@routes.route("/experiments/new", methods=["GET", "POST"])
@login_required
def new_experiment():
    """The new-experiment form; POST creates a draft (422 with the fields marked on errors)."""
    company = current_user.company
    form = _form(company)
    if request.method == "GET":
        return _new_page(form)
    if not form.validate():
        return kit.invalid(_new_page(form, 422))
    try:
        experiment = create_experiment(company.id, form.page.data, form.name.data, form.hypothesis.data,
                                       form.metric.data, [("Control", form.control_weight.data, None),
                                                          (form.variant_name.data, form.variant_weight.data,
                                                           form.headline.data)])
    except ExperimentError as error:
        form.fail(None, str(error))
        return kit.invalid(_new_page(form, 422))
    return kit.done("Experiment saved as a draft: start it when ready.",
                    url_for("admin.experiment", experiment_id=experiment.id))


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
    variant_id = optional_int(request.form.get("variant"), 1) or 0
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
