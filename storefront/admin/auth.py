"""Sign in and out. Rate-limited per IP and per account; the session is rotated on login."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from storefront.accounts.forms import SignInForm
from storefront.accounts.services import authenticate, end_sessions
from storefront.accounts.throttle import hit as throttle_hit
from storefront.accounts.throttle import shared_store_up
from storefront.htmx import render, wants_fragment
from storefront.limits import per_ip_and_account
from storefront.routing import Routes
from storefront.types import new_token

routes = Routes()

FAILED = "Email or password is incorrect."
LOGIN = "admin/login.html"


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute URL or a protocol-relative one.
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.home")


def _form_page(form: SignInForm, status: int = 200, error: str | None = None):
    return render(LOGIN, "login_form", status=status, form=form, error=error)


@routes.route("/login", methods=["GET", "POST"])
@per_ip_and_account("RATELIMIT_LOGIN", methods=["POST"])
def login():
    """The sign-in form; POST checks the credentials and starts a fresh session. A missing
    or too long input is named (422); wrong credentials get one answer whatever was wrong
    (422). Over htmx, success answers HX-Redirect to the admin; else a 303."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.home"))
    form = SignInForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return _form_page(form)
    if not form.validate():
        return _form_page(form, 422)
    if not shared_store_up() and not throttle_hit(request.remote_addr or "", form.email.data):
        abort(429)
    user = authenticate(form.email.data, form.password.data)
    if user is None:
        return _form_page(form, 422, FAILED)
    target = _safe_next(request.args.get("next"))
    # A new session on sign-in: nothing from before (e.g. a planted value) carries over,
    # and a fresh random id makes the new cookie unlike any issued before (rotation).
    session.clear()
    session["sid"] = new_token()
    login_user(user)
    if wants_fragment():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


@routes.post("/logout")
@login_required
def logout():
    """Sign out everywhere this session was valid, and clear the cookie session."""
    end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("admin.login"), code=303)
