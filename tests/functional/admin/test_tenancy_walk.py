"""Tenancy walk (ARCHITECTURE §3): every admin route, called by a second merchant, against
the first merchant's data.

Merchant A gets one object of every type the admin manages, each named with a marker
("ALPHASECRET-…", "…@alphasecret.test", "alphasecret-…"): a landing page with sections of
several types, a grid product, an old address, a preview token and a theme; a product with
variants, images and a category; a promotion with generated codes and a usage from a real
order; a shipping zone and method; a tax rate; a cart with lines, a visit and checkout
fields; an order and its customer; a lead with a note, an activity, a field event and an
abandonment analysis; a saved item; the exit offer; a staged product CSV upload (made
through A's own upload route). Merchant B gets the same set of its own ("BRAVOSECRET") and
a signed-in client.

The cases come from ``app.url_map``: every rule whose endpoint starts with "admin.", every
method it allows. A new screen is walked without editing this file; a URL argument this
file cannot fill fails its case and names the argument (add it to the merchant's ``ids``).

As B, for every rule and method (POSTs carry a plausible form and B's CSRF token):
  * a rule with object ids in its URL, filled with A's ids (plain and htmx) answers 404;
    nested URLs are also tried with one of A's ids among B's own, at each position: 404;
  * a rule without ids (home, lists, searches, exports, forms) is tried plain, over htmx
    and (GET) with A's ids in the query string; neither the answer nor the admin page it
    redirects to shows any of A's marker strings;
  * a rule whose form names other objects (a product to add to a grid, upsells, a gift,
    products and categories of a promotion, leads in bulk) is also posted to B's own object
    with A's ids in the form;
and after every case A's rows (every table with ``company_id`` and the rows that hang from
them) are unchanged, and no row links two merchants.

An anonymous client is redirected to the login page by every admin rule but the login.

A real cross-tenant leak found here is listed in KNOWN_LEAKS (its cases are strict xfails)
rather than fixed in the app, so the suite stays green and the bug stays visible.
"""
from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlencode, urlsplit

import pytest
from factories import (
    ROOT,
)
from merchants import PASSWORD, build_merchant, shopify_csv
from sqlalchemy import select, text

HX = {"HX-Request": "true"}
ALPHA, BRAVO = "ALPHASECRET", "BRAVOSECRET"
# What B types into searches: A's marker stem. Every marker is longer than the stem, so an
# echoed search box never counts as a leak, while a search that reached A's rows would.
SEARCH = ALPHA


# ----------------------------------------------------------------------------- known leaks

# "<case id>": "route, method, what leaks". Each listed case is a strict xfail: it must keep
# failing until the app is fixed, then this entry must go.
KNOWN_LEAKS: dict[str, str] = {}


# ----------------------------------------------------------------------------- the rules


@cache
def admin_rules() -> tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]:
    """(endpoint, rule, URL arguments, methods) of every admin rule, read from the url_map of
    an app built in a child process: the cases must exist before any fixture runs, and a
    second ``create_app`` in this process would fail (importing ``storefront.htmx`` replaces
    the ``htmx`` extension that ``storefront/__init__.py`` imported under the same name)."""
    script = (
        "import json\n"
        "from storefront import create_app\n"
        "app = create_app({'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite://'})\n"
        "rules = []\n"
        "for rule in app.url_map.iter_rules():\n"
        "    if rule.endpoint.startswith('admin.'):\n"
        "        rules.append([rule.endpoint, rule.rule, sorted(rule.arguments), sorted(rule.methods)])\n"
        "print('RULES=' + json.dumps(rules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    line = next((out for out in done.stdout.splitlines() if out.startswith("RULES=")), None)
    assert done.returncode == 0 and line, f"could not read the admin rules: {done.stderr[-2000:]}"
    return normalise(json.loads(line.removeprefix("RULES=")))


def normalise(raw) -> tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]:
    found = []
    for endpoint, rule, arguments, methods in raw:
        kept = tuple(m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m in methods)
        found.append((endpoint, rule, tuple(sorted(arguments)), kept))
    return tuple(sorted(found))


