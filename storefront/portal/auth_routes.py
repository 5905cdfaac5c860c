"""Signing in to the portal and out, and confirming a new email address.

- ``GET/POST /account/<shop>/sign-in``: the address form; a POST emails a link (rate
  limited per IP and per address, ``RATELIMIT_PORTAL``) and always answers the same.
- ``GET /account/<shop>/sign-in/<token>``: "sign in?" with one button (a mail scanner that
  opens links never uses one up); ``POST`` uses the link and starts the session.
- ``POST /account/sign-out``.
- ``GET/POST /account/email/<token>``: the same two steps for a new address.

A tampered, expired or used link answers 404 with the reason and a way to ask again.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from storefront.accounts.models import Company
from storefront.accounts.services import AccountError
from storefront.extensions import db
from storefront.htmx import no_store, render, toast, wants_fragment
from storefront.limits import per_ip_and_account
from storefront.notifications.records import SendError
from storefront.portal import links, session
from storefront.portal.forms import ConfirmForm, SignInForm
from storefront.portal.services import shop_for
from storefront.routing import Routes

routes = Routes()
SENT = ("If {email} is the address of one of our customers, a sign-in link is on its way. "
        "It works once, for {minutes} minutes.")


def _company(shop: str) -> Company:
    if len(shop) > 80:
        abort(404)
    company = db.session.execute(db.select(Company).filter_by(slug=shop)).scalar_one_or_none()
    if company is None:
        abort(404)
    return company


def _refused(company: Company | None, error: Exception):
    """A bad link: 404 with the reason, and the form to ask for a new one."""
    ctx = shop_for(company.id) if company else {}
    return no_store(render("portal/link.html", "link", 404, company=company, error=str(error), form=None, **ctx))


@routes.route("/account/<shop>/sign-in", methods=["GET", "POST"])
@per_ip_and_account("RATELIMIT_PORTAL", methods=["POST"])
def sign_in(shop: str):
    company = _company(shop)
    form = SignInForm.of(company)
    if request.method == "POST":
        if not form.validate():
            return render("portal/sign_in.html", "sign_in", 422, company=company, form=form, **shop_for(company.id))
        try:
            links.request_sign_in(company, form.email.data)
        except SendError:
            # The link was stored; the email did not go. Refused or unreachable, say so
            # (for a known address only, but a mail server down is not about the address).
            form.fail("email", "We couldn't send the email just now. Please try again in a minute.")
            return render("portal/sign_in.html", "sign_in", 503, company=company, form=form, **shop_for(company.id))
        message = SENT.format(email=form.email.data[:254], minutes=links.LINK_MINUTES)
        if wants_fragment():
            response = render("portal/sign_in.html", "sign_in", company=company, form=SignInForm.of(company, fresh=True),
                              sent=message, **shop_for(company.id))
            return toast(response, "Check your inbox.")
        flash(message, "info")
        return redirect(url_for("portal.sign_in", shop=shop), code=303)
    return render("portal/sign_in.html", "sign_in", company=company, form=form, **shop_for(company.id))


@routes.route("/account/<shop>/sign-in/<token>", methods=["GET", "POST"])
def use_sign_in_link(shop: str, token: str):
    company = _company(shop)
    try:
        if request.method == "GET":
            links.check_link(token, links.SIGN_IN, company.id)
            # A page whose address holds a live token: never kept by a cache.
            return no_store(render("portal/link.html", "link", company=company, form=ConfirmForm.of(company),
                                   action=request.path, **shop_for(company.id)))
        link = links.use_link(token, links.SIGN_IN, company.id)
    except links.BadLink as error:
        return _refused(company, error)
    session.sign_in(link.company_id, link.customer_id)
    flash("You're signed in.", "success")
    response = redirect(url_for("portal.home"), code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/account/sign-out")
def sign_out():
    signed = session.current()
    session.sign_out()
    flash("You're signed out.", "info")
    if signed is not None:
        return redirect(url_for("portal.sign_in", shop=signed.company.slug), code=303)
    return redirect(url_for("portal.home"), code=303)


@routes.route("/account/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    try:
        link = links.check_link(token, links.EMAIL_CHANGE)
        company = db.session.get(Company, link.company_id)
        if request.method == "GET":
            return no_store(render("portal/link.html", "link", company=company, form=ConfirmForm.of(company),
                                   action=request.path, new_email=link.new_email, **shop_for(company.id)))
        customer = links.confirm_email_change(token)
    except links.BadLink as error:
        return _refused(None, error)
    except AccountError as error:
        return _refused(company, error)
    flash(f"Your email address is now {customer.email}.", "success")
    return redirect(url_for("portal.home"), code=303)
