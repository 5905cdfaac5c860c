"""Twilio's webhooks: texts people send us, status callbacks of texts and calls, the TwiML
of an answered call and the digit pressed. Every one is signature-checked
(X-Twilio-Signature with TWILIO_AUTH_TOKEN): a forged or unsigned request answers 403 and
changes nothing. CSRF-exempt (Twilio has no session), but inside the input boundary
(``storefront.inputs``) like every request; an inbound text's Body may hold line breaks.
"""
from __future__ import annotations

import logging

from flask import Response, request

from storefront.extensions import csrf
from storefront.inputs import multiline
from storefront.notifications import webhooks
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
