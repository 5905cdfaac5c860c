"""The signed-in customer's pages: /account (orders and subscriptions), an order, and a
subscription with its actions (pause, resume, skip the next charge, quantity, date,
cancel with a save offer the first time).

Every action is a real form: without JavaScript it answers 303 to the subscription's page
with a flash; with htmx it answers the page's ``subscription`` block with a toast; a form
that does not validate re-renders that block (or the page) with 422. Another customer's
subscription or order answers 404, as an unknown one does.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, g, redirect, request, url_for

from storefront.billing import lifecycle, save_flow
from storefront.htmx import render, toast, wants_fragment
from storefront.inputs import multiline
from storefront.portal import session
from storefront.portal.forms import (
    CancelForm,
    DateForm,
    QuantityForm,
    SaveOfferForm,
    SkipForm,
)
from storefront.portal.services import order_of, orders_of, shop_for
from storefront.routing import Routes

routes = Routes()


def signed_in(view):
    """Only for a signed-in customer (``g.portal``); others go to the sign-in page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        signed = session.current()
        if signed is None:
            if request.method == "GET" and request.endpoint == "portal.home":
                return render("portal/signed_out.html", "content", 200)
            flash("Please sign in again: open the link we email you.", "info")
            return redirect(url_for("portal.home"), code=303)
        g.portal = signed
        response = view(*args, **kwargs)
        if hasattr(response, "headers"):
            response.headers["Cache-Control"] = "no-store"  # a customer's own data
        return response

    return wrapper


def page_context(**ctx) -> dict:
    """The signed-in customer, their merchant and the shop's look, plus ``ctx``."""
    return {"customer": g.portal.customer, "company": g.portal.company, **shop_for(g.portal.company.id), **ctx}


@routes.get("/account/")
@signed_in
def home():
    customer = g.portal.customer
    subs = lifecycle.customer_subscriptions(customer.company_id, customer.id)
    return render("portal/home.html", "home", **page_context(orders=orders_of(customer), subscriptions=subs))


@routes.get("/account/orders/<token>")
@signed_in
def order(token: str):
    found = order_of(g.portal.customer, token) if len(token) <= 64 else None
    if found is None:
        abort(404)
    return render("portal/order.html", "order", **page_context(order=found))


# ----------------------------------------------------------------------------- subscriptions


def own_subscription(sub_id: int):
    try:
        return lifecycle.subscription_of(sub_id, g.portal.company.id, g.portal.customer.id)
    except lifecycle.NotYours:
        abort(404)


def _sub_context(sub, status: int = 200, **forms):
    company = g.portal.company
    ctx = {
        "sub": sub, "offer": save_flow.open_offer(sub),
        # fresh: after an action (a POST) the forms show the stored values, not the post.
        "quantity_form": QuantityForm.of(company, {"quantity": sub.quantity}, fresh=True),
        "date_form": _date_form(sub), "cancel_form": CancelForm.of(company, fresh=True),
        "offer_form": SaveOfferForm.of(company, fresh=True),
    }
    ctx.update(forms)
    return render("portal/subscription.html", "subscription", status, **page_context(**ctx))


def _date_form(sub, form=None):
    form = form or DateForm.of(g.portal.company, fresh=True)
    form.day.choices = [(day, label) for day, label in lifecycle.date_choices(sub)]
    return form


def _answer(sub_id: int, change: lifecycle.Change):
    """After an action: 303 + flash, or the refreshed block + toast for htmx."""
    if wants_fragment():
        return toast(_sub_context(own_subscription(sub_id)), change.message, "error" if change.error else "info")
    flash(change.message, "error" if change.error else "success")
    return redirect(url_for("portal.subscription", sub_id=sub_id), code=303)


def _act(sub_id: int, action, *args):
    try:
        return _answer(sub_id, action(sub_id, g.portal.company.id, g.portal.customer.id, *args))
    except lifecycle.NotYours:
        abort(404)


@routes.get("/account/subscriptions/<int:sub_id>")
@signed_in
def subscription(sub_id: int):
    return _sub_context(own_subscription(sub_id))


@routes.post("/account/subscriptions/<int:sub_id>/pause")
@signed_in
def pause(sub_id: int):
    return _act(sub_id, lifecycle.pause)


@routes.post("/account/subscriptions/<int:sub_id>/resume")
@signed_in
def resume(sub_id: int):
    return _act(sub_id, lifecycle.resume)


@routes.post("/account/subscriptions/<int:sub_id>/skip")
@signed_in
def skip(sub_id: int):
    sub = own_subscription(sub_id)
    form = SkipForm.of(g.portal.company)
    if not form.validate():
        return _sub_context(sub, 422, skip_error=form.charge.errors[0])
    return _act(sub_id, lifecycle.skip_next, form.charge.data)


@routes.post("/account/subscriptions/<int:sub_id>/quantity")
@signed_in
def quantity(sub_id: int):
    sub = own_subscription(sub_id)
    form = QuantityForm.of(g.portal.company)
    if not form.validate():
        return _sub_context(sub, 422, quantity_form=form)
    return _act(sub_id, lifecycle.change_quantity, form.quantity.data)


@routes.post("/account/subscriptions/<int:sub_id>/date")
@signed_in
def change_date(sub_id: int):
    sub = own_subscription(sub_id)
    form = _date_form(sub, DateForm.of(g.portal.company))
    if not form.validate():
        return _sub_context(sub, 422, date_form=form)
    return _act(sub_id, lifecycle.change_date, form.day.data)


@routes.post("/account/subscriptions/<int:sub_id>/cancel")
@signed_in
@multiline("details")
def cancel(sub_id: int):
    """The first cancel meets the save offer (the page shows it, nothing is cancelled);
    the cancel after it, or any later one, cancels."""
    sub = own_subscription(sub_id)
    form = CancelForm.of(g.portal.company)
    if not form.validate():
        return _sub_context(sub, 422, cancel_form=form)
    company_id, customer_id = g.portal.company.id, g.portal.customer.id
    if sub.status != "CANCELED" and save_flow.offer_on_cancel(sub_id, company_id, customer_id) is not None:
        change = lifecycle.Change(False, "Before you go: would one of these suit you better?")
        if wants_fragment():
            return toast(_sub_context(own_subscription(sub_id), cancel_form=form), change.message)
        flash(change.message, "info")
        return redirect(url_for("portal.subscription", sub_id=sub_id, _anchor="save-offer"), code=303)
    reason = form.reason.data + (f": {form.details.data}" if form.details.data else "")
    return _act(sub_id, lifecycle.cancel, reason)


@routes.post("/account/subscriptions/<int:sub_id>/offers/<int:offer_id>")
@signed_in
def take_offer(sub_id: int, offer_id: int):
    sub = own_subscription(sub_id)
    form = SaveOfferForm.of(g.portal.company)
    if not form.validate():
        return _sub_context(sub, 422, offer_form=form)
    try:
        change = save_flow.accept(offer_id, sub_id, g.portal.company.id, g.portal.customer.id, form.choice.data)
    except lifecycle.NotYours:
        abort(404)
    return _answer(sub_id, change)
