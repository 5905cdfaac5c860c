"""Flask commands: ``flask demo seed``, ``flask catalog import``, ``flask run-demo``."""
from __future__ import annotations

import contextlib
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
        from storefront.catalog.images import enqueue_image_fetches

        queued = enqueue_image_fetches(company.id)
        click.echo(f"{queued} images queued for fetching" if queued else
                   "images not fetched yet: run `flask catalog fetch-images` (or start Redis and a worker)")


@catalog_cli.command("fetch-images")
@click.option("--company", "company_slug", required=True, help="Merchant slug.")
def catalog_fetch_images(company_slug):
    """Fetch, here and now, the merchant's product images not fetched yet, and make their sizes."""
    from storefront.catalog.images import enqueue_image_fetches, pending_fetch_ids

    company = db.session.execute(db.select(Company).filter_by(slug=company_slug)).scalar_one_or_none()
    if company is None:
        raise click.ClickException(f"no merchant with slug {company_slug!r}")
    ids = pending_fetch_ids(company.id)
    enqueue_image_fetches(company.id, in_process=True)
    from storefront.catalog.models import ProductImage

    failed = [i for i in (db.session.get(ProductImage, n) for n in ids) if i.fetch_error]
    click.echo(f"{len(ids) - len(failed)} images fetched, {len(failed)} failed")
    for image in failed:
        click.echo(f"  {image.src}: {image.fetch_error}")


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


# Ctrl-C, kill and a closing terminal all stop the demo the same way.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# gunicorn 27's control socket (for ``gunicornc``) runs in a thread of the master; a stop can
# leave that master deadlocked and still holding the port (gunicorn #3529). The demo does
# not use gunicornc.
GUNICORN_WEB = ["-m", "gunicorn", "--no-control-socket", "--threads", "4", "--access-logfile", "-"]