def rules_of(app) -> tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]:
    """The same, from an app of this process."""
    return normalise([rule.endpoint, rule.rule, sorted(rule.arguments), sorted(rule.methods)]
                     for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin."))


@dataclass(frozen=True)
class Case:
    endpoint: str
    rule: str
    args: tuple[str, ...]
    method: str
    variant: str  # a-ids, a-ids-htmx, mixed-<arg>, own-url, plain, htmx, query

    @property
    def id(self) -> str:
        return f"{self.endpoint}[{self.method}]{self.rule}:{self.variant}"


def walk_cases() -> list:
    cases = []
    for endpoint, rule, args, methods in admin_rules():
        for method in methods:
            if args:
                variants = ["a-ids", "a-ids-htmx"]
                if len(args) > 1:
                    variants += [f"mixed-{arg}" for arg in args]
                if method != "GET" and names_other_objects(endpoint):
                    variants.append("own-url")
            else:
                variants = ["plain", "htmx"] + (["query"] if method == "GET" else [])
            for variant in variants:
                case = Case(endpoint, rule, args, method, variant)
                marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_LEAKS[case.id])]
                         if case.id in KNOWN_LEAKS else [])
                cases.append(pytest.param(case, id=case.id, marks=marks))
    return cases


def anonymous_cases() -> list:
    return [pytest.param(endpoint, rule, args, method, htmx,
                         id=f"{endpoint}[{method}]{rule}{':htmx' if htmx else ''}")
            for endpoint, rule, args, methods in admin_rules() if endpoint != "admin.login"
            for method in methods for htmx in (False, True)]


# ----------------------------------------------------------------------------- form bodies


@dataclass(frozen=True)
class A:
    """In a form body or query: merchant A's id of this kind (``ids`` key)."""

    name: str


def bravo_csv() -> tuple[io.BytesIO, str]:
    return io.BytesIO(shopify_csv("BRAVONEW").encode()), "bravo-new.csv"


