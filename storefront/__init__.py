"""storefront: a server-rendered, conversion-focused shop."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from storefront.config import load_config
from storefront.extensions import csrf, db, limiter, login_manager, migrate
from storefront.extensions import htmx as htmx_extension
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

    db.init_app(app)
    from storefront import models  # noqa: F401  (registers every table on the metadata)

    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    # Aliased: importing the storefront.htmx module rebinds the package's name "htmx".
    htmx_extension.init_app(app)
    limiter.init_app(app)
    # No app-wide current_user: loading it would touch every shopper's session cookie.
    login_manager.init_app(app, add_context_processor=False)
    from storefront.accounts.services import load_user

    login_manager.user_loader(load_user)

    from storefront.cart.routes import bp as cart_bp
    from storefront.checkout.routes import bp as checkout_bp
    from storefront.landing.routes import bp as landing_bp
    from storefront.leads.routes import bp as leads_bp
    from storefront.payments.routes import bp as payments_bp
    from storefront.themes.routes import bp as themes_bp

    for bp in (landing_bp, cart_bp, checkout_bp, leads_bp, payments_bp, themes_bp):
        app.register_blueprint(bp)
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


def _install_template_globals(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals["stripe_test_mode"] = app.config["STRIPE_TEST_MODE"]


def _install_error_handlers(app: Flask) -> None:
    def error_page(status: int, title: str, message: str):
        if request.htmx:
            body = render_template("errors/_message.html", title=title, message=message)
        else:
            body = render_template("errors/error.html", status=status, title=title, message=message)
        return body, status, {"Cache-Control": "no-store"}

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
