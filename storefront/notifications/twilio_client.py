"""The official ``twilio`` SDK, configured once: the client, what its errors mean for
delivery, our callback addresses and the check of Twilio's signature on them.

Without TWILIO_ACCOUNT_SID (development, tests) the SDK talks to the local
Twilio-compatible server (``twilio_server``) through ``LocalTwilioHttpClient``: a
``TwilioHttpClient`` that only swaps Twilio's host for TWILIO_API_BASE, the route the
twilio-python maintainers recommend for a stand-in server (twilio-python #521, "custom HTTP
clients"), so the SDK's own request code runs unchanged.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from flask import Request, current_app
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from storefront.notifications import records

TIMEOUT_SECONDS = 10
_clients: dict[tuple, Client] = {}
_lock = threading.Lock()


class LocalTwilioHttpClient(TwilioHttpClient):
    """Sends every SDK request to ``base`` (e.g. "http://127.0.0.1:8421") with the path and
    query Twilio's host would get; everything else is ``TwilioHttpClient``'s own."""

    def __init__(self, base: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        local = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, local, *args, **kwargs)


def twilio_configured() -> bool:
    """True when SMS and calls can go out: an account, its auth token and a sending number."""
    config = current_app.config
    return bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN") and config.get("TWILIO_FROM"))


def client() -> Client:
    """The SDK client for the configured account (one per process and settings, so its HTTP
    connections are reused). Pointed at TWILIO_API_BASE when that is set."""
    config = current_app.config
    key = (config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config.get("TWILIO_API_BASE") or "")
    with _lock:
        found = _clients.get(key)
        if found is None:
            sid, token, base = key
            http = LocalTwilioHttpClient(base, timeout=TIMEOUT_SECONDS) if base else TwilioHttpClient(
                timeout=TIMEOUT_SECONDS)
            found = _clients[key] = Client(sid, token, http_client=http)
        return found


def provider_call(create: Callable[[], object]) -> str:
    """Run an SDK create call and return the new resource's SID. Raises records.Refused for
    Twilio's "no" (a 4xx: invalid or opted-out number...), records.Unreachable when Twilio
    did not take the request (no connection, 429, 5xx); any other error (a read timeout, a
    connection cut after sending) propagates: the request may have been taken."""
    try:
        return create().sid
    except TwilioRestException as error:
        reason = f"Twilio {error.status} (code {error.code}): {str(error.msg)[:200]}"
        if error.status == 429 or error.status >= 500:
            raise records.Unreachable(reason) from error
        raise records.Refused(reason) from error
    except RequestsConnectionError as error:
        cause = getattr(error.args[0], "reason", None) if error.args else None
        if isinstance(error, ConnectTimeout) or isinstance(cause, (NewConnectionError, ConnectTimeoutError)):
            raise records.Unreachable(f"Twilio unreachable: {type(cause or error).__name__}") from error
        raise


def webhook_url(path: str, **query) -> str:
    """The absolute address Twilio calls back: PUBLIC_URL + ``path`` + ``query``."""
    return current_app.config["PUBLIC_URL"] + path + (f"?{urlencode(query)}" if query else "")


def signature_valid(request: Request) -> bool:
    """True when the request carries Twilio's X-Twilio-Signature for its URL and form, made
    with TWILIO_AUTH_TOKEN (``twilio.request_validator.RequestValidator``). The URL Twilio
    signed is ours as PUBLIC_URL names it (behind a proxy the request's own URL differs),
    or the request's own."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    validator = RequestValidator(token)
    query = request.query_string.decode("ascii", "replace")
    public = current_app.config["PUBLIC_URL"] + request.path + (f"?{query}" if query else "")
    return any(validator.validate(url, request.form, signature) for url in dict.fromkeys((public, request.url)))
