"""Hostile input over every rule of the URL map (shopper, admin and webhooks), on PostgreSQL.

For every rule and method, a signed-in merchant (the admin rules) or a shopper with a cart
(the others) sends hostile values in each place a request can carry text: the path's
arguments, the query string, the form body (with a valid CSRF token, so the view is
reached), the cookies, and a JSON body (a signed Stripe event; a field-event batch). The
values: NUL and other C0 controls, ``²`` and other non-ASCII digits, 2**31 and 2**63,
lone surrogates (JSON only: they cannot travel as UTF-8), 100 KB strings, and strings drawn
by Hypothesis' text strategy.

Asserted: no answer is a 5xx (nor an exception), and the database never raised a
``DataError``: hostile text must be refused before any SQL runs, not turned into a 400 by
the handler that maps database errors. The figures (rules walked, requests sent, 5xx) are
printed.
"""
from __future__ import annotations

import json
import re
import time
import traceback
from collections import Counter

import pytest
from factories import ROOT, csrf_token, sign_payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from merchants import build_merchant
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

pytestmark = pytest.mark.postgres

HX = {"HX-Request": "true"}
SPECIALS = (
    "\x00", "a\x00b", "\x01\x1f", "line\r\nbreak", "²", "١٢٣", str(2**31), str(2**63), "-1", "1e309",
    "x" * 100_000, "../../etc/passwd", "\u202eevil", "😀" * 50, "",
)
INT_SPECIALS = (str(2**31), str(2**63), "0", "00000000001", "99999999999")
JSON_SPECIALS = ("\\u0000", "a\\u0000b", "\\ud800", "\\udfff x", "\\u0001")
COOKIES = ("sf_cart", "sf_visit", "sf_vid", "sf_saved", "session")
# Names the views read from forms and query strings, found in the code and the templates:
# every one of them receives the hostile value at once.
_NAME_PATTERNS = (r'request\.(?:form|args)\.get(?:list)?\("([\w-]+)"', r'\bname="([\w-]+)"',
                  r'(?:form|args)\.get\("([\w-]+)"')


def field_names() -> list[str]:
    names: set[str] = set()
    for folder, suffix in (("storefront", "*.py"), ("templates", "*.html")):
        for path in (ROOT / folder).rglob(suffix):
            text = path.read_text(encoding="utf-8")
            for pattern in _NAME_PATTERNS:
                names.update(re.findall(pattern, text))
    names.discard("csrf_token")
    return sorted(names)


