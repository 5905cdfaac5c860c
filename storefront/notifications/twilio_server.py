"""A small Twilio-compatible server for development and tests, bound to 127.0.0.1.

Usage: ``python -m storefront.notifications.twilio_server [PORT [ACCOUNT_SID AUTH_TOKEN]]``
(default 8421 and the public local credentials of ``storefront.config``). ``flask
run-demo`` starts it when no TWILIO_ACCOUNT_SID is set; the tests start it per session.

It speaks the two REST resources the channels use, as the official SDK calls them
(form-encoded requests, Basic auth with the account SID and auth token, Twilio's JSON and
error shapes): ``/2010-04-01/Accounts/{sid}/Messages.json`` and ``Calls.json`` (create),
and ``…/Messages/{sid}.json`` and ``…/Calls/{sid}.json`` (fetch). Then it plays the part of
the network, calling our webhooks signed with the auth token exactly as Twilio signs
(``sign``: X-Twilio-Signature, HMAC-SHA1 over the URL and the sorted form):

- a text: the status callback "sent", then its scripted outcome;
- a call: the scripted outcome; when answered, it POSTs to the call's Url for TwiML, says
  its ``Say``s, presses the scripted digits into a ``Gather`` (POST to its action) and
  follows the answer, then the status callback "completed" (or no-answer, busy, failed).

Test and admin endpoints: ``GET /_outbox`` (what was sent: texts, calls with what was
said and pressed, callbacks made, as JSON), ``POST /_script`` (number, and any of sms =
delivered | failed | undelivered | rejected | unavailable, call = completed | no-answer |
busy | failed, digits: per number until changed; "rejected" answers the create with
Twilio's 400, "unavailable" with 503), ``POST /_inbound`` (From, Body, Url: a person texts
us; answers our TwiML reply) and ``POST /_reset``. A development tool, kept in memory.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from storefront.config import LOCAL_TWILIO_SID, LOCAL_TWILIO_TOKEN

API = "/2010-04-01/Accounts/"
STEP_SECONDS = 0.05  # between a create's answer and its callbacks, as the network would
SMS_OUTCOMES = ("delivered", "failed", "undelivered", "rejected", "unavailable")
CALL_OUTCOMES = ("completed", "no-answer", "busy", "failed")
ERROR_CODES = {"failed": "30008", "undelivered": "30003"}
log = logging.getLogger("twilio_server")


def sign(token: str, url: str, params: dict[str, list[str]]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 with the auth token of the URL followed
    by every parameter name and value, names sorted (and a name's values sorted)."""
    data = url + "".join(name + value for name in sorted(params) for value in sorted(params[name]))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _now() -> str:
    return format_datetime(datetime.now(UTC), usegmt=True)


def _error(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}


