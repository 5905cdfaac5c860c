"""XSS: hostile input in every text field that reaches a public landing page (page title,
meta title and description, every section type's fields, product titles) is rendered
escaped or sanitised. Checked on the rendered HTML with a real HTML parser: no script but our
own files, no ``on...=`` handler, no ``javascript:`` (or data:) URL, no injected element."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from factories import make_page, make_product, make_user, sign_in

from storefront.landing.models import LandingPage, Section

PAYLOAD = ('"><script>alert(1)</script><img src=x onerror=alert(1)>'
           '<a href="javascript:alert(1)">x</a><svg onload=alert(1)>\'><style>body{display:none}</style>')
HTML_PAYLOADS = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">a</a>',
    '<a href="JaVaScRiPt:alert(1)">a</a>',
    '<a href=" &#14;javascript:alert(1)">a</a>',
    '<a href="&#106;avascript:alert(1)">a</a>',
    '<a href="jav&#x09;ascript:alert(1)">a</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">a</a>',
    '<svg><script>alert(1)</script></svg>',
    '<svg onload=alert(1)><a xlink:href="javascript:alert(1)">a</a></svg>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button></form>',
    '<details open ontoggle=alert(1)><summary>s</summary></details>',
    '<body onload=alert(1)><p>x</p>',
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<style>body{display:none}</style><link rel=stylesheet href="javascript:alert(1)">',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
    '<<script>script>alert(1)<</script>/script>',
    '<img src="x" alt="&quot; onerror=&quot;alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)"><base href="javascript:/">',
    '<!--<img src=x onerror=alert(1)>--><p title="--><img src=x onerror=alert(1)>">t</p>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<a href="/ok" target="_blank" onmouseover="alert(1)">fine link</a>',
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "srcset", "background"}
OUR_SCRIPT = re.compile(r'<script src="/static/js/[\w.-]+\.js(\?[^"]*)?"( defer)?></script>')


class Scan(HTMLParser):
    """Collects every problem an injected payload could cause in the parsed document."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.inside: str | None = None
        self.texts: dict[str, list[str]] = {"title": [], "style": [], "script": []}

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.tags.append((tag, values))
        if tag in ("iframe", "object", "embed", "base", "frame", "applet", "math"):
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and "http-equiv" in values:
            self.problems.append("<meta http-equiv>")
        if tag == "script" and not (values.get("src") or "").startswith("/static/js/"):
            self.problems.append(f"script {values}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"handler {name}= on <{tag}>")
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            squashed = re.sub(r"[\s\x00-\x1f]+", "", (value or "")).lower()
            if name in URL_ATTRIBUTES and (squashed.startswith(("javascript:", "vbscript:", "data:text"))):
                self.problems.append(f"{name}={value!r} on <{tag}>")
        if tag in self.texts:
            self.inside = tag

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == self.inside:
            self.inside = None

    def handle_data(self, data):
        if self.inside:
            self.texts[self.inside].append(data)


def scan(html: str) -> Scan:
    parsed = Scan()
    parsed.feed(html)
    parsed.close()
    # The raw text: every "<script" is one of our own files, loaded by URL.
    scripts = re.findall(r"<script\b[^>]*>(?:.*?)</script>", html, flags=re.S | re.I)
    for script in scripts:
        if not OUR_SCRIPT.fullmatch(script):
            parsed.problems.append(f"raw script {script[:80]}")
    if len(re.findall(r"<script", html, flags=re.I)) != len(scripts):
        parsed.problems.append("unclosed <script")
    if "".join(parsed.texts["script"]).strip():
        parsed.problems.append("inline script text")
    if "display:none" in "".join(parsed.texts["style"]):
        parsed.problems.append("injected <style>")
    return parsed


def assert_clean(html: str) -> Scan:
    parsed = scan(html)
    assert parsed.problems == [], parsed.problems
    return parsed


class Admin:
    def __init__(self, client):
        self.client = client
        html = client.get("/admin/").get_data(as_text=True)
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def post(self, path, data=None):
        response = self.client.post(path, data={**(data or {}), "csrf_token": self.token})
        assert response.status_code == 303, (path, response.status_code, response.get_data(as_text=True)[:500])
        return response


@pytest.fixture()
def admin(app, company):
    make_user(company)
    client = app.test_client()
    sign_in(client)
    return Admin(client)


def add(admin, db, page_id, kind, form) -> Section:
    admin.post(f"/admin/pages/{page_id}/sections", {"type": kind})
    db.session.expire_all()
    section = db.session.execute(
        db.select(Section).filter_by(landing_page_id=page_id).order_by(Section.position.desc())
    ).scalars().first()
    admin.post(f"/admin/pages/{page_id}/sections/{section.id}", form)
    return section


def test_hostile_text_in_every_field_is_escaped_or_sanitised(app, admin, db, company):
    hostile_product = make_product(company, "Tee " + PAYLOAD, handle="hostile-tee")
    admin.post("/admin/pages/new", {"title": PAYLOAD[:190], "slug": "hostile"})
    page = db.session.execute(db.select(LandingPage)).scalar_one()
    admin.post(f"/admin/pages/{page.id}", {"title": PAYLOAD[:190], "slug": "hostile",
                                          "meta_title": PAYLOAD[:190], "meta_description": PAYLOAD})
    add(admin, db, page.id, "hero", {"heading": PAYLOAD[:190], "subheading": PAYLOAD, "cta_label": PAYLOAD[:60]})
    grid = add(admin, db, page.id, "product_grid", {"heading": PAYLOAD[:120], "columns": "3"})
    admin.post(f"/admin/pages/{page.id}/sections/{grid.id}/products", {"product_id": hostile_product.id})
    add(admin, db, page.id, "rich_text", {"html": PAYLOAD})
    add(admin, db, page.id, "testimonials", {"heading": PAYLOAD[:120], "quote": [PAYLOAD], "author": [PAYLOAD[:120]]})
    add(admin, db, page.id, "faq", {"heading": PAYLOAD[:120], "question": [PAYLOAD], "answer": [PAYLOAD]})
    deadline = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    add(admin, db, page.id, "countdown", {"heading": PAYLOAD[:120], "deadline": deadline})
    add(admin, db, page.id, "trust_badges", {"badges": ["money_back", "secure_payment", "free_returns"]})
    add(admin, db, page.id, "free_shipping_bar", {"threshold": "50", "message": PAYLOAD[:190]})
    add(admin, db, page.id, "custom_html", {"html": PAYLOAD})
    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})

    public = app.test_client()
    response = public.get("/lp/hostile")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    parsed = assert_clean(html)

    # The text survived, escaped: it is shown, not run.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 10
    assert "".join(parsed.texts["title"]).strip() == PAYLOAD[:190]
    descriptions = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("name") == "description"]
    assert descriptions == [PAYLOAD]
    assert '<time datetime="' in html and "<span>Secure payment</span>" in html
    # And the admin screens that show the same values are clean too.
    edit = admin.client.get(f"/admin/pages/{page.id}").get_data(as_text=True)
    assert_clean(edit)
    assert_clean(admin.client.get(f"/admin/pages/{page.id}/sections/{grid.id}").get_data(as_text=True))
    assert_clean(admin.client.get("/admin/pages").get_data(as_text=True))
    admin.client.get(f"/admin/pages/{page.id}/preview")
    db.session.expire_all()
    token = db.session.get(LandingPage, page.id).preview_token
    assert_clean(public.get(f"/lp/preview/{token}").get_data(as_text=True))


