"""Admin screens of cart recovery (/admin/recovery): the report (attempts, messages sent,
clicked and UNKNOWN, recovered orders and revenue per stage and channel, the rate and its
alerts, and the breakdowns by channel, stage, reason, landing page and campaign:
``recovery.breakdowns``), the list of attempts, one attempt's timeline with "stop
recovery", and the settings of each stage. Reads go through ``accounts.scoping``: another merchant's attempt
answers 404.
"""
from __future__ import annotations

from datetime import timedelta

from flask import abort, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func

from storefront.accounts.scoping import get_or_404, scoped
from storefront.admin.kit import done, invalid, list_link, merchant, page_number, paginate
from storefront.dates import period_start
from storefront.htmx import render
from storefront.inputs import optional_int
from storefront.money import format_money
from storefront.recovery import delivery, previews, services
from storefront.recovery.breakdowns import breakdowns
from storefront.recovery.forms import RecoverySettingsForm, SendTestForm, form_data
from storefront.recovery.models import CartSaveAttempt
from storefront.recovery.reports import report
from storefront.recovery.stages import STAGE_LABELS, StageConfigError
from storefront.routing import Routes
from storefront.types import utcnow

routes = Routes()
PERIODS = (7, 30, 90)
STATUS_LABELS = {"SCHEDULED": "Scheduled", "QUEUED": "Queued", "SENDING": "Sending", "SENT": "Sent",
                 "UNKNOWN": "Unknown: not re-sent", "OPENED": "Opened", "CLICKED": "Clicked", "EXECUTED": "Ordered",
                 "FAILED": "Failed", "CANCELLED": "Cancelled", "PAUSED": "Paused", "ACTIVE": "Running",
                 "PENDING": "Pending", "CONVERTED": "Recovered", "EXHAUSTED": "Exhausted", "EXPIRED": "Expired"}


def _context(**extra) -> dict:
    company = current_user.company
    return {**merchant(company), "money": lambda cents: format_money(cents, company.currency, company.locale),
            "statuses": STATUS_LABELS, "stage_labels": STAGE_LABELS, **extra}


@routes.get("/recovery")
@login_required
def recovery_report():
    """The report of the last 7, 30 or 90 days in the merchant's timezone (``days``, a GET
    form; any other value shows 30)."""
    days = optional_int(request.args.get("days"), 1, default=30)
    days = days if days in PERIODS else 30
    company = current_user.company
    now = utcnow()
    since, until = period_start(company.timezone, days, now), now + timedelta(seconds=1)
    figures = report(company.id, company.currency, since, until)
    return render("admin/recovery/report.html", "figures", **_context(
        report=figures, breakdowns=breakdowns(company.id, since, until), days=days, periods=PERIODS))


@routes.get("/recovery/attempts")
@login_required
def recovery_attempts():
    """Every attempt, newest first, a page at a time."""
    rows = scoped(CartSaveAttempt).order_by(CartSaveAttempt.started_at.desc(), CartSaveAttempt.id.desc())
    count = scoped(CartSaveAttempt, func.count(CartSaveAttempt.id))
    page = paginate(rows, page_number(), count, row=lambda attempt: attempt)
    return render("admin/recovery/attempts.html", "results", **_context(
        page=page, link=list_link("admin.recovery_attempts")))


@routes.get("/recovery/attempts/<int:attempt_id>")
@login_required
def recovery_attempt(attempt_id: int):
    """One attempt: its messages (with UNKNOWN and the reason of each schedule) and history."""
    attempt = get_or_404(CartSaveAttempt, attempt_id)
    return render("admin/recovery/attempt.html", "content", **_context(attempt=attempt))


@routes.post("/recovery/attempts/<int:attempt_id>/stop")
@login_required
def recovery_stop(attempt_id: int):
    """Stop recovery for this cart: the attempt EXPIRES and its pending messages are cancelled."""
    attempt = get_or_404(CartSaveAttempt, attempt_id)
    cancelled = services.stop_by_merchant(attempt, current_user)
    target = url_for("admin.recovery_attempt", attempt_id=attempt.id)
    return done(f"Recovery stopped: {cancelled} message{'s' if cancelled != 1 else ''} cancelled.", target)


@routes.post("/recovery/attempts/<int:attempt_id>/send/<int:intervention_id>")
@login_required
def recovery_send_now(attempt_id: int, intervention_id: int):
    """Send one pending message of this attempt now (stop rules, consent and quiet hours
    still apply); 404 for another merchant's attempt or a message not pending."""
    attempt = get_or_404(CartSaveAttempt, attempt_id)
    if delivery.send_now(attempt, intervention_id) is None:
        abort(404)
    return done("Message sent to the queue: it goes out now unless a stop rule or quiet hours hold it.",
                url_for("admin.recovery_attempt", attempt_id=attempt.id))


@routes.get("/recovery/attempts/<int:attempt_id>/preview/<int:intervention_id>")
@login_required
def recovery_preview(attempt_id: int, intervention_id: int):
    """What one message of this attempt says (email subject and text, the SMS, the call's
    script), composed from the cart as it is now."""
    attempt = get_or_404(CartSaveAttempt, attempt_id)
    preview = previews.preview(attempt, intervention_id)
    if preview is None:
        abort(404)
    return render("admin/recovery/preview.html", "content", **_context(attempt=attempt, preview=preview))


@routes.post("/recovery/settings/test")
@login_required
def recovery_test_email():
    """"Send me a test": the chosen email stage's message, to the signed-in merchant."""
    company = current_user.company
    stage = SendTestForm.of(company).stage.data
    target = url_for("admin.recovery_settings")
    try:
        message = previews.send_test_email(company.id, stage, current_user.email)
    except (ValueError, previews.NoSample) as error:
        return done(str(error), target, level="error")
    if message.status != "SENT":
        return done(f"The test was not sent: {message.error or message.status}.", target, level="error")
    return done(f"Test sent to {current_user.email}.", target)


def _settings_page(form: RecoverySettingsForm, status: int = 200):
    return render("admin/recovery/settings.html", "settings_form", status=status,
                  **_context(form=form, realtime=form.realtime_fields(), stages=[(stage, form.stage_fields(stage)) for stage in
                                                 ("REMINDER_EMAIL", "SMS_NUDGE", "INCENTIVE_EMAIL", "VOICE_CALL",
                                                  "FINAL_OFFER_EMAIL")]))


def _stored(company) -> dict:
    settings = services.settings_for(company.id)
    return form_data(settings.enabled, settings.stages, f"{settings.window.start:%H:%M}",
                     f"{settings.window.end:%H:%M}")


@routes.route("/recovery/settings", methods=["GET", "POST"])
@login_required
def recovery_settings():
    """The flow's settings; POST validates (the form, then the stage rules) and saves, 422
    with what was typed on errors."""
    company = current_user.company
    form = RecoverySettingsForm.of(company, _stored(company))
    if request.method == "GET":
        return _settings_page(form)
    if request.method != "POST":
        abort(405)
    if not form.validate():
        return invalid(_settings_page(form, 422))
    try:
        services.save_settings(company.id, enabled=form.enabled.data, stages=form.stages(),
                               window_start=form.window_start.data, window_end=form.window_end.data)
    except StageConfigError as error:
        form.show_errors(error.errors)
        return invalid(_settings_page(form, 422))
    return done("Recovery settings saved.", url_for("admin.recovery_settings"),
                    lambda: _settings_page(RecoverySettingsForm.of(company, _stored(company), fresh=True)))
