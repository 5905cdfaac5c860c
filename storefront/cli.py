"""Flask commands: ``flask demo seed``, ``flask catalog import``, ``flask run-demo``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from storefront.accounts.models import Company
from storefront.extensions import db

demo_cli = AppGroup("demo", help="The demo merchant.")
users_cli = AppGroup("users", help="Admin users.")
tax_cli = AppGroup("tax", help="Tax rates.")
catalog_cli = AppGroup("catalog", help="The product catalogue.")


@demo_cli.command("seed")
@click.option("--data-dir", default=None, help="Folder of the catalogue exports.")
def demo_seed(data_dir):
    """Seed the demo merchant, its catalogue and the summer-sale page."""
    from storefront.demo import DEMO_OWNER, seed_demo

    page, password = seed_demo(data_dir)
    click.echo(f"demo seeded: /lp/{page.slug} with {sum(len(s.products) for s in page.sections)} products")
    click.echo(f"admin: {DEMO_OWNER} / {password}  (a new password on every seed)")


@users_cli.command("create")
@click.option("--company", "company_slug", required=True, help="Merchant slug.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["owner", "staff"]), default="staff")
@click.password_option(help="At least 10 characters; asked for when omitted.")
def users_create(company_slug, email, role, password):
    """Create an admin user of a merchant."""
    from storefront.accounts.services import AccountError, create_user

    try:
        user = create_user(company_slug, email, password, role)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created {user.role} {user.email} for {company_slug}")


@catalog_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--company", "company_slug", required=True, help="Merchant slug.")
@click.option("--format", "fmt", type=click.Choice(["woocommerce", "shopify"]), default=None,
              help="Sniffed from the header when omitted.")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
def catalog_import(path, company_slug, fmt, dry_run):
    """Import a WooCommerce or Shopify product CSV in one transaction."""
    from storefront.catalog.importers.common import CatalogImportError
    from storefront.catalog.services import import_catalog
    from storefront.landing.services import clear_section_cache

    company = db.session.execute(db.select(Company).filter_by(slug=company_slug)).scalar_one_or_none()
    if company is None:
        raise click.ClickException(f"no merchant with slug {company_slug!r}")
    try:
        report = import_catalog(path, company, fmt=fmt, dry_run=dry_run)
    except CatalogImportError as error:
        raise click.ClickException(str(error)) from error
    for line in report.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was changed")
    else:
        clear_section_cache()


@tax_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--company", "company_slug", required=True, help="Merchant slug.")
def tax_import(path, company_slug):
    """Replace a merchant's tax rates with a WooCommerce tax-rate CSV."""
    from storefront.pricing.tax_import import TaxImportError, import_tax_rates

    company = db.session.execute(db.select(Company).filter_by(slug=company_slug)).scalar_one_or_none()
    if company is None:
        raise click.ClickException(f"no merchant with slug {company_slug!r}")
    try:
        count = import_tax_rates(path, company)
    except TaxImportError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"imported {count} tax rates for {company_slug}")


def _wait_for(url: str, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError as error:
            if hasattr(error, "code"):
                return True
            time.sleep(0.2)
    return False


@click.command("run-demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def run_demo(host, port):
    """Start web, worker and localstripe together; Ctrl-C stops them all."""
    from storefront.queue import redis_connection

    config = current_app.config
    env = dict(os.environ)
    children: list[subprocess.Popen] = []
    if config["STRIPE_LOCAL"]:
        ls_port = int(config["STRIPE_API_BASE"].rsplit(":", 1)[1])
        children.append(subprocess.Popen([sys.executable, "-m", "storefront.payments.localstripe_server", str(ls_port)]))
        if _wait_for(config["STRIPE_API_BASE"] + "/js.stripe.com/v3/"):
            body = f"url=http://{host}:{port}/webhooks/stripe&secret={config['STRIPE_WEBHOOK_SECRET']}".encode()
            urllib.request.urlopen(config["STRIPE_API_BASE"] + "/_config/webhooks/storefront", data=body, timeout=5)
            click.echo(f"localstripe (test mode) on {config['STRIPE_API_BASE']}")
        else:
            click.echo("localstripe did not start: payments will fail", err=True)
    if redis_connection() is not None:
        children.append(subprocess.Popen([sys.executable, "worker.py"], env=env))
        click.echo("worker started on Redis " + config["REDIS_URL"])
        # The periodic jobs of storefront/cron.py: RQ's cron scheduler is a process of its own.
        children.append(subprocess.Popen(
            [sys.executable, "-m", "rq.cli", "cron", "storefront.cron", "--url", config["REDIS_URL"]], env=env))
        click.echo("cron scheduler started (storefront/cron.py)")
    else:
        click.echo("no Redis answers: jobs run in-process in the web server")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"{host}:{port}",
         "--access-logfile", "-", "storefront.wsgi:app"], env=env)
    children.append(web)
    _wait_for(f"http://{host}:{port}/healthz")
    click.echo(f"\n  Storefront is running: http://{host}:{port}/lp/summer-sale\n  Press Ctrl-C to stop.\n")

    def stop(*_):
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        click.echo("a process stopped; shutting down", err=True)
    except KeyboardInterrupt:
        pass
    stop()


def register_cli(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(tax_cli)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(run_demo)