# A plausible form per endpoint, as B would post it to its own object. Values are B's own
# words (never a marker of A's); A(...) puts A's id where the form names another object.
BODIES: dict[str, dict] = {
    "admin.login": {"email": f"owner@{BRAVO.lower()}.test", "password": PASSWORD},
    "admin.logout": {},
    "admin.offers": {"enabled": "1", "percent": "15", "headline": "Bravo wants you back", "valid_hours": "24"},
    "admin.pages_new": {"title": "Bravo new page"},
    "admin.pages_update": {"title": "Bravo took this page", "slug": "bravo-took-this-page",
                           "meta_title": "Bravo", "meta_description": "Bravo"},
    "admin.pages_duplicate": {},
    "admin.pages_status": {"status": "archived"},
    "admin.pages_preview_reset": {},
    "admin.pages_section_add": {"type": "hero"},
    "admin.pages_section_save": {"heading": "Bravo heading", "subheading": "Bravo", "columns": "2"},
    "admin.pages_section_delete": {},
    "admin.pages_section_move": {"direction": "down"},
    "admin.pages_product_add": {"product_id": A("product_id"), "q": ""},
    "admin.pages_product_delete": {},
    "admin.pages_product_move": {"direction": "down"},
    "admin.page_theme_save": {"preset": "dark", "base_preset": "dark", "color-primary": "#112233"},
    "admin.page_theme_preview": {"preset": "dark", "base_preset": "dark", "color-primary": "#112233"},
    "admin.page_theme_reset": {},
    "admin.product_new": {"title": "Bravo new product", "description": "", "status": "draft",
                          "vnew-sku": "BRAVO-NEW-SKU", "vnew-price": "12.00", "vnew-compare_at": "",
                          "vnew-stock": "0", "vnew-in_stock": "1"},
    "admin.product_edit": {"title": "Bravo took this product", "description": "", "status": "active",
                           "published": "1", "upsell_shown": "1", "upsell": A("product_id")},
    "admin.product_archive": {"confirmed": "yes"},
    "admin.product_import": {"format": "", "file": bravo_csv},
    "admin.product_import_confirm": {},
    "admin.promotion_new": {"name": "Bravo promo", "type": "FREE_GIFT", "scope": "PRODUCT", "percent": "10",
                            "code": "BRAVONEW10", "gift_variant_id": A("variant_id"),
                            "product_ids": A("product_id"), "category_ids": A("category_id"), "active": "1"},
    "admin.promotion_edit": {"name": "Bravo took this promo", "type": "PERCENTAGE_OFF", "scope": "PRODUCT",
                             "percent": "50", "code": "BRAVOTOOK50", "product_ids": A("product_id"),
                             "category_ids": A("category_id"), "gift_variant_id": A("variant_id"), "active": "1"},
    "admin.promotion_deactivate": {"confirmed": "yes"},
    "admin.promotion_codes": {"count": "3", "prefix": "BRAVO", "expires_at": "2031-01-01T00:00"},
    "admin.zone_new": {"name": "Bravo zone", "countries": "DE"},
    "admin.zone_edit": {"name": "Bravo took this zone", "countries": "DE"},
    "admin.zone_move": {"direction": "down"},
    "admin.zone_delete": {"confirmed": "yes"},
    "admin.method_new": {"name": "Bravo method", "type": "FLAT_RATE", "amount": "1.00", "active": "1"},
    "admin.method_edit": {"name": "Bravo took this method", "type": "FLAT_RATE", "amount": "0.01", "active": "1"},
    "admin.method_delete": {"confirmed": "yes"},
    "admin.tax_rate_new": {"name": "Bravo VAT", "country": "DE", "rate": "19", "priority": "1"},
    "admin.tax_rate_edit": {"name": "Bravo took this rate", "country": "DE", "rate": "0", "priority": "1"},
    "admin.tax_rate_delete": {"confirmed": "yes"},
    "admin.tax_settings": {"prices_include_tax": "1"},
    "admin.tax_upload": {"replace": "yes"},
    "admin.leads_bulk_status": {"lead_id": [A("lead_id"), A("converted_lead_id")], "status": "LOST", "query": ""},
    "admin.lead_note": {"body": "Bravo was here"},
    "admin.lead_status": {"status": "LOST"},
    "admin.lead_erase": {"confirmed": "yes"},
}
# A route added later without an entry here still gets a form that would confirm, move,
# rename or delete.
DEFAULT_BODY = {"confirmed": "yes", "direction": "down", "name": "Bravo", "title": "Bravo", "body": "Bravo",
                "status": "archived"}
# The query string of a GET without ids: A's ids in every filter that names an object, and
# A's marker stem in the searches.
QUERY = {"q": SEARCH, "page_id": A("page_id"), "landing_page": A("page_id"), "category": A("category_id"),
         "product_id": A("product_id"), "lead_id": A("lead_id"), "cart_id": A("cart_id"),
         "promotion_id": A("promotion_id"), "zone_id": A("zone_id")}


def body_for(endpoint: str) -> dict:
    return BODIES.get(endpoint, DEFAULT_BODY)


def names_other_objects(endpoint: str) -> bool:
    return any(isinstance(v, A) or (isinstance(v, list) and any(isinstance(x, A) for x in v))
               for v in body_for(endpoint).values())


# ----------------------------------------------------------------------------- the merchants


# ----------------------------------------------------------------------------- rows by owner


def read_all(db) -> dict[str, list[dict]]:
    """Every row of every table, as committed (the session's own transaction is ended first)."""
    db.session.rollback()
    return {table.name: [dict(row) for row in db.session.execute(select(table)).mappings()]
            for table in db.metadata.sorted_tables}


