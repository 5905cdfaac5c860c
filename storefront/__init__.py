"""storefront: a server-rendered, conversion-focused shop."""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError

from storefront.config import load_config
from storefront.extensions import csrf, db, limiter, login_manager, migrate
from storefront.extensions import htmx as htmx_extension
from storefront.inputs import InputError, install_input_boundary
from storefront.limits import skip_app_wide_check
from storefront.logging_privacy import install_log_masking
from storefront.money import format_money
from storefront.security import install_security_headers


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from the environment (``load_config``), overridden by ``config``."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(load_config())
    if config:
        app.config.update(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()  # logs never hold a full email or phone number
    # Before any blueprint: it replaces the ``int`` URL converter the routes compile with.
    install_input_boundary(app, lambda error: error_page(400, "We can't accept that input", str(error)))

    db.init_app(app)
    from storefront import models  # noqa: F401  (registers every table on the metadata)

    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    # Aliased: importing the storefront.htmx module rebinds the package's name "htmx".
    htmx_extension.init_app(app)
    limiter.init_app(app)
    skip_app_wide_check(app)
    # No app-wide current_user: loading it would touch every shopper's session cookie.
    login_manager.init_app(app, add_context_processor=False)
    from storefront.accounts.services import load_user

    login_manager.user_loader(load_user)

    _register_shopper_blueprints(app)
    from storefront.leads.hooks import install as install_lead_hooks

    install_lead_hooks()  # checkout tells leads of captures, orders and failed payments
    from storefront.billing.hooks import install as install_billing_hooks

    install_billing_hooks()  # the Stripe webhook settles invoice payments
    from storefront.recovery.hooks import install as install_recovery_hooks

    install_recovery_hooks()  # orders stop recovery; STOP and call digits reach it
    from storefront.analytics.hooks import install as install_analytics_hooks

    install_analytics_hooks()  # checkout tells analytics of abandoned carts that convert
    from storefront.admin import register_admin

    register_admin(app)

    from storefront.cli import register_cli

    register_cli(app)
    install_security_headers(app)
    _install_template_globals(app)
    _install_error_handlers(app)

    @app.get("/healthz")
    def healthz():
        db.session.execute(db.text("SELECT 1"))
        return jsonify(status="ok")

    return app


def _register_shopper_blueprints(app: Flask) -> None:
    """The public blueprints, each built for this app from the routes its modules declare
    (``storefront.routing.Routes``): nothing is registered by importing a module."""
    from storefront.billing import routes as billing_routes
    from storefront.billing import upsell_routes
    from storefront.checkout import cart_routes, offer_routes, saved_routes
    from storefront.checkout import routes as checkout_routes
    from storefront.landing import routes as landing_routes
    from storefront.leads import routes as lead_routes
    from storefront.media import routes as media_routes
    from storefront.notifications import routes as notification_routes
    from storefront.payments import routes as payment_routes
    from storefront.portal import account_routes as portal_account_routes
    from storefront.portal import auth_routes as portal_auth_routes
    from storefront.portal import routes as portal_routes
    from storefront.recovery import realtime_routes
    from storefront.recovery import routes as recovery_routes
    from storefront.themes import routes as theme_routes

    blueprints = (
        ("landing", (landing_routes,)), ("cart", (cart_routes, saved_routes)), ("checkout", (checkout_routes, offer_routes)),
        ("leads", (lead_routes,)), ("payments", (payment_routes,)), ("themes", (theme_routes,)),
        ("notifications", (notification_routes,)), ("media", (media_routes,)), ("recovery", (recovery_routes, realtime_routes)),
    )
    blueprints += (("billing", (billing_routes, upsell_routes)),
                   ("portal", (portal_auth_routes, portal_routes, portal_account_routes)))
    for name, modules in blueprints:
        bp = Blueprint(name, __name__)
        for module in modules:
            module.routes.register(bp)
        app.register_blueprint(bp)


def _install_template_globals(app: Flask) -> None:
    from storefront.cart.services import cart_summary_for_request
    from storefront.catalog.plan_terms import describe_interval, first_renewal, save_percent

    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals["plan_interval_words"] = describe_interval
    app.jinja_env.globals["plan_save_percent"] = save_percent
    app.jinja_env.globals["plan_first_renewal"] = first_renewal
    app.jinja_env.globals["account_sign_in"] = _account_sign_in
    app.jinja_env.globals["stripe_test_mode"] = app.config["STRIPE_TEST_MODE"]
    app.jinja_env.globals["shopper_cart"] = cart_summary_for_request


def _account_sign_in(company_id: int) -> str:
    """The customer portal's sign-in address for a merchant's customers (subscription terms
    at checkout say where to cancel). The company is usually loaded already."""
    from storefront.accounts.models import Company
    from storefront.extensions import db

    company = db.session.get(Company, company_id)
    return f"/account/{company.slug}/sign-in" if company else "/account/"


def error_page(status: int, title: str, message: str):
    """An error answer in the form the request expects: JSON ``{"error": message}`` when it
    asked for JSON or sent JSON, the message block for htmx, else the full error page."""
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        response = jsonify(error=message)
        response.status_code = status
    elif request.htmx:
        response = make_response(render_template("errors/_message.html", title=title, message=message), status)
    else:
        response = make_response(
            render_template("errors/error.html", status=status, title=title, message=message), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(InputError)
    def refused_input(error):
        return error_page(400, "We can't accept that input", str(error))

    @app.errorhandler(DataError)
    def data_error(error):
        # Input the boundary let through but the database refused (a value out of a column's
        # range): the request's fault, so 400, logged so the boundary can learn of it.
        from storefront.extensions import db

        db.session.rollback()
        logging.getLogger(__name__).warning("database refused input on %s %s: %s", request.method,
                                            request.path[:200], str(error.orig).splitlines()[0][:200])
        return error_page(400, "We can't accept that input",
                          "A value you sent is out of range. Please check it and try again.")

    @app.errorhandler(404)
    def not_found(_e):
        return error_page(404, "Page not found", "This page does not exist or is no longer available.")

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return error_page(
            400, "Your session expired", "Please reload the page and try again. Nothing was changed."
        )

    @app.errorhandler(429)
    def too_many(_e):
        return error_page(
            429, "Slow down a little", "Too many requests in a short time. Please wait a moment and try again."
        )
