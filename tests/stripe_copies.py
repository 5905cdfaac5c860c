"""A small local stand-in for Stripe's retrieve API, for what localstripe lacks.

localstripe has no Checkout Sessions, and it validates what it stores, so it can never hold
an object of the wrong shape. This server answers ``GET /v1/checkout/sessions/<id>`` and
``GET /v1/payment_intents/<id>`` at Stripe's URLs with the objects a test puts in, built
from the real payloads in shared/data/stripe (``real_object``). An unknown id answers 404
with Stripe's error body, as Stripe does; a request without an API key answers 401.
The SDK is pointed at it through STRIPE_API_BASE (the ``stripe_copies`` fixture).
"""
from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from factories import STRIPE_DIR

ROUTES = {"/v1/checkout/sessions/": "checkout.session", "/v1/payment_intents/": "payment_intent"}


def real_object(name: str, folder: str = "stripe-ruby-mock", **changes) -> dict:
    """``data.object`` of the real event payload ``name`` (or the whole object of an
    ``openapi-fixtures3/object.*.json``), copied, with ``changes`` applied to it."""
    document = json.loads((STRIPE_DIR / folder / name).read_text())
    obj = document["data"]["object"] if document.get("object") == "event" else document
    return {**copy.deepcopy(obj), **changes}


class StripeCopies:
    """Serves the objects given to ``put`` on 127.0.0.1; ``base`` is its URL and
    ``requests`` the paths asked for, in order."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], object] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    return self._send(401, {"error": {"type": "invalid_request_error",
                                                      "message": "You did not provide an API key."}})
                path = self.path.split("?", 1)[0]
                for prefix, kind in ROUTES.items():
                    if path.startswith(prefix):
                        object_id = path[len(prefix):]
                        if (kind, object_id) in server.objects:
                            return self._send(200, server.objects[kind, object_id])
                        return self._send(404, {"error": {
                            "code": "resource_missing", "param": "id", "type": "invalid_request_error",
                            "message": f"No such {kind}: '{object_id}'"}})
                return self._send(404, {"error": {"type": "invalid_request_error",
                                                  "message": f"Unrecognized request URL (GET: {path})."}})

            def _send(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def put(self, obj: dict, kind: str | None = None) -> dict:
        """Serve ``obj`` at its ``id`` (``kind`` defaults to its ``object``); returns it."""
        self.objects[kind or obj["object"], obj["id"]] = obj
        return obj

    def start(self) -> StripeCopies:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
