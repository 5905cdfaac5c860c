"""Sign in and out. Rate-limited per IP and per account; the session is rotated on login."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from storefront.accounts.services import authenticate, end_sessions
from storefront.accounts.throttle import hit as throttle_hit
from storefront.accounts.throttle import shared_store_up
from storefront.limits import per_ip_and_account
from storefront.routing import Routes
from storefront.types import new_token

routes = Routes()

FAILED = "Email or password is incorrect."




def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute URL or a protocol-relative one.
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.home")


@routes.route("/login", methods=["GET", "POST"])
@per_ip_and_account("RATELIMIT_LOGIN", methods=["POST"])
def login():
    """The sign-in form; POST checks the credentials and starts a fresh session."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.home"))
    if request.method == "POST":
        if not shared_store_up() and not throttle_hit(request.remote_addr or "", request.form.get("email", "")):
            abort(429)
        user = authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            return render_template("admin/login.html", error=FAILED, email=request.form.get("email", "")[:254]), 422
        target = _safe_next(request.args.get("next"))
        # A new session on sign-in: nothing from before (e.g. a planted value) carries over,
        # and a fresh random id makes the new cookie unlike any issued before (rotation).
        session.clear()
        session["sid"] = new_token()
        login_user(user)
        return redirect(target, code=303)
    return render_template("admin/login.html", error=None, email="")


@routes.post("/logout")
@login_required
def logout():
    """Sign out everywhere this session was valid, and clear the cookie session."""
    end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("admin.login"), code=303)