def _wait_for(url: str, seconds: float = 15, stopping=lambda: False) -> bool:
    """Poll ``url`` until it answers (any HTTP status): True, or False after ``seconds`` or
    as soon as ``stopping()`` is true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stopping():
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError as error:
            if hasattr(error, "code"):
                return True
            time.sleep(0.2)
    return False


def _start(args: list[str], env: dict) -> subprocess.Popen:
    """Start ``python args`` as the leader of a process group of its own.

    A terminal's Ctrl-C then reaches run-demo alone, which stops each child exactly once,
    and the group kill of ``_stop_children`` also reaches a child's own children (gunicorn
    workers, RQ work horses).
    """
    return subprocess.Popen([sys.executable, *args], env=env, process_group=0)


def _stop_children(children: list[subprocess.Popen], grace: float = 10.0) -> None:
    """Stop each child (the last started first) as a terminal's Ctrl-C would, with SIGINT
    (gunicorn's quick shutdown; RQ's warm shutdown), wait up to ``grace`` seconds in all,
    then SIGKILL whatever is left in each child's process group; returns when every child
    has been reaped."""
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"pid {child.pid} still running {grace:g} s after SIGINT: killed", err=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


@click.command("run-demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=2, type=click.IntRange(1, 64), help="gunicorn worker processes.")
def run_demo(host, port, workers):
    """Start web, worker, localstripe and the local Twilio server together; Ctrl-C stops them all.

    Exits 0 when stopped by SIGINT, SIGTERM or SIGHUP, and 1 when a process stopped on its
    own (its siblings are then stopped too).
    """
    from storefront.queue import redis_connection

    requested: list[int] = []

    def request_stop(signum, _frame):
        # Only note it: an exception raised here (KeyboardInterrupt) could land inside Popen
        # or inside the stop itself and leave a child running.
        requested.append(signum)

    for signum in _STOP_SIGNALS:
        if signum != signal.SIGHUP or signal.getsignal(signum) is not signal.SIG_IGN:  # nohup
            signal.signal(signum, request_stop)
    config = current_app.config
    env = dict(os.environ)
    children: list[subprocess.Popen] = []
    try:
        if config["STRIPE_LOCAL"]:
            ls_port = int(config["STRIPE_API_BASE"].rsplit(":", 1)[1])
            children.append(_start(["-m", "storefront.payments.localstripe_server", str(ls_port)], env))
        if config["TWILIO_LOCAL"]:
            tw_port = int(config["TWILIO_API_BASE"].rsplit(":", 1)[1])
            children.append(_start(["-m", "storefront.notifications.twilio_server", str(tw_port),
                                    config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"]], env))
        if redis_connection() is not None:
            children.append(_start(["worker.py"], env))
            click.echo("worker started on Redis " + config["REDIS_URL"])
            # The periodic jobs of storefront/cron.py: RQ's cron scheduler is a process of its own.
            children.append(_start(["-m", "rq.cli", "cron", "storefront.cron", "--url", config["REDIS_URL"]], env))
            click.echo("cron scheduler started (storefront/cron.py)")
        else:
            click.echo("no Redis answers: jobs run in-process in the web server")
        children.append(_start([*GUNICORN_WEB, "-w", str(workers), "-b", f"{host}:{port}", "storefront.wsgi:app"], env))
        if config["STRIPE_LOCAL"]:
            if _wait_for(config["STRIPE_API_BASE"] + "/js.stripe.com/v3/", stopping=lambda: requested):
                body = f"url=http://{host}:{port}/webhooks/stripe&secret={config['STRIPE_WEBHOOK_SECRET']}".encode()
                urllib.request.urlopen(config["STRIPE_API_BASE"] + "/_config/webhooks/storefront", data=body, timeout=5)
                click.echo(f"localstripe (test mode) on {config['STRIPE_API_BASE']}")
            elif not requested:
                click.echo("localstripe did not start: payments will fail", err=True)
        if config["TWILIO_LOCAL"]:
            if _wait_for(config["TWILIO_API_BASE"] + "/", stopping=lambda: requested):
                click.echo(f"local Twilio-compatible server (SMS and calls) on {config['TWILIO_API_BASE']}")
            elif not requested:
                click.echo("the local Twilio server did not start: SMS and calls will fail", err=True)
        if _wait_for(f"http://{host}:{port}/healthz", stopping=lambda: requested):
            click.echo(f"\n  Storefront is running: http://{host}:{port}/lp/summer-sale\n  Press Ctrl-C to stop.\n")
        while not requested and all(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        _stop_children(children)
    if not requested:
        click.echo("a process stopped; the others were stopped too", err=True)
        sys.exit(1)


analytics_cli = AppGroup("analytics", help="Analytics.")


@analytics_cli.command("reconcile")
@click.option("--company", "company_slug", required=True, help="Merchant slug.")
@click.option("--since", required=True, help="First day, YYYY-MM-DD, in the merchant's timezone.")
@click.option("--until", required=True, help="Last day, YYYY-MM-DD, in the merchant's timezone.")
def analytics_reconcile(company_slug, since, until):
    """List every attribution gap between orders and their visits over a date range."""
    from storefront.analytics.dashboard import RangeError, read_range
    from storefront.analytics.reconcile import gaps
    from storefront.types import utcnow

    company = db.session.execute(db.select(Company).filter_by(slug=company_slug)).scalar_one_or_none()
    if company is None:
        raise click.ClickException(f"No merchant {company_slug!r}.")
    try:
        span = read_range({"range": "custom", "start": since, "end": until}, company.timezone, utcnow())
    except RangeError as error:
        raise click.ClickException(str(error)) from error
    found = gaps(company.id, span.start, span.end)
    for gap in found:
        click.echo(f"{gap.number}\t{gap.kind}\t{gap.detail}")
    click.echo(f"{len(found)} gap{'s' if len(found) != 1 else ''} from {span.first} to {span.last}.")


def register_cli(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(tax_cli)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(run_demo)
    app.cli.add_command(analytics_cli)