class Walk:
    """The merchant, its shopper, the counters and the one place requests are sent from."""

    def __init__(self, app, db):
        self.app, self.db = app, db
        self.merchant = build_merchant(app, db, "FUZZ")
        self.shopper = app.test_client()
        self.slug = slug = self._slug()
        self.shopper.get(f"/lp/{slug}?utm_source=walk")
        self.shop_token = csrf_token(self.shopper, f"/lp/{slug}")
        variant = self.merchant.ids["variant_id"]
        added = self.shopper.post("/cart/add", data={"variant_id": variant, "quantity": 1},
                                  headers={"X-CSRFToken": self.shop_token, **HX})
        assert added.status_code == 200
        # The shopper is also the merchant's customer, signed in to the portal (/account),
        # so the portal's actions are reached with the merchant's own subscription.
        with self.shopper.session_transaction() as session:
            session["portal"] = {"c": self.merchant.company.id, "u": self.merchant.ids["customer_id"],
                                 "t": int(time.time())}
        self.names = field_names()
        self.sent = 0
        self.rules: set[str] = set()
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.db_errors: list[str] = []
        event.listen(db.engine, "handle_error", self._db_error)

    def _slug(self) -> str:
        from storefront.landing.models import LandingPage

        return self.db.session.get(LandingPage, self.merchant.ids["page_id"]).slug

    def _db_error(self, context) -> None:
        from sqlalchemy.exc import DataError

        original = context.sqlalchemy_exception
        if isinstance(original, DataError) or (isinstance(original, DBAPIError) and
                                               type(context.original_exception).__name__ in ("DataError",)):
            self.db_errors.append(f"{type(context.original_exception).__name__}: "
                                  f"{str(context.original_exception).splitlines()[0][:160]}")

    def close(self) -> None:
        event.remove(self.db.engine, "handle_error", self._db_error)

    def client_for(self, endpoint: str):
        if endpoint.startswith("admin."):
            client = self.merchant.client
            if client.get("/admin/").status_code != 200:
                self.merchant.sign_in()
            return client, self.merchant.token
        return self.shopper, self.shop_token

    def send(self, label: str, client, method: str, url: str, **kwargs) -> None:
        self.sent += 1
        try:
            response = client.open(url, method=method, **kwargs)
            status = response.status_code
            body = response.get_data(as_text=True)[:300] if status >= 500 else ""
        except Exception as error:  # PROPAGATE_EXCEPTIONS: a view's crash arrives here
            status, body = 599, "".join(traceback.format_exception_only(error)).strip()[:300]
            self.db.session.rollback()
        self.statuses[status // 100 * 100] += 1
        if status >= 500:
            self.failures.append(f"{status} {label} {method} {url[:120]!r}: {body}")

    def report(self, what: str) -> None:
        print(f"\n{what}: {len(self.rules)} rules walked, {self.sent} requests sent, "
              f"answers by class {dict(sorted(self.statuses.items()))}, 5xx = {self.statuses[500]}, "
              f"DataError raised = {len(self.db_errors)}")


@pytest.fixture()
def walk(app, db, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    app.config["RATELIMIT_EVENTS"] = "100000/minute"
    app.config["RATELIMIT_LOGIN"] = "100000/minute"
    app.config["RATELIMIT_PORTAL"] = "100000/minute"
    walker = Walk(app, db)
    yield walker
    walker.close()


def url_cases(app) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint == "admin.logout":
            continue
        methods = tuple(m for m in ("GET", "POST") if m in rule.methods)
        found.append((rule.endpoint, rule.rule, tuple(sorted(rule.arguments)), methods))
    return sorted(found)


def string_args(app, endpoint: str) -> set[str]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    converters = rule._converters  # the names of the arguments that take any text
    return {name for name, conv in converters.items() if type(conv).__name__ in ("UnicodeConverter", "PathConverter")}


def valid_values(walk: Walk, endpoint: str, args: tuple[str, ...]) -> dict:
    ids = walk.merchant.ids
    values = {}
    for arg in args:
        if arg == "slug":
            values[arg] = walk.slug
        elif arg == "name":
            values[arg] = "email"
        elif arg == "token":
            values[arg] = {"landing.preview": ids["preview_token"], "checkout.order": ids["order_token"]}.get(
                endpoint, ids["upload_token"])
        elif arg in ids:
            values[arg] = ids[arg]
        else:
            values[arg] = 1
    return values


def build(app, endpoint: str, values: dict, method: str) -> str:
    return app.url_map.bind("localhost").build(endpoint, values, method=method)


def walk_rule(walk: Walk, endpoint: str, args: tuple[str, ...], method: str, value: str) -> None:
    app = walk.app
    client, token = walk.client_for(endpoint)
    walk.rules.add(endpoint)
    headers = {"X-CSRFToken": token}
    base = valid_values(walk, endpoint, args)
    url = build(app, endpoint, base, method)
    texts = string_args(app, endpoint)
    # The path: each text argument hostile, each number out of range.
    for arg in args:
        if arg in texts:
            walk.send("path", client, method, build(app, endpoint, {**base, arg: value or "x"}, method),
                      headers=headers)
    # The query string and the form: every known name carries the value at once.
    # A 100 KB value goes in a few names only: one in every name would be a 20 MB request.
    names = walk.names if len(value) <= 1000 else walk.names[::40]
    query = {name: value for name in names}
    walk.send("query", client, method, url, query_string=query, headers=headers)
    if method == "POST":
        walk.send("form", client, method, url, data={**query, "csrf_token": token},
                  headers={**headers, **HX} if len(value) % 2 else headers)


def walk_numbers(walk: Walk, endpoint: str, rule: str, args: tuple[str, ...], method: str) -> None:
    client, token = walk.client_for(endpoint)
    numeric = [a for a in args if a not in string_args(walk.app, endpoint)]
    for arg in numeric:
        for raw in INT_SPECIALS:
            url = re.sub(r"<int:" + arg + r">", raw, rule)
            url = build_rest(walk, endpoint, url, args, arg)
            walk.send("path-int", client, method, url, headers={"X-CSRFToken": token})


def build_rest(walk: Walk, endpoint: str, url: str, args: tuple[str, ...], skip: str) -> str:
    values = valid_values(walk, endpoint, args)
    for arg in args:
        if arg != skip:
            url = re.sub(r"<(?:\w+:)?" + arg + r">", str(values[arg]), url)
    return url


def walk_cookies(walk: Walk, value: str) -> None:
    client = walk.app.test_client()
    for name in COOKIES:
        client.set_cookie(name, value[:4000])
    for path in (f"/lp/{walk.slug}", "/cart", "/cart/drawer", "/checkout", "/wishlist", "/cart/badge"):
        walk.send("cookie", client, "GET", path)


def walk_json(walk: Walk, raw_value: str) -> None:
    """Signed Stripe events and field-event batches whose strings hold ``raw_value`` (JSON
    source text, so escapes such as \\u0000 and lone surrogates arrive as such)."""
    secret = walk.app.config["STRIPE_WEBHOOK_SECRET"]
    client = walk.app.test_client()
    bodies = [
        '{"id": "evt_%s", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_%s", '
        '"amount": 100, "currency": "usd", "metadata": {"cart_id": "%s"}}}}',
        '{"id": "evt_x", "type": "%s", "data": {"object": {"id": "cs_%s", "metadata": {"cart_id": "%s"}}}}',
        '{"id": "evt_y", "type": "checkout.session.completed", "data": {"object": {"id": "%s", "mode": "payment", '
        '"payment_status": "%s", "amount_total": "%s", "metadata": {"cart_id": 1}}}}',
    ]
    for template in bodies:
        body = (template % (raw_value, raw_value, raw_value)).encode()
        walk.send("json-webhook", client, "POST", "/webhooks/stripe", data=body,
                  headers={"Stripe-Signature": sign_payload(body, secret), "Content-Type": "application/json"})
    deep = ("[" * 5000 + "]" * 5000).encode()
    walk.send("json-deep", client, "POST", "/webhooks/stripe", data=deep,
              headers={"Stripe-Signature": sign_payload(deep, secret), "Content-Type": "application/json"})
    page = walk.shopper.get("/checkout").get_data(as_text=True)
    ref = re.search(r'data-ref="([0-9a-f]+)"', page)
    now = int(time.time() * 1000)
    event_text = json.dumps({"type": "VALIDATION_ERROR", "field": "email", "error": "RAW", "at": now})
    batch = json.dumps({"csrf": walk.shop_token, "ref": ref.group(1) if ref else "", "sent_at": now,
                        "events": ["EVENT"]}).replace('"EVENT"', event_text).replace("RAW", raw_value)
    walk.send("json-events", walk.shopper, "POST", "/checkout/events", data=batch.encode(),
              headers={"Content-Type": "application/json"})


def assert_clean(walk: Walk) -> None:
    assert not walk.failures, f"{len(walk.failures)} answers were 5xx:\n" + "\n".join(walk.failures[:40])
    assert not walk.db_errors, "the database raised DataError:\n" + "\n".join(sorted(set(walk.db_errors))[:40])


def test_every_rule_refuses_hostile_values_without_a_5xx(app, walk):
    cases = url_cases(app)
    for endpoint, rule, args, methods in cases:
        for method in methods:
            for value in SPECIALS:
                walk_rule(walk, endpoint, args, method, value)
            walk_numbers(walk, endpoint, rule, args, method)
    for value in SPECIALS:
        walk_cookies(walk, value)
    for raw in JSON_SPECIALS:
        walk_json(walk, raw)

    walk.report("specials")
    assert {endpoint for endpoint, *_ in cases} <= walk.rules
    assert_clean(walk)


@st.composite
def drawn(draw, cases):
    endpoint, _rule, args, methods = draw(st.sampled_from(cases))
    return endpoint, args, draw(st.sampled_from(methods)), draw(st.text(max_size=60))


def test_text_drawn_by_hypothesis_on_random_rules(app, walk):
    cases = url_cases(app)

    @settings(max_examples=400, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=drawn(cases))
    def one(case):
        endpoint, args, method, value = case
        walk_rule(walk, endpoint, args, method, value)

    one()
    walk.report("hypothesis")
    assert_clean(walk)


def test_the_field_names_are_found(app):
    names = field_names()
    assert {"email", "variant_id", "quantity", "q", "page", "status", "description"} <= set(names)