@pytest.mark.parametrize("markup", HTML_PAYLOADS)
@pytest.mark.parametrize("kind", ["rich_text", "custom_html"])
def test_hostile_html_is_sanitised_on_save(app, admin, db, company, kind, markup):
    page = make_page(company, [])
    section = add(admin, db, page.id, kind, {"html": markup + "<p>kept</p>"})

    db.session.expire_all()
    stored = db.session.get(Section, section.id).settings["html"]
    assert_clean(stored)
    assert "<p>kept</p>" in stored
    assert_clean(app.test_client().get("/lp/summer-sale").get_data(as_text=True))


@pytest.mark.parametrize("markup", HTML_PAYLOADS)
def test_hostile_html_stored_without_the_admin_is_sanitised_at_render(app, db, company, markup):
    page = make_page(company, [])
    page.sections.append(Section(type="custom_html", position=3, settings={"html": markup + "<p>custom</p>"}))
    page.sections.append(Section(type="rich_text", position=4, settings={"html": markup + "<p>rich</p>"}))
    db.session.commit()

    html = app.test_client().get("/lp/summer-sale").get_data(as_text=True)

    assert_clean(html)
    assert "<p>custom</p>" in html and "<p>rich</p>" in html


def test_hostile_settings_stored_without_the_admin_are_escaped(app, db, company):
    product = make_product(company, PAYLOAD, handle="bad")
    page = make_page(company, [product])
    page.title = PAYLOAD
    page.meta_title = PAYLOAD
    page.meta_description = PAYLOAD
    page.sections[0].settings = {"heading": PAYLOAD, "subheading": PAYLOAD, "cta_label": PAYLOAD}
    page.sections[1].settings = {"heading": PAYLOAD, "columns": PAYLOAD}
    deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    page.sections.extend([
        Section(type="testimonials", position=3, settings={"heading": PAYLOAD, "items": [{"quote": PAYLOAD, "author": PAYLOAD}]}),
        Section(type="faq", position=4, settings={"heading": PAYLOAD, "items": [{"question": PAYLOAD, "answer": PAYLOAD}]}),
        Section(type="countdown", position=5, settings={"heading": PAYLOAD, "deadline": deadline}),
        Section(type="countdown", position=6, settings={"heading": "bad date", "deadline": PAYLOAD}),
        Section(type="trust_badges", position=7, settings={"badges": [PAYLOAD, "money_back"]}),
        Section(type="free_shipping_bar", position=8, settings={"threshold_cents": 5000, "currency": "USD", "message": PAYLOAD}),
    ])
    db.session.commit()

    response = app.test_client().get("/lp/summer-sale")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_clean(html)
    assert "bad date" not in html  # a countdown with an unreadable deadline is not shown
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 10
