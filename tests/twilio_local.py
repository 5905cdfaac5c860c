"""The tests' handle on the local Twilio-compatible server (storefront.notifications.twilio_server):
its address and account, and its test endpoints over HTTP (what was sent, scripted outcomes,
a person texting us, reset)."""
from __future__ import annotations

import json
import secrets
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

TEST_FROM = "+15005550006"


@dataclass
class LocalTwilio:
    base: str
    account_sid: str = "AC" + secrets.token_hex(16)
    auth_token: str = secrets.token_hex(16)

    def _post(self, path: str, **form) -> dict:
        data = urlencode({k: v for k, v in form.items() if v is not None}).encode()
        with urllib.request.urlopen(self.base + path, data=data, timeout=30) as response:
            return json.load(response)

    def outbox(self) -> dict:
        """{"messages": [...], "calls": [...]} as the server keeps them, oldest first."""
        with urllib.request.urlopen(self.base + "/_outbox", timeout=10) as response:
            return json.load(response)

    def messages_to(self, number: str) -> list[dict]:
        return [m for m in self.outbox()["messages"] if m["to"] == number]

    def calls_to(self, number: str) -> list[dict]:
        return [c for c in self.outbox()["calls"] if c["to"] == number]

    def script(self, number: str, sms: str | None = None, call: str | None = None, digits: str | None = None) -> dict:
        """Outcomes for ``number`` from now on (see the server's docstring)."""
        return self._post("/_script", number=number, sms=sms, call=call, digits=digits)

    def inbound(self, sender: str, body: str, url: str) -> dict:
        """``sender`` texts ``body`` to our number; the server posts it, signed, to ``url``.
        Returns {"sid", "status" (our answer's HTTP status), "replies" (texts of our TwiML)}."""
        return self._post("/_inbound", From=sender, Body=body, Url=url, To=TEST_FROM)

    def reset(self) -> None:
        self._post("/_reset")

    def wait_for(self, found, seconds: float = 20.0):
        """Poll ``found()`` until it returns something truthy (the server's callbacks run in
        the background); returns it, or raises AssertionError after ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = found()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"still waiting after {seconds} s")