class Twin:
    """The server's memory: resources by SID, scripts by number, the account's token."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.messages: dict[str, dict] = {}
            self.calls: dict[str, dict] = {}
            self.scripts: dict[str, dict] = {}

    def script_for(self, number: str) -> dict:
        with self.lock:
            return dict(self.scripts.get(number, {}))

    # -- outgoing callbacks ----------------------------------------------------------------

    def post(self, record: dict, url: str, params: dict[str, str]) -> str | None:
        """POST ``params`` to ``url`` signed as Twilio signs; note it on ``record``; returns the body."""
        if not url:
            return None
        form = {k: v for k, v in params.items() if v is not None}
        request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": sign(self.auth_token, url, {k: [v] for k, v in form.items()})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, None
        except OSError as error:
            status, body = 0, None
            log.warning("callback to %s failed: %s", url, error)
        with self.lock:
            record["callbacks"].append({"url": url, "params": form, "status": status})
        return body

    def run_message(self, sid: str, outcome: str) -> None:
        message = self.messages[sid]
        for status in ("sent", outcome):
            time.sleep(STEP_SECONDS)
            with self.lock:
                message.update(status=status, date_updated=_now(), error_code=ERROR_CODES.get(status))
                if status == "sent":
                    message["date_sent"] = message["date_updated"]
            self.post(message, message["_status_callback"], {
                "MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": message["from"],
                "To": message["to"], "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01",
                "ErrorCode": ERROR_CODES.get(status)})

    def run_call(self, sid: str, script: dict) -> None:
        call = self.calls[sid]
        params = {"CallSid": sid, "AccountSid": self.account_sid, "From": call["from"], "To": call["to"],
                  "Direction": "outbound-api", "ApiVersion": "2010-04-01"}
        outcome = script.get("call", "completed")
        for status in ("initiated", "ringing") + (("in-progress",) if outcome == "completed" else ()):
            time.sleep(STEP_SECONDS)
            self._call_event(call, params, status)
        if outcome == "completed":
            twiml = call["_twiml"] or self.post(call, call["_url"], {**params, "CallStatus": "in-progress"})
            self.play(call, params, twiml or "", call["_url"], script.get("digits") or "", depth=0)
        time.sleep(STEP_SECONDS)
        self._call_event(call, params, outcome, final=True)

    def _call_event(self, call: dict, params: dict, status: str, final: bool = False) -> None:
        with self.lock:
            call.update(status=status, date_updated=_now())
            if status == "in-progress":
                call["start_time"] = call["date_updated"]
            if final:
                call["end_time"] = call["date_updated"]
                call["duration"] = "12" if status == "completed" else "0"
        event = {"in-progress": "answered"}.get(status, status)
        if final or event in call["_events"]:
            self.post(call, call["_status_callback"], {**params, "CallStatus": status, "CallDuration": call["duration"],
                                                       "Timestamp": call["date_updated"]})

    def play(self, call: dict, params: dict, twiml: str, base_url: str, digits: str, depth: int) -> None:
        """Act out TwiML: note each Say, press ``digits`` into the first Gather (then follow
        its action's answer), follow Redirects, stop at Hangup."""
        if depth > 5:
            return
        try:
            root = ET.fromstring(twiml)
        except ET.ParseError:
            with self.lock:
                call["heard"].append("(not TwiML)")
            return
        for verb in root:
            if verb.tag == "Say":
                with self.lock:
                    call["heard"].append((verb.text or "").strip())
            elif verb.tag == "Gather":
                for said in verb.iter("Say"):
                    with self.lock:
                        call["heard"].append((said.text or "").strip())
                if digits:
                    action = urljoin(base_url, verb.get("action") or base_url)
                    with self.lock:
                        call["pressed"].append(digits)
                    answer = self.post(call, action, {**params, "CallStatus": "in-progress", "Digits": digits})
                    self.play(call, params, answer or "", action, "", depth + 1)
                    return
            elif verb.tag == "Redirect" and verb.text:
                url = urljoin(base_url, verb.text.strip())
                self.play(call, params, self.post(call, url, {**params, "CallStatus": "in-progress"}) or "", url,
                          digits, depth + 1)
                return
            elif verb.tag == "Hangup":
                return


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


class Handler(BaseHTTPRequestHandler):
    twin: Twin
    server_version = "LocalTwilio/1.0"

    def log_message(self, format, *args):  # noqa: A002  (quiet: the tests read /_outbox)
        log.debug(format, *args)

    def _send(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _form(self) -> dict[str, list[str]]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return {k: [str(v)] for k, v in (json.loads(raw or "{}")).items()}
        return parse_qs(raw, keep_blank_values=True)

    def _authorised(self, account: str) -> bool:
        header = self.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            return False
        return (header.startswith("Basic ") and user == account == self.twin.account_sid
                and hmac.compare_digest(password, self.twin.auth_token))

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        twin = self.twin
        if path == "/_outbox":
            with twin.lock:
                return self._send(200, {"messages": [_public(m) for m in twin.messages.values()],
                                        "calls": [_public(c) for c in twin.calls.values()]})
        if path == "/":
            return self._send(200, {"server": "local Twilio-compatible server"})
        parts = path.removeprefix(API).split("/")
        if not path.startswith(API) or len(parts) != 3 or parts[1] not in ("Messages", "Calls"):
            return self._send(*_error(404, 20404, "The requested resource was not found"))
        if not self._authorised(parts[0]):
            return self._send(*_error(401, 20003, "Authenticate"))
        store = twin.messages if parts[1] == "Messages" else twin.calls
        with twin.lock:
            found = store.get(parts[2].removesuffix(".json"))
            if found is None:
                return self._send(*_error(404, 20404, f"The requested resource {path} was not found"))
            return self._send(200, _public(found))

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        lists = self._form()
        form = {k: v[-1] for k, v in lists.items()}
        if path == "/_reset":
            self.twin.reset()
            return self._send(200, {"reset": True})
        if path == "/_script":
            return self._script(form)
        if path == "/_inbound":
            return self._inbound(form)
        parts = path.removeprefix(API).split("/")
        if not path.startswith(API) or len(parts) != 2 or parts[1] not in ("Messages.json", "Calls.json"):
            return self._send(*_error(404, 20404, "The requested resource was not found"))
        if not self._authorised(parts[0]):
            return self._send(*_error(401, 20003, "Authenticate"))
        if parts[1] == "Messages.json":
            return self._create_message(form)
        return self._create_call(form, lists)

    def _script(self, form: dict) -> None:
        number = form.get("number", "")
        if not number.startswith("+") or form.get("sms", "delivered") not in SMS_OUTCOMES or \
                form.get("call", "completed") not in CALL_OUTCOMES or not set(form.get("digits", "")) <= set("0123456789*#"):
            return self._send(400, {"error": f"number, sms in {SMS_OUTCOMES}, call in {CALL_OUTCOMES}, digits"})
        with self.twin.lock:
            script = self.twin.scripts.setdefault(number, {})
            script.update({k: form[k] for k in ("sms", "call", "digits") if k in form})
        return self._send(200, {"number": number, **script})

    def _create_message(self, form: dict) -> None:
        to, sender, body = form.get("To"), form.get("From") or form.get("MessagingServiceSid"), form.get("Body")
        if not to:
            return self._send(*_error(400, 21604, "A 'To' phone number is required."))
        if not sender:
            return self._send(*_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required."))
        if not body:
            return self._send(*_error(400, 21602, "Message body is required."))
        outcome = self.twin.script_for(to).get("sms", "delivered")
        if outcome == "rejected":
            return self._send(*_error(400, 21211, f"The 'To' number {to} is not a valid phone number."))
        if outcome == "unavailable":
            return self._send(*_error(503, 20503, "Service Unavailable"))
        sid = "SM" + secrets.token_hex(16)
        account = self.twin.account_sid
        message = {"sid": sid, "account_sid": account, "api_version": "2010-04-01", "body": body, "to": to,
                   "from": sender, "status": "queued", "direction": "outbound-api", "date_created": _now(),
                   "date_updated": _now(), "date_sent": None, "error_code": None, "error_message": None,
                   "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
                   "price": None, "price_unit": "USD", "uri": f"{API}{account}/Messages/{sid}.json",
                   "subresource_uris": {"media": f"{API}{account}/Messages/{sid}/Media.json"},
                   "_status_callback": form.get("StatusCallback", ""), "callbacks": []}
        with self.twin.lock:
            self.twin.messages[sid] = message
        self._send(201, _public(message))
        threading.Thread(target=self.twin.run_message, args=(sid, outcome), daemon=True).start()

    def _create_call(self, form: dict, lists: dict[str, list[str]]) -> None:
        to, sender = form.get("To"), form.get("From")
        if not to:
            return self._send(*_error(400, 21201, "No 'To' number is specified"))
        if not sender:
            return self._send(*_error(400, 21213, "No 'From' number is specified"))
        if not form.get("Url") and not form.get("Twiml"):
            return self._send(*_error(400, 21205, "Url parameter is required."))
        sid = "CA" + secrets.token_hex(16)
        account = self.twin.account_sid
        call = {"sid": sid, "account_sid": account, "api_version": "2010-04-01", "to": to, "to_formatted": to,
                "from": sender, "from_formatted": sender, "status": "queued", "direction": "outbound-api",
                "date_created": _now(), "date_updated": _now(), "start_time": None, "end_time": None,
                "duration": None, "price": None, "price_unit": "USD", "answered_by": None, "caller_name": None,
                "forwarded_from": None, "group_sid": None, "parent_call_sid": None, "phone_number_sid": None,
                "queue_time": "0", "trunk_sid": None, "uri": f"{API}{account}/Calls/{sid}.json",
                "subresource_uris": {}, "heard": [], "pressed": [], "callbacks": [],
                "_url": form.get("Url", ""), "_twiml": form.get("Twiml", ""),
                "_status_callback": form.get("StatusCallback", ""),
                "_events": set(lists.get("StatusCallbackEvent") or ["completed"])}
        with self.twin.lock:
            self.twin.calls[sid] = call
        self._send(201, _public(call))
        threading.Thread(target=self.twin.run_call, args=(sid, self.twin.script_for(to)), daemon=True).start()

    def _inbound(self, form: dict) -> None:
        url, sender, body = form.get("Url", ""), form.get("From", ""), form.get("Body", "")
        if not url.startswith("http") or not sender:
            return self._send(400, {"error": "Url and From are required"})
        sid = "SM" + secrets.token_hex(16)
        record = {"callbacks": []}
        reply = self.twin.post(record, url, {
            "MessageSid": sid, "SmsSid": sid, "AccountSid": self.twin.account_sid, "From": sender,
            "To": form.get("To") or "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1",
            "SmsStatus": "received", "ApiVersion": "2010-04-01"})
        texts = []
        if reply:
            try:
                texts = [(m.text or "").strip() for m in ET.fromstring(reply).iter("Message")]
            except ET.ParseError:
                texts = []
        self._send(200, {"sid": sid, "status": record["callbacks"][0]["status"], "replies": texts})


def main(port: int = 8421, account_sid: str = LOCAL_TWILIO_SID, auth_token: str = LOCAL_TWILIO_TOKEN) -> None:
    """Serve on 127.0.0.1:``port`` until interrupted."""
    logging.basicConfig(level=logging.WARNING)
    Handler.twin = Twin(account_sid, auth_token)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 8421, *(args[1:3] if len(args) >= 3 else ()))
