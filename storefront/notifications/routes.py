"""Twilio's webhooks: texts people send us, status callbacks of texts and calls, the TwiML
of an answered call and the digit pressed. Every one is signature-checked
(X-Twilio-Signature with TWILIO_AUTH_TOKEN): a forged or unsigned request answers 403 and
changes nothing. CSRF-exempt (Twilio has no session), but inside the input boundary
(``storefront.inputs``) like every request; an inbound text's Body may hold line breaks.
"""
from __future__ import annotations

import logging

from flask import Response, make_response, render_template, request

from storefront.extensions import csrf
from storefront.inputs import multiline
from storefront.notifications import suppression, webhooks
from storefront.notifications.suppression import BadUnsubscribeToken, read_unsubscribe_token
from storefront.notifications.twilio_client import signature_valid
from storefront.routing import Routes

log = logging.getLogger(__name__)
routes = Routes()
MAX_WEBHOOK_BYTES = 64 * 1024


def _refused() -> Response | None:
    """403 for a request Twilio did not sign, 413 for an oversized one; None when it may go on."""
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        return Response("payload too large", 413, mimetype="text/plain")
    if not signature_valid(request):
        log.warning("Twilio webhook %s refused: bad or missing signature", request.path)
        return Response("invalid signature", 403, mimetype="text/plain")
    return None


def _twiml(body: str) -> Response:
    return Response(body, 200, mimetype="text/xml", headers={"Cache-Control": "no-store"})


def _handle(handler, twiml: bool) -> Response:
    refused = _refused()
    if refused is not None:
        return refused
    try:
        outcome = handler(request.args.get("m"), request.form)
    except webhooks.UnknownMessage:
        return Response("unknown message", 404, mimetype="text/plain")
    return _twiml(outcome) if twiml else Response(outcome, 200, mimetype="text/plain")


@routes.post("/webhooks/twilio/sms")
@csrf.exempt
@multiline("Body")
def twilio_sms():
    """A text to our number: STOP / START / HELP keywords (webhooks.inbound_sms). TwiML."""
    refused = _refused()
    if refused is not None:
        return refused
    return _twiml(webhooks.inbound_sms(request.form))


@routes.post("/webhooks/twilio/status")
@csrf.exempt
def twilio_status():
    """A text's status callback, ``?m=<message id>``: answers the message's status."""
    return _handle(webhooks.message_status, twiml=False)


@routes.post("/webhooks/twilio/call-status")
@csrf.exempt
def twilio_call_status():
    """A call's status callback, ``?m=<message id>``: answers the message's status."""
    return _handle(webhooks.call_status, twiml=False)


@routes.post("/webhooks/twilio/voice")
@csrf.exempt
def twilio_voice():
    """TwiML for the answered call ``?m=<message id>``: its script and Gather."""
    return _handle(webhooks.answer_call, twiml=True)


@routes.post("/webhooks/twilio/gather")
@csrf.exempt
def twilio_gather():
    """The digit pressed on call ``?m=<message id>``: TwiML with the handler's answer."""
    return _handle(webhooks.gathered, twiml=True)


@routes.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    """The unsubscribe link of an email: a page with one button (a GET never unsubscribes:
    mail scanners follow links). A bad token gets a friendly 404 page."""
    try:
        read_unsubscribe_token(token)
    except BadUnsubscribeToken as error:
        return _unsubscribe_answer(404, "This link doesn't work", str(error))
    return _unsubscribe_answer(200, "Unsubscribe", "Stop all emails from this shop to this address?", token=token)


@routes.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe_post(token: str):
    """Unsubscribe: the page's button, or a mail client's RFC 8058 one-click POST
    ("List-Unsubscribe=One-Click"), with no cookie and no CSRF token: the signed token is
    the proof. Idempotent. A bad token answers 404."""
    try:
        suppression.unsubscribe(token, "one-click" if request.form.get("List-Unsubscribe") == "One-Click" else "link")
    except BadUnsubscribeToken as error:
        return _unsubscribe_answer(404, "This link doesn't work", str(error))
    return _unsubscribe_answer(200, "You're unsubscribed", "You will get no more emails from this shop.")


def _unsubscribe_answer(status: int, title: str, message: str, token: str | None = None) -> Response:
    response = make_response(render_template("notifications/unsubscribe.html", title=title, message=message,
                                             token=token), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