def owners(db, data) -> dict[str, list[tuple[dict, frozenset]]]:
    """Each row with the merchants it belongs to: its ``company_id``, and the merchants of
    every row it references (so sections, grid items, images, lines... count too)."""
    tables = db.metadata.sorted_tables
    referenced: dict[str, set[str]] = {table.name: set() for table in tables}
    for table in tables:
        for fk in table.foreign_keys:
            referenced[fk.column.table.name].add(fk.column.name)
    owner_of: dict[tuple[str, str, object], frozenset] = {}
    result: dict[str, list[tuple[dict, frozenset]]] = {}
    for _pass in range(2):  # the second pass resolves references to rows read later
        for table in tables:
            rows = []
            for row in data[table.name]:
                found = set()
                if table.name == "companies":
                    found.add(row["id"])
                if "company_id" in table.c and row["company_id"] is not None:
                    found.add(row["company_id"])
                for fk in table.foreign_keys:
                    value = row[fk.parent.name]
                    if value is not None and fk.column.table.name != "companies":
                        found |= owner_of.get((fk.column.table.name, fk.column.name, value), frozenset())
                frozen = frozenset(found)
                rows.append((row, frozen))
                for name in referenced[table.name]:
                    owner_of[(table.name, name, row[name])] = frozen
            result[table.name] = rows
    return result


@dataclass
class State:
    """What the walk compares before and after each case."""

    a_rows: dict  # (table, primary key...) -> row, for every row that belongs to A
    mixed: set  # keys of rows that belong to more than one merchant
    copied: set  # (key, marker) of B's rows that hold one of A's marker strings


def snapshot(db, a_id: int, b_id: int, markers: list[str]) -> State:
    data = read_all(db)
    owned = owners(db, data)
    state = State({}, set(), set())
    lowered = [m.lower() for m in markers]
    for table in db.metadata.sorted_tables:
        key_columns = [c.name for c in table.primary_key]
        for row, found in owned[table.name]:
            key = (table.name, *(row[c] for c in key_columns))
            if a_id in found:
                state.a_rows[key] = row
            if len(found) > 1:
                state.mixed.add(key)
            elif b_id in found:
                text_of_row = repr(sorted(row.items(), key=lambda item: item[0])).lower()
                state.copied |= {(key, m) for m in lowered if m in text_of_row}
    return state


def differences(before: dict, after: dict) -> list[str]:
    problems = []
    for key in sorted(set(before) | set(after), key=repr):
        if key not in after:
            problems.append(f"deleted {key}: {before[key]}")
        elif key not in before:
            problems.append(f"added {key}: {after[key]}")
        elif before[key] != after[key]:
            changed = {c: (before[key][c], after[key][c]) for c in before[key] if before[key][c] != after[key][c]}
            problems.append(f"changed {key}: {changed}")
    return problems


# ----------------------------------------------------------------------------- the world


def clear_all(db) -> None:
    """Empty tables and caches, as the ``app`` fixture leaves them after a test."""
    from storefront.extensions import limiter
    from storefront.landing.services import clear_section_cache
    from storefront.pricing.context import forget_pricing_config

    db.session.rollback()
    db.session.remove()
    names = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    else:
        for name in names:
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()
    limiter.reset()
    clear_section_cache()
    forget_pricing_config()


class World:
    """Merchants A and B with their objects. Built once for the module; built again (from
    empty tables) only after a case that changed A's rows or copied them to B, so one leak
    does not turn the cases after it into vacuous 404s."""

    def __init__(self, app, db, tmp_path_factory, patch):
        self.app, self.db, self.tmp_path_factory, self.patch = app, db, tmp_path_factory, patch
        self.dirty = False
        self.last: State | None = None  # the state after the last case: the next one's "before"
        self.build()

    def build(self) -> None:
        from storefront.extensions import limiter

        self.patch.setattr(self.app, "instance_path", str(self.tmp_path_factory.mktemp("tenancy") / "instance"))
        limiter.reset()
        self.a = build_merchant(self.app, self.db, ALPHA)
        self.b = build_merchant(self.app, self.db, BRAVO)
        self.markers = self.a.markers
        self.last = None
        self.baseline = state = self.state()
        assert not state.mixed, f"the fixture itself links two merchants: {sorted(state.mixed, key=repr)}"
        assert not state.copied, f"merchant B's fixture rows hold A's markers: {sorted(state.copied, key=repr)}"
        self.dirty = False

    def ready(self) -> None:
        """Before a case: rebuilt if the last case damaged the data, B signed in (the logout
        case, and any route that ends sessions, signs B out)."""
        if self.dirty:
            clear_all(self.db)
            self.build()
        if self.b.client.get("/admin/").status_code != 200:
            self.b.sign_in()

    def state(self) -> State:
        return snapshot(self.db, self.a.company.id, self.b.company.id, self.markers)

    def before(self) -> State:
        return self.last if self.last is not None else self.state()

    def after(self) -> State:
        self.last = self.state()
        return self.last


