"""Admin screens: subscription plans and subscriptions (/admin/plans, /admin/subscriptions,
/admin/billing), and the one-click upsell offer (/admin/upsell). Plans are created, edited
and deleted (archived when someone subscribes)
with their retry settings; subscriptions are listed by status, and one shows its invoices
with every payment attempt and the reason it ran when it did; the billing dashboard shows
MRR, subscribers, failed and recovered payments, recovery by strategy and churn.

Every plan and subscription is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.billing import admin_services as svc
from storefront.billing import message_variants
from storefront.billing.forms import ACTION_LABELS, STRATEGY_LABELS, PlanForm, UpsellOfferForm
from storefront.billing.models import Subscription, SubscriptionPlan
from storefront.billing.plans import PlanError, describe_interval
from storefront.extensions import db
from storefront.htmx import render
from storefront.inputs import multiline
from storefront.money import format_money, percent_text
from storefront.routing import Routes

routes = Routes()
STATUSES = ("TRIALING", "ACTIVE", "PAST_DUE", "PAUSED", "CANCELED")


def _context(**extra) -> dict:
    company = current_user.company
    return {**kit.merchant(company), "money": lambda cents, currency=None: format_money(
        cents or 0, currency or company.currency, company.locale), "every": describe_interval,
        "strategies": STRATEGY_LABELS, "actions": ACTION_LABELS, "percent": percent_text, **extra}


@routes.get("/plans")
@login_required
def plans():
    """The merchant's subscription plans."""
    return render("admin/billing/plans.html", "content", **_context(plans=svc.list_plans()))


def _plan_form(plan: SubscriptionPlan | None) -> PlanForm:
    form = PlanForm.of(current_user.company, PlanForm.stored(plan) if plan else None)
    form.variant.choices = svc.variant_choices(current_user.company.id)
    return form


def _plan_page(plan, form, status: int = 200):
    return render("admin/billing/plan.html", "plan_form", status=status, **_context(plan=plan, form=form))


def _save(plan: SubscriptionPlan | None):
    form = _plan_form(plan)
    if request.method == "GET":
        return _plan_page(plan, form)
    if not form.validate():
        return kit.invalid(_plan_page(plan, form, 422))
    try:
        saved = svc.save_plan(current_user.company, plan, form.fields())
    except PlanError as error:  # a rule the form could not see (kept in one place: the model)
        db.session.rollback()
        form.fail(error.field if error.field in form else None, str(error))
        return kit.invalid(_plan_page(plan, form, 422))
    return kit.done(f"Plan “{saved.name}” saved.", url_for("admin.plans"))


@routes.route("/plans/new", methods=["GET", "POST"])
@login_required
@multiline("description")
def plan_new():
    """A new plan; POST creates it."""
    return _save(None)


@routes.route("/plans/<int:plan_id>", methods=["GET", "POST"])
@login_required
@multiline("description")
def plan_edit(plan_id: int):
    """A plan's settings; POST saves them (existing subscriptions use them from their next
    renewal or retry)."""
    return _save(get_or_404(SubscriptionPlan, plan_id))


@routes.route("/plans/<int:plan_id>/delete", methods=["GET", "POST"])
@login_required
def plan_delete(plan_id: int):
    """Delete a plan, or archive it when it has subscribers. GET (or a POST without
    ``confirmed``) shows the confirmation page."""
    plan = get_or_404(SubscriptionPlan, plan_id)
    if not kit.confirmed():
        return render("admin/billing/confirm.html", "content", **_context(plan=plan))
    name = plan.name
    done = svc.delete_plan(plan)
    return kit.done(f"Plan “{name}” {done}." + (" Its subscribers keep renewing." if done == "archived" else ""),
                    url_for("admin.plans"))


@routes.get("/subscriptions")
@login_required
def subscriptions():
    """Subscriptions, newest first, filtered by status (a GET form); htmx gets the results."""
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    rows, count = svc.subscriptions_query(status or None)
    page = kit.paginate(rows, kit.page_number(), count)
    return render("admin/billing/subscriptions.html", "results", **_context(
        page=page, chosen=status, statuses=STATUSES, link=kit.list_link("admin.subscriptions", status=status or None)))


@routes.get("/subscriptions/<int:subscription_id>")
@login_required
def subscription(subscription_id: int):
    """One subscription: its plan, customer and the invoice and attempt timeline with each
    attempt's reason and the merchant's message variant its dunning notice sent."""
    sub = get_or_404(Subscription, subscription_id)
    customer = svc.customer_of(sub)
    timeline = svc.timeline(sub)
    sent = message_variants.names_of(sub.company_id, (a.message_variant_id for _i, rows in timeline for a in rows))
    return render("admin/billing/subscription.html", "content", **_context(
        sub=sub, customer=customer, timeline=timeline, messages_sent=sent))


@routes.get("/billing")
@login_required
def billing_dashboard():
    """MRR, subscribers, failed and recovered payments, recovery by strategy and churn."""
    return render("admin/billing/dashboard.html", "content", **_context(
        figures=svc.dashboard(current_user.company.id)))


@routes.route("/upsell", methods=["GET", "POST"])
@login_required
def upsell_offer():
    """The one-click upsell the order confirmation page offers to shoppers who kept their
    card: one of the merchant's products, a headline, on or off. POST saves it."""
    company = current_user.company
    offer = svc.upsell_offer(company.id)
    form = UpsellOfferForm.of(company, svc.upsell_values(offer) if offer else None)
    form.variant.choices = svc.variant_choices(company.id)
    if request.method == "POST":
        if not form.validate():
            return kit.invalid(render("admin/billing/upsell.html", "upsell_form", 422, **_context(form=form)))
        svc.save_upsell_offer(company.id, form.variant.data, form.headline.data, form.active.data)
        return kit.done("Upsell offer saved.", url_for("admin.upsell_offer"))
    return render("admin/billing/upsell.html", "upsell_form", **_context(form=form))