@pytest.fixture(scope="module")
def world(_app, tmp_path_factory):
    """The module's merchants; the tables are emptied afterwards, as the ``app`` fixture does."""
    from storefront.extensions import db

    with pytest.MonkeyPatch.context() as patch, _app.app_context():
        assert rules_of(_app) == admin_rules(), "the app's admin rules differ from the collected ones"
        try:
            yield World(_app, db, tmp_path_factory, patch)
        finally:
            clear_all(db)


def url_for_case(world: World, case: Case, values: dict) -> str:
    adapter = world.app.url_map.bind("localhost")
    return adapter.build(case.endpoint, values, method=case.method)


def fill(value, ids: dict):
    if isinstance(value, A):
        return str(ids[value.name])
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if callable(value):
        return value()
    return value


def url_values(world: World, case: Case) -> dict:
    """A's ids for the rule's arguments; for ``mixed-<arg>``, B's ids but A's at ``arg``."""
    missing = [arg for arg in case.args if arg not in world.a.ids or arg not in world.b.ids]
    if missing:
        pytest.fail(f"{case.endpoint} ({case.rule}) has URL argument(s) {missing} that the tenancy walk "
                    "cannot fill: give merchant A (and B) an object of that type in build_merchant() and map "
                    "the argument name in Merchant.ids.")
    if case.variant == "own-url":
        return {arg: world.b.ids[arg] for arg in case.args}
    if case.variant.startswith("mixed-"):
        target = case.variant.removeprefix("mixed-")
        return {arg: (world.a.ids if arg == target else world.b.ids)[arg] for arg in case.args}
    return {arg: world.a.ids[arg] for arg in case.args}


def shown(response) -> str:
    """What a response shows: its body (entities decoded) and its headers."""
    body = html.unescape(response.get_data(as_text=True))
    return (body + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())).lower()


def leaked(world: World, response, sent: set[str]) -> list[str]:
    page = shown(response)
    return [m for m in world.markers if m.lower() in page and m not in sent]


# ----------------------------------------------------------------------------- the walk


def test_the_walk_covers_every_admin_rule(world):
    """The parametrised cases are the app's admin rules, and each kind of check was possible:
    A's own screens show its markers (so their absence for B means something)."""
    world.ready()
    walked = {c.values[0].endpoint for c in walk_cases()}
    assert walked == {endpoint for endpoint, *_ in rules_of(world.app)}
    a = world.a
    for endpoint, _rule, args, methods in admin_rules():
        if "GET" not in methods or endpoint == "admin.login":
            continue
        url = world.app.url_map.bind("localhost").build(endpoint, {x: a.ids[x] for x in args}, method="GET")
        response = a.client.get(url)
        assert response.status_code in (200, 303), f"merchant A's own {url} answered {response.status_code}"
    for path in ("/admin/products", "/admin/pages", "/admin/leads", "/admin/carts", "/admin/promotions",
                 "/admin/shipping", "/admin/shipping/tax", "/admin/offers", f"/admin/leads/{a.ids['lead_id']}"):
        assert leaked(world, a.client.get(path), set()), f"merchant A's own {path} shows none of its markers"


@pytest.mark.parametrize("case", walk_cases())
def test_second_merchant_sees_and_changes_nothing_of_the_first(world, case):
    world.ready()
    b = world.b
    values = url_values(world, case)
    url = url_for_case(world, case, values)
    htmx = case.variant.endswith("htmx")
    if case.variant == "query":
        url += "?" + urlencode({k: fill(v, world.a.ids) for k, v in QUERY.items()})
    before = world.before()

    headers = {**HX, "X-CSRFToken": b.token} if htmx else {}
    if case.method == "GET":
        response = b.client.open(url, method="GET", headers=headers)
    else:
        data = {k: fill(v, world.a.ids) for k, v in body_for(case.endpoint).items()}
        if not htmx:
            data["csrf_token"] = b.token
        response = b.client.open(url, method=case.method, data=data, headers=headers)
    sent = {str(v) for v in values.values()}  # a token B put in the address is not a leak
    problems = []
    status = response.status_code
    carries_a = bool(case.args) and case.variant != "own-url"
    if carries_a and status != 404:
        problems.append(f"answered {status}, not 404")
    elif status >= 500:
        problems.append(f"answered {status}")
    if status == 400 and case.method != "GET":
        problems.append("was refused with 400 (CSRF?): nothing was tested")
    shows = leaked(world, response, sent)
    if shows:
        problems.append(f"showed merchant A's {shows}")
    location = response.headers.get("Location", "")
    if not carries_a and 300 <= status < 400 and urlsplit(location).path.startswith("/admin"):
        followed = b.client.get(location)
        shows = leaked(world, followed, sent)
        if followed.status_code >= 500 or shows:
            problems.append(f"redirected to {location}, which answered {followed.status_code} "
                            f"and showed merchant A's {shows}")

    after = world.after()
    changed = differences(before.a_rows, after.a_rows)
    if changed:
        problems.append("changed merchant A's rows:\n    " + "\n    ".join(changed))
    linked = sorted(after.mixed - before.mixed, key=repr)
    if linked:
        problems.append(f"made rows that link both merchants: {linked}")
    copied = sorted(after.copied - before.copied, key=repr)
    if copied:
        problems.append(f"copied merchant A's data into merchant B's rows: {copied}")
    world.dirty = bool(changed or linked or copied)
    assert not problems, f"{case.method} {url} as merchant B ({case.variant}):\n  " + "\n  ".join(problems)


def test_merchant_a_is_unchanged_after_the_walk(world):
    """The whole walk against the snapshot taken when A was built (each case compared its own
    before and after; this also covers what ran between cases, such as signing B in again)."""
    if world.dirty:
        pytest.skip("the last case changed merchant A's rows, and failed for it")
    assert world.baseline.a_rows, "merchant A has no rows: nothing was compared"
    tables = {key[0] for key in world.baseline.a_rows}
    lacking = {t.name for t in world.db.metadata.sorted_tables if "company_id" in t.c} - tables
    assert not lacking, f"merchant A lacks a row in {sorted(lacking)}: give it one in build_merchant()"
    changed = differences(world.baseline.a_rows, world.state().a_rows)
    assert not changed, "merchant A's rows changed during the walk:\n  " + "\n  ".join(changed)


@pytest.mark.parametrize(("endpoint", "rule", "args", "method", "htmx"), anonymous_cases())
def test_anonymous_is_sent_to_the_login_page(world, endpoint, rule, args, method, htmx):
    world.ready()
    client = world.app.test_client()
    missing = [arg for arg in args if arg not in world.a.ids]
    if missing:
        pytest.fail(f"{endpoint} ({rule}) has URL argument(s) {missing} that the tenancy walk cannot fill: "
                    "give merchant A an object of that type in build_merchant() and map the name in "
                    "Merchant.ids.")
    url = world.app.url_map.bind("localhost").build(endpoint, {a: world.a.ids[a] for a in args}, method=method)
    before = world.before()
    if method == "GET":
        response = client.get(url, headers=HX if htmx else {})
    else:
        login_page = client.get("/admin/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
        data = {k: fill(v, world.a.ids) for k, v in body_for(endpoint).items()}
        if htmx:
            response = client.open(url, method=method, data=data, headers={**HX, "X-CSRFToken": token})
        else:
            response = client.open(url, method=method, data={**data, "csrf_token": token})
    changed = differences(before.a_rows, world.after().a_rows)
    world.dirty = bool(changed)
    assert response.status_code in (302, 303), f"{method} {url} answered {response.status_code} to nobody"
    assert urlsplit(response.headers["Location"]).path == "/admin/login", response.headers["Location"]
    sent = {str(world.a.ids[a]) for a in args}  # the login link's ?next= repeats the address
    assert not leaked(world, response, sent), f"{method} {url} showed merchant A's data to nobody"
    assert not changed, f"{method} {url} changed merchant A's rows for nobody: {changed}"
