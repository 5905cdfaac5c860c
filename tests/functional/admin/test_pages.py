"""The landing-page builder at /admin/pages: pages (list, create, edit, duplicate, status,
preview), sections of every type (add, settings with validation, reorder, remove), the
products of a grid (search, add, remove, reorder), slug rules and redirects, and tenancy:
another merchant's ids answer 404 on every route. Both the htmx and the no-JS paths."""
from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import make_page, make_product, make_user, sign_in

from storefront.accounts.models import Company
from storefront.landing.models import LandingPage, LandingPageProduct, Section, SlugRedirect
from storefront.landing.sections import TYPES
from storefront.visits.models import Visit

HX = {"HX-Request": "true"}


class Admin:
    """A signed-in admin client that adds the CSRF token to every POST."""

    def __init__(self, client):
        self.client = client
        html = client.get("/admin/").get_data(as_text=True)
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def get(self, path, htmx=False, **kwargs):
        return self.client.get(path, headers=HX if htmx else None, **kwargs)

    def post(self, path, data=None, htmx=False):
        payload = dict(data or {})
        payload["csrf_token"] = self.token
        return self.client.post(path, data=payload, headers=HX if htmx else None)


@pytest.fixture()
def admin(client, company):
    make_user(company)
    sign_in(client)
    return Admin(client)


@pytest.fixture()
def page(db, company):
    return make_page(company, [make_product(company, "Classic Tee"), make_product(company, "Hoodie")],
                     slug="summer-sale", status="draft")


def sections_of(db, page_id):
    db.session.expire_all()
    return db.session.execute(
        db.select(Section).filter_by(landing_page_id=page_id).order_by(Section.position)
    ).scalars().all()


def add_section(admin, db, page, kind) -> Section:
    response = admin.post(f"/admin/pages/{page.id}/sections", {"type": kind})
    assert response.status_code == 303, response.get_data(as_text=True)
    return sections_of(db, page.id)[-1]


def reload(db, obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def text(response) -> str:
    return response.get_data(as_text=True)


def toast_of(response) -> str:
    """The toast message sent in the HX-Trigger header."""
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


# ----------------------------------------------------------------------------- pages


def test_pages_need_sign_in(client, page):
    assert client.get("/admin/pages").status_code == 302
    assert client.get(f"/admin/pages/{page.id}").status_code == 302
    assert client.post(f"/admin/pages/{page.id}/status", data={"status": "published"}).status_code in (302, 400)


def test_list_shows_status_slug_and_update_time_and_filters(admin, db, company, page):
    make_page(company, [], slug="winter-sale", status="published")

    html = text(admin.get("/admin/pages"))

    assert 'href="/admin/pages"' in html and ">Pages<" in html  # in the admin navigation
    assert "summer-sale" in html and "winter-sale" in html
    assert "Draft" in html and "Published" in html
    assert "<time datetime=" in html
    published_only = text(admin.get("/admin/pages?status=published"))
    assert "winter-sale" in published_only and "summer-sale" not in published_only
    fragment = admin.get("/admin/pages", htmx=True)
    assert "<html" not in text(fragment) and "winter-sale" in text(fragment)
    assert "HX-Request" in fragment.headers["Vary"]


def test_list_is_paged_with_the_admin_pager(admin, db, company):
    base = datetime(2025, 1, 1, tzinfo=UTC)
    rival = Company(name="Rival", slug="rival-pages", currency="USD")
    db.session.add(rival)
    db.session.flush()
    for n in range(27):  # newest first: p26 .. p0
        db.session.add(LandingPage(company_id=company.id, slug=f"p{n}", title=f"Page {n}", status="draft",
                                   updated_at=base + timedelta(hours=n)))
    db.session.add(LandingPage(company_id=rival.id, slug="theirs", title="Theirs", status="draft",
                               updated_at=base + timedelta(days=9)))
    db.session.add(LandingPage(company_id=company.id, slug="live", title="Live", status="published", updated_at=base))
    db.session.commit()

    first = text(admin.get("/admin/pages"))
    assert "/lp/p26<" in first and "/lp/p2<" in first and "/lp/p1<" not in first  # 25 a page
    assert "Theirs" not in first and "Pages 1 to 25 of 28." in first
    assert 'href="/admin/pages?page=2"' in first and 'hx-target="#page-list"' in first
    second = admin.get("/admin/pages?page=2", htmx=True)
    html = text(second)
    assert html.lstrip().startswith('<div id="page-list">') and "<html" not in html
    assert "/lp/p1<" in html and "/lp/p0<" in html and "/lp/live<" in html and "/lp/p26<" not in html
    # The filter is kept by the pager; one page needs no pager.
    drafts = text(admin.get("/admin/pages?status=draft"))
    assert 'href="/admin/pages?status=draft&amp;page=2"' in drafts
    assert 'class="pager"' not in text(admin.get("/admin/pages?status=published"))
    # Unreadable page numbers give the first page; one past the end, the last.
    for bad in ("abc", "٢", "-1", "0", "1e3", "99999999999999999999"):
        assert "/lp/p26<" in text(admin.get(f"/admin/pages?page={bad}")), bad
    assert "/lp/p0<" in text(admin.get("/admin/pages?page=30"))


def test_list_times_are_in_the_merchants_timezone(admin, db, company, page):
    company.timezone = "Asia/Tokyo"
    page.updated_at = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    db.session.commit()

    assert "12:04" in text(admin.get("/admin/pages"))  # 03:04 UTC is 12:04 in Tokyo


def test_create_page_derives_the_slug_from_the_title(admin, db, company):
    response = admin.post("/admin/pages/new", {"title": "Été 2025: Big Sale!", "slug": ""})

    created = db.session.execute(db.select(LandingPage)).scalar_one()
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/pages/{created.id}"
    assert (created.slug, created.status, created.company_id) == ("ete-2025-big-sale", "draft", company.id)
    assert "created as a draft" in text(admin.get(response.headers["Location"]))


@pytest.mark.parametrize("form, field_error", [
    ({"title": "", "slug": "good-slug"}, "Give the page a title."),
    ({"title": "Sale", "slug": "Summer-Sale"}, "lowercase letters"),
    ({"title": "Sale", "slug": "summer sale"}, "lowercase letters"),
    ({"title": "Sale", "slug": "-summer"}, "starting and ending"),
    ({"title": "Sale", "slug": "ab"}, "3 to 120"),
    ({"title": "Sale", "slug": "a" * 121}, "3 to 120"),
    ({"title": "Sale", "slug": "sale_2025"}, "lowercase letters"),
    ({"title": "x" * 201, "slug": "fine-slug"}, "Title is too long"),
])
def test_create_page_refuses_bad_input_and_keeps_what_was_typed(admin, db, form, field_error):
    response = admin.post("/admin/pages/new", form)

    html = text(response)
    assert response.status_code == 422
    assert field_error in html
    assert f'value="{form["slug"]}"' in html and 'aria-invalid="true"' in html
    assert db.session.execute(db.select(db.func.count(LandingPage.id))).scalar() == 0


def test_slugs_are_unique_across_merchants(admin, db, company):
    other = Company(name="Other", slug="other")
    db.session.add(other)
    db.session.commit()
    make_page(other, [], slug="taken-slug")

    response = admin.post("/admin/pages/new", {"title": "Mine", "slug": "taken-slug"})

    assert response.status_code == 422
    assert "already in use" in text(response) and "taken-slug-2" in text(response)
    derived = admin.post("/admin/pages/new", {"title": "Taken slug"})
    assert derived.status_code == 303
    assert db.session.execute(db.select(LandingPage).filter_by(company_id=company.id)).scalar_one().slug == "taken-slug-2"


def test_edit_details_and_meta(admin, db, page):
    response = admin.post(f"/admin/pages/{page.id}", {
        "title": "Summer Sale 2025", "slug": "summer-sale", "meta_title": "Sale | Acme",
        "meta_description": "Tees and hoodies."})

    assert response.status_code == 303
    page = reload(db, page)
    assert (page.title, page.meta_title, page.meta_description) == ("Summer Sale 2025", "Sale | Acme", "Tees and hoodies.")
    assert db.session.execute(db.select(SlugRedirect)).first() is None  # same slug: no redirect


def test_edit_details_over_htmx_updates_the_head_out_of_band(admin, db, page):
    response = admin.post(f"/admin/pages/{page.id}", {"title": "Renamed", "slug": "summer-sale"}, htmx=True)

    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="page-details"' in html and 'id="page-head" class="page-head" hx-swap-oob="true"' in html
    assert "Renamed" in html
    assert "Details saved" in toast_of(response)


def test_edit_errors_answer_422_with_the_typed_values(admin, db, page):
    response = admin.post(f"/admin/pages/{page.id}", {
        "title": "Keep me", "slug": "Bad Slug", "meta_title": "m" * 201, "meta_description": "d" * 401}, htmx=True)

    html = text(response)
    assert response.status_code == 422
    assert 'value="Keep me"' in html and 'value="Bad Slug"' in html
    assert "Meta title is too long" in html and "Meta description is too long" in html
    assert reload(db, page).title == "Summer Sale"


def test_renaming_keeps_a_301_from_the_old_slug(admin, client, db, page):
    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})
    response = admin.post(f"/admin/pages/{page.id}", {"title": "Summer Sale", "slug": "hot-summer"})
    assert "now redirects here" in text(admin.get(response.headers["Location"]))

    old = client.get("/lp/summer-sale?utm_source=mail&utm_campaign=june")
    assert old.status_code == 301
    assert old.headers["Location"] == "/lp/hot-summer?utm_source=mail&utm_campaign=june"
    assert "max-age=3600" in old.headers["Cache-Control"]
    assert client.get("/lp/hot-summer").status_code == 200
    # Renamed again: both old slugs go straight to the current one.
    admin.post(f"/admin/pages/{page.id}", {"title": "Summer Sale", "slug": "hottest-summer"})
    assert client.get("/lp/summer-sale").headers["Location"] == "/lp/hottest-summer"
    assert client.get("/lp/hot-summer").headers["Location"] == "/lp/hottest-summer"
    # A redirect never leads to a page shoppers cannot see.
    admin.post(f"/admin/pages/{page.id}/status", {"status": "draft"})
    assert client.get("/lp/summer-sale").status_code == 404


def test_an_old_slug_can_be_reused_by_its_merchant_but_not_by_another(admin, app, db, company, page):
    admin.post(f"/admin/pages/{page.id}", {"title": "Summer Sale", "slug": "hot-summer"})

    other = Company(name="Other", slug="other")
    db.session.add(other)
    db.session.commit()
    make_user(other, email="owner@other.test")
    other_client = app.test_client()
    sign_in(other_client, email="owner@other.test")
    refused = Admin(other_client).post("/admin/pages/new", {"title": "Theirs", "slug": "summer-sale"})
    assert refused.status_code == 422

    reused = admin.post("/admin/pages/new", {"title": "Again", "slug": "summer-sale"})
    assert reused.status_code == 303
    assert db.session.execute(db.select(SlugRedirect).filter_by(old_slug="summer-sale")).first() is None


def test_duplicate_copies_sections_and_products_as_a_draft(admin, db, company, page):
    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})

    response = admin.post(f"/admin/pages/{page.id}/duplicate")

    copy = db.session.execute(db.select(LandingPage).where(LandingPage.id != page.id)).scalar_one()
    assert response.headers["Location"] == f"/admin/pages/{copy.id}"
    assert (copy.title, copy.slug, copy.status) == ("Summer Sale (copy)", "summer-sale-copy", "draft")
    assert [s.type for s in sections_of(db, copy.id)] == ["hero", "product_grid"]
    grid = sections_of(db, copy.id)[1]
    assert [i.product.title for i in grid.products] == ["Classic Tee", "Hoodie"]
    assert all(i.landing_page_id == copy.id for i in grid.products)
    admin.post(f"/admin/pages/{page.id}/duplicate")
    assert db.session.execute(db.select(LandingPage).filter_by(slug="summer-sale-copy-2")).first()


def test_publish_unpublish_archive_and_restore(admin, client, db, page):
    assert client.get("/lp/summer-sale").status_code == 404

    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})
    assert client.get("/lp/summer-sale").status_code == 200

    unpublished = admin.post(f"/admin/pages/{page.id}/status", {"status": "draft"}, htmx=True)
    assert unpublished.status_code == 200 and "Unpublished" in toast_of(unpublished)
    assert 'id="page-head"' in text(unpublished) and "Publish</button>" in text(unpublished)
    assert client.get("/lp/summer-sale").status_code == 404

    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})
    archived = admin.post(f"/admin/pages/{page.id}/status", {"status": "archived"})
    assert archived.status_code == 303
    assert reload(db, page).status == "archived"
    assert client.get("/lp/summer-sale").status_code == 404
    assert "Archived" in text(admin.get("/admin/pages?status=archived"))

    again = admin.post(f"/admin/pages/{page.id}/status", {"status": "archived"}, htmx=True)
    assert "already archived" in toast_of(again)
    admin.post(f"/admin/pages/{page.id}/status", {"status": "draft"})
    assert reload(db, page).status == "draft"
    assert admin.post(f"/admin/pages/{page.id}/status", {"status": "deleted"}).status_code == 422


def test_edit_screen_has_preview_theme_and_confirmations(admin, page):
    html = text(admin.get(f"/admin/pages/{page.id}"))

    assert f'href="/admin/pages/{page.id}/theme"' in html and ">Theme<" in html
    assert f'href="/admin/pages/{page.id}/preview"' in html
    assert 'data-confirm="Archive this page?' in html and 'hx-confirm="Archive this page?' in html
    assert 'hx-confirm="Remove the Hero section?' in html
    assert html.count('name="csrf_token"') >= 6


def test_preview_link_renders_a_draft_privately(admin, client, db, page):
    response = admin.get(f"/admin/pages/{page.id}/preview")

    token = reload(db, page).preview_token
    assert response.status_code == 303 and response.headers["Location"] == f"/lp/preview/{token}"
    assert len(token) >= 43
    preview = client.get(f"/lp/preview/{token}")
    assert preview.status_code == 200 and "Classic Tee" in text(preview)
    assert preview.headers["X-Robots-Tag"] == "noindex"
    assert "no-store" in preview.headers["Cache-Control"]
    assert db.session.execute(db.select(db.func.count(Visit.id))).scalar() == 0
    assert client.get("/lp/summer-sale").status_code == 404  # still a draft
    # The same link the second time; archived pages preview too.
    admin.get(f"/admin/pages/{page.id}/preview")
    assert reload(db, page).preview_token == token
    admin.post(f"/admin/pages/{page.id}/status", {"status": "archived"})
    assert client.get(f"/lp/preview/{token}").status_code == 200
    assert token[:20] in text(admin.get(f"/admin/pages/{page.id}"))


def test_preview_link_can_be_replaced_and_unknown_tokens_are_404(admin, client, db, page):
    admin.get(f"/admin/pages/{page.id}/preview")
    old = reload(db, page).preview_token

    admin.post(f"/admin/pages/{page.id}/preview/reset")

    new = reload(db, page).preview_token
    assert new != old
    assert client.get(f"/lp/preview/{old}").status_code == 404
    assert client.get(f"/lp/preview/{new}").status_code == 200
    assert client.get("/lp/preview/nope").status_code == 404
    assert client.get("/lp/preview/" + "x" * 300).status_code == 404


# ----------------------------------------------------------------------------- sections


def test_add_section_without_js_opens_its_settings(admin, db, page):
    response = admin.post(f"/admin/pages/{page.id}/sections", {"type": "faq"})

    faq = sections_of(db, page.id)[-1]
    assert (faq.type, faq.position) == ("faq", 3)
    assert response.headers["Location"] == f"/admin/pages/{page.id}/sections/{faq.id}"
    assert "Frequently asked questions" in text(admin.get(response.headers["Location"]))


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_every_section_type_has_its_own_labelled_settings_form(admin, db, page, kind):
    section = add_section(admin, db, page, kind)

    response = admin.get(f"/admin/pages/{page.id}/sections/{section.id}")

    html = text(response)
    assert response.status_code == 200
    assert f"<h1>{TYPES[kind].label}</h1>" in html and 'id="section-form"' in html
    assert f'action="/admin/pages/{page.id}/sections/{section.id}" method="post" hx-post="/admin/pages/{page.id}/sections/{section.id}"' in html
    ids = re.findall(r'<(?:input|textarea|select) id="([^"]+)"', html)
    assert all(f'for="{i}"' in html for i in ids)
    assert ids or html.count('<label class="checkbox"><input type="checkbox" name="badges"') == 3


def test_list_rows_offer_empty_rows_up_to_the_cap(admin, db, page):
    faq = add_section(admin, db, page, "faq")
    admin.post(f"/admin/pages/{page.id}/sections/{faq.id}", {"question": [f"q{i}" for i in range(29)], "answer": ["a"] * 29})

    html = text(admin.get(f"/admin/pages/{page.id}/sections/{faq.id}"))

    assert html.count("<legend>Question ") == 30


def test_add_section_over_htmx_renders_the_list(admin, db, page):
    response = admin.post(f"/admin/pages/{page.id}/sections", {"type": "countdown"}, htmx=True)

    html = text(response)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="sections">')
    assert "Countdown" in html and " autofocus" in html
    assert "Countdown section added" in toast_of(response)


def test_add_section_of_unknown_type_is_refused(admin, db, page):
    response = admin.post(f"/admin/pages/{page.id}/sections", {"type": "iframe"}, htmx=True)

    assert response.status_code == 422 and "Choose a section type" in text(response)
    assert len(sections_of(db, page.id)) == 2


def test_section_edit_bumps_updated_at_so_the_public_cache_changes(admin, app, client, db, page):
    app.config["SECTION_CACHE_SECONDS"] = 300
    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})
    hero = sections_of(db, page.id)[0]
    assert "Summer Sale</h1>" in text(client.get("/lp/summer-sale"))
    before = reload(db, page).updated_at

    admin.post(f"/admin/pages/{page.id}/sections/{hero.id}", {"heading": "Fresh heading"})

    assert reload(db, page).updated_at > before
    assert "Fresh heading</h1>" in text(client.get("/lp/summer-sale"))


VALID = {
    "hero": ({"heading": "Big Sale", "subheading": "Everything -30%", "cta_label": "Shop"},
             ["Big Sale</h1>", "Everything -30%", ">Shop</a>"]),
    "product_grid": ({"heading": "Our picks", "columns": "2"}, ["Our picks</h2>", "cols-2"]),
    "rich_text": ({"html": "<h2>Made well</h2><p>Organic <strong>cotton</strong>.</p>"},
                  ["<h2>Made well</h2><p>Organic <strong>cotton</strong>.</p>"]),
    "testimonials": ({"heading": "Reviews", "quote": ["Love it", "", "Great fit"], "author": ["Ann", "", ""]},
                     ["Reviews</h2>", "<p>Love it</p>", "<figcaption>Ann</figcaption>", "<p>Great fit</p>"]),
    "faq": ({"heading": "FAQ", "question": ["Shipping?", ""], "answer": ["Two days.\n\nFree over $50.", ""]},
            ["<summary>Shipping?</summary>", "<p>Two days.</p><p>Free over $50.</p>"]),
    "trust_badges": ({"badges": ["secure_payment", "money_back"]},
                     ["Money-back guarantee", "Secure payment"]),
    "free_shipping_bar": ({"threshold": "49.99", "message": "Free shipping over {threshold}!"},
                          ["Free shipping over $49.99!"]),
    "custom_html": ({"html": '<div><a href="https://acme.test/size">Size guide</a></div>'},
                    ['<a href="https://acme.test/size" rel="noopener noreferrer">Size guide</a>']),
}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_section_type_saves_and_renders(admin, client, db, page, kind):
    form, expected = VALID[kind]
    section = sections_of(db, page.id)[1] if kind == "product_grid" else add_section(admin, db, page, kind)

    response = admin.post(f"/admin/pages/{page.id}/sections/{section.id}", form)

    assert response.status_code == 303, text(response)
    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})
    html = text(client.get("/lp/summer-sale"))
    for fragment in expected:
        assert fragment in html
    if kind == "trust_badges":
        assert "<span>Free returns</span>" not in html
        assert reload(db, section).settings["badges"] == ["money_back", "secure_payment"]
    if kind == "free_shipping_bar":
        assert reload(db, section).settings["threshold_cents"] == 4999


def test_section_save_over_htmx_answers_the_form_and_a_toast(admin, db, page):
    hero = sections_of(db, page.id)[0]

    response = admin.post(f"/admin/pages/{page.id}/sections/{hero.id}", {"heading": "New"}, htmx=True)

    assert response.status_code == 200
    assert text(response).lstrip().startswith('<form id="section-form"')
    assert "Hero saved" in toast_of(response)


INVALID = {
    "hero": ({"heading": "", "subheading": "typed sub", "cta_label": "c" * 61},
             ["Heading is required", "Button label is too long", "typed sub"]),
    "product_grid": ({"heading": "Typed", "columns": "7"}, ["Choose 2, 3 or 4 columns", 'value="Typed"']),
    "rich_text": ({"html": "<p>" + "x" * 20001 + "</p>"}, ["Text is too long"]),
    "testimonials": ({"heading": "H", "quote": ["", "q" * 1001], "author": ["Only author", "B"]},
                     ["Quote is required in row 1", "Quote in row 2 is too long", 'value="Only author"']),
    "faq": ({"question": ["Half asked?"], "answer": [""]}, ["Answer is required in row 1", "Half asked?"]),
    "countdown": ({"heading": "Ends", "deadline": "next friday"}, ["Enter a date and time", 'value="next friday"']),
    "trust_badges": ({"badges": ["free_lunch"]}, ["Choose at least one badge"]),
    "free_shipping_bar": ({"threshold": "fifty", "message": "Over {threshold}"},
                          ["Enter an amount in USD", 'value="fifty"', 'value="Over {threshold}"']),
    "custom_html": ({"html": ""}, ["HTML is required"]),
}


@pytest.mark.parametrize("kind", sorted(INVALID))
@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_settings_answer_422_and_keep_what_was_typed(admin, db, page, kind, htmx):
    form, expected = INVALID[kind]
    section = sections_of(db, page.id)[1] if kind == "product_grid" else add_section(admin, db, page, kind)
    before = dict(section.settings)

    response = admin.post(f"/admin/pages/{page.id}/sections/{section.id}", form, htmx=htmx)

    html = text(response)
    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    for fragment in expected:
        assert fragment in html
    assert 'role="alert"' in html and "aria-invalid" in html
    assert reload(db, section).settings == before


def test_too_many_testimonials_and_faq_rows_are_refused(admin, db, page):
    testimonials = add_section(admin, db, page, "testimonials")
    faq = add_section(admin, db, page, "faq")

    thirteen = admin.post(f"/admin/pages/{page.id}/sections/{testimonials.id}",
                          {"quote": [f"q{i}" for i in range(13)], "author": [""] * 13})
    thirty_one = admin.post(f"/admin/pages/{page.id}/sections/{faq.id}",
                            {"question": [f"q{i}" for i in range(31)], "answer": ["a"] * 31})
    twelve = admin.post(f"/admin/pages/{page.id}/sections/{testimonials.id}",
                        {"quote": [f"q{i}" for i in range(12)], "author": [""] * 12})

    assert thirteen.status_code == 422 and "At most 12 testimonials" in text(thirteen)
    assert 'value="q12"' in text(thirteen) or ">q12</textarea>" in text(thirteen)
    assert thirty_one.status_code == 422 and "At most 30 questions" in text(thirty_one)
    assert twelve.status_code == 303 and len(reload(db, testimonials).settings["items"]) == 12


def test_countdown_deadline_is_read_in_the_merchants_timezone(admin, client, db, company, page):
    company.timezone = "America/New_York"
    db.session.commit()
    countdown = add_section(admin, db, page, "countdown")
    local = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=3)).replace(
        hour=18, minute=30, second=0, microsecond=0)

    admin.post(f"/admin/pages/{page.id}/sections/{countdown.id}",
               {"heading": "Sale ends in", "deadline": local.strftime("%Y-%m-%dT%H:%M")})

    stored = reload(db, countdown).settings["deadline"]
    assert datetime.fromisoformat(stored) == local.astimezone(UTC)
    assert stored.endswith("+00:00")
    edit = text(admin.get(f"/admin/pages/{page.id}/sections/{countdown.id}"))
    assert f'value="{local:%Y-%m-%dT%H:%M}"' in edit and "America/New_York" in edit
    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})
    html = text(client.get("/lp/summer-sale"))
    assert "Sale ends in</h2>" in html and "6:30\u202fPM" in html.replace(" PM", "\u202fPM")
    assert f'datetime="{local.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"' in html
    assert html.count('src="/static/js/countdown.js"') == 1


def test_countdown_refuses_past_and_skipped_times(admin, db, company, page):
    company.timezone = "Europe/Paris"
    db.session.commit()
    countdown = add_section(admin, db, page, "countdown")

    past = admin.post(f"/admin/pages/{page.id}/sections/{countdown.id}", {"deadline": "2020-01-01T10:00"})
    gap = admin.post(f"/admin/pages/{page.id}/sections/{countdown.id}", {"deadline": "2030-03-31T02:30"})

    assert past.status_code == 422 and "has passed" in text(past)
    assert gap.status_code == 422 and "does not exist in Europe/Paris" in text(gap)


def test_countdown_is_hidden_after_its_deadline_even_from_the_cache(app, client, db, company, monkeypatch):
    from storefront.landing import services

    app.config["SECTION_CACHE_SECONDS"] = 300
    page = make_page(company, [make_product(company)])
    deadline = datetime.now(UTC) + timedelta(minutes=10)
    page.sections.append(Section(type="countdown", position=3,
                                 settings={"heading": "Hurry", "deadline": deadline.isoformat()}))
    db.session.commit()

    assert "Hurry</h2>" in text(client.get("/lp/summer-sale"))
    assert "Hurry</h2>" in text(client.get("/lp/summer-sale"))  # from the cache

    later = time.monotonic() + 11 * 60
    monkeypatch.setattr(services.time, "monotonic", lambda: later)
    monkeypatch.setattr(services, "utcnow", lambda: deadline + timedelta(minutes=1))
    html = text(client.get("/lp/summer-sale"))
    assert "Hurry" not in html and "countdown.js" not in html


def test_a_countdown_without_deadline_is_not_shown(client, db, company):
    page = make_page(company, [])
    page.sections.append(Section(type="countdown", position=3, settings={"heading": "Soon", "deadline": None}))
    db.session.commit()

    assert "Soon" not in text(client.get("/lp/summer-sale"))


def test_custom_html_is_sanitised_on_save_and_warned_about(admin, db, page):
    custom = add_section(admin, db, page, "custom_html")

    response = admin.post(f"/admin/pages/{page.id}/sections/{custom.id}",
                          {"html": '<p onclick="steal()">Hi<script>alert(1)</script></p>'}, htmx=True)

    assert reload(db, custom).settings["html"] == "<p>Hi</p>"
    assert "Some markup was removed" in toast_of(response)


def test_reorder_sections_over_htmx_and_without_js(admin, db, page):
    faq = add_section(admin, db, page, "faq")

    up = admin.post(f"/admin/pages/{page.id}/sections/{faq.id}/move", {"direction": "up"}, htmx=True)
    assert up.status_code == 200 and 'id="sections"' in text(up) and "FAQ moved up" in toast_of(up)
    assert 'aria-label="Move section 2 (FAQ) up" autofocus' in text(up)
    assert [s.type for s in sections_of(db, page.id)] == ["hero", "faq", "product_grid"]

    plain = admin.post(f"/admin/pages/{page.id}/sections/{faq.id}/move", {"direction": "up"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/admin/pages/{page.id}#sections")
    assert [s.type for s in sections_of(db, page.id)] == ["faq", "hero", "product_grid"]
    assert [s.position for s in sections_of(db, page.id)] == [1, 2, 3]

    top = admin.post(f"/admin/pages/{page.id}/sections/{faq.id}/move", {"direction": "up"}, htmx=True)
    assert "already at the top" in toast_of(top)
    sideways = admin.post(f"/admin/pages/{page.id}/sections/{faq.id}/move", {"direction": "left"}, htmx=True)
    assert sideways.status_code == 422


def test_first_and_last_move_buttons_are_disabled(admin, page):
    html = text(admin.get(f"/admin/pages/{page.id}"))

    assert 'aria-label="Move section 1 (Hero) up" disabled' in html
    assert 'aria-label="Move section 2 (Product grid) down" disabled' in html


def test_remove_section_over_htmx_and_without_js(admin, db, page):
    hero, grid = sections_of(db, page.id)

    gone = admin.post(f"/admin/pages/{page.id}/sections/{grid.id}/delete", htmx=True)
    assert gone.status_code == 200 and "Product grid section removed" in toast_of(gone)
    assert db.session.execute(db.select(db.func.count(LandingPageProduct.id))).scalar() == 0

    plain = admin.post(f"/admin/pages/{page.id}/sections/{hero.id}/delete")
    assert plain.status_code == 303
    assert sections_of(db, page.id) == []
    assert "No sections yet" in text(admin.get(f"/admin/pages/{page.id}"))


# ----------------------------------------------------------------------------- products


def test_search_is_a_real_get_form_with_htmx_layered_on(admin, db, company, page):
    make_product(company, "Wool Beanie")
    grid = sections_of(db, page.id)[1]
    url = f"/admin/pages/{page.id}/sections/{grid.id}"

    html = text(admin.get(url))
    search = f"{url}/products/search"
    assert f'action="{search}" method="get"' in html
    assert f'hx-get="{search}" hx-trigger="input changed delay:300ms, search"' in html

    full = admin.get(f"{search}?q=beanie")
    assert "<html" in text(full) and "Wool Beanie" in text(full) and "Hoodie</span>" not in text(full).split('id="search-results"')[1]
    fragment = admin.get(f"{search}?q=BEAN", htmx=True)
    assert "<html" not in text(fragment) and "Wool Beanie" in text(fragment) and "Add<span" in text(fragment)
    by_sku = admin.get(f"{search}?q=classic-tee-1", htmx=True)
    assert "Classic Tee" in text(by_sku) and "In the grid" in text(by_sku)
    nothing = admin.get(f"{search}?q=100%25_", htmx=True)
    assert "No product matches" in text(nothing)


def test_search_never_shows_another_merchants_products(admin, db, page):
    other = Company(name="Other", slug="other")
    db.session.add(other)
    db.session.commit()
    make_product(other, "Secret Jacket")
    grid = sections_of(db, page.id)[1]

    html = text(admin.get(f"/admin/pages/{page.id}/sections/{grid.id}/products/search?q=jacket", htmx=True))

    assert "Secret Jacket" not in html and "No product matches" in html


def test_add_remove_and_reorder_products(admin, client, db, company, page):
    beanie = make_product(company, "Wool Beanie")
    grid = sections_of(db, page.id)[1]
    base = f"/admin/pages/{page.id}/sections/{grid.id}/products"

    added = admin.post(base, {"product_id": beanie.id, "q": "wool"}, htmx=True)
    assert added.status_code == 200 and 'id="grid-products"' in text(added)
    assert f'id="result-{beanie.id}" hx-swap-oob="true"' in text(added) and "In the grid" in text(added)
    assert "Wool Beanie” added" in toast_of(added)
    again = admin.post(base, {"product_id": beanie.id}, htmx=True)
    assert "already in this grid" in toast_of(again)

    items = reload(db, grid).products
    assert [i.product.title for i in items] == ["Classic Tee", "Hoodie", "Wool Beanie"]
    beanie_item = items[2]
    moved = admin.post(f"{base}/{beanie_item.id}/move", {"direction": "up"}, htmx=True)
    assert moved.status_code == 200 and "moved up" in toast_of(moved)
    admin.post(f"{base}/{beanie_item.id}/move", {"direction": "up"})
    assert [i.product.title for i in reload(db, grid).products] == ["Wool Beanie", "Classic Tee", "Hoodie"]

    removed = admin.post(f"{base}/{items[0].id}/delete")
    assert removed.status_code == 303 and removed.headers["Location"].endswith("#products")
    assert [i.product.title for i in reload(db, grid).products] == ["Wool Beanie", "Hoodie"]
    assert [i.position for i in reload(db, grid).products] == [1, 2]

    admin.post(f"/admin/pages/{page.id}/status", {"status": "published"})
    html = text(client.get("/lp/summer-sale"))
    titles = re.findall(r'<h3 class="product-title">([^<]+)</h3>', html)
    assert titles == ["Wool Beanie", "Hoodie"]


def test_add_product_without_js_returns_to_the_search(admin, db, company, page):
    beanie = make_product(company, "Wool Beanie")
    grid = sections_of(db, page.id)[1]

    response = admin.post(f"/admin/pages/{page.id}/sections/{grid.id}/products", {"product_id": beanie.id, "q": "wool"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/pages/{page.id}/sections/{grid.id}/products/search?q=wool#search"
    assert "Wool Beanie” added" in text(admin.get(response.headers["Location"]))


def test_products_only_go_in_a_product_grid(admin, db, company, page):
    hero = sections_of(db, page.id)[0]
    beanie = make_product(company, "Wool Beanie")

    assert admin.post(f"/admin/pages/{page.id}/sections/{hero.id}/products", {"product_id": beanie.id}).status_code == 404
    assert admin.get(f"/admin/pages/{page.id}/sections/{hero.id}/products/search").status_code == 404
    assert admin.post(f"/admin/pages/{page.id}/sections/{sections_of(db, page.id)[1].id}/products",
                      {"product_id": "abc"}).status_code == 404


# ----------------------------------------------------------------------------- tenancy


@pytest.fixture()
def theirs(db):
    """Another merchant's page, its sections, a grid product and a catalogue product."""
    other = Company(name="Other", slug="other")
    db.session.add(other)
    db.session.commit()
    product = make_product(other, "Their Tee")
    page = make_page(other, [product], slug="their-page")
    hero, grid = page.sections
    return {"page": page.id, "hero": hero.id, "grid": grid.id, "item": grid.products[0].id, "product": product.id}


def tenant_routes(t, mine):
    p, g, h, i = t["page"], t["grid"], t["hero"], t["item"]
    return [
        ("GET", f"/admin/pages/{p}", None),
        ("POST", f"/admin/pages/{p}", {"title": "Hacked", "slug": "hacked"}),
        ("POST", f"/admin/pages/{p}/duplicate", None),
        ("POST", f"/admin/pages/{p}/status", {"status": "archived"}),
        ("GET", f"/admin/pages/{p}/preview", None),
        ("POST", f"/admin/pages/{p}/preview/reset", None),
        ("POST", f"/admin/pages/{p}/sections", {"type": "hero"}),
        ("GET", f"/admin/pages/{p}/sections/{h}", None),
        ("POST", f"/admin/pages/{p}/sections/{h}", {"heading": "Hacked"}),
        ("POST", f"/admin/pages/{p}/sections/{h}/move", {"direction": "down"}),
        ("POST", f"/admin/pages/{p}/sections/{h}/delete", None),
        ("GET", f"/admin/pages/{p}/sections/{g}/products/search?q=tee", None),
        ("POST", f"/admin/pages/{p}/sections/{g}/products", {"product_id": t["product"]}),
        ("POST", f"/admin/pages/{p}/sections/{g}/products/{i}/move", {"direction": "up"}),
        ("POST", f"/admin/pages/{p}/sections/{g}/products/{i}/delete", None),
        # Their section or grid row under my page, and their product into my grid.
        ("GET", f"/admin/pages/{mine['page']}/sections/{h}", None),
        ("POST", f"/admin/pages/{mine['page']}/sections/{h}/delete", None),
        ("POST", f"/admin/pages/{mine['page']}/sections/{mine['grid']}/products/{i}/delete", None),
        ("POST", f"/admin/pages/{mine['page']}/sections/{mine['grid']}/products/{i}/move", {"direction": "up"}),
        ("POST", f"/admin/pages/{mine['page']}/sections/{mine['grid']}/products", {"product_id": t["product"]}),
    ]


@pytest.mark.parametrize("htmx", [False, True])
def test_another_merchants_ids_answer_404_everywhere(admin, db, page, theirs, htmx):
    mine = {"page": page.id, "grid": sections_of(db, page.id)[1].id}
    before = {
        "sections": db.session.execute(db.select(Section.id, Section.position, Section.settings).order_by(Section.id)).all(),
        "items": db.session.execute(db.select(LandingPageProduct.id, LandingPageProduct.section_id, LandingPageProduct.position).order_by(LandingPageProduct.id)).all(),
        "pages": db.session.execute(db.select(LandingPage.id, LandingPage.title, LandingPage.slug, LandingPage.status, LandingPage.preview_token).order_by(LandingPage.id)).all(),
    }

    for method, url, data in tenant_routes(theirs, mine):
        response = admin.get(url, htmx=htmx) if method == "GET" else admin.post(url, data, htmx=htmx)
        assert response.status_code == 404, (method, url, response.status_code)

    db.session.expire_all()
    after = {
        "sections": db.session.execute(db.select(Section.id, Section.position, Section.settings).order_by(Section.id)).all(),
        "items": db.session.execute(db.select(LandingPageProduct.id, LandingPageProduct.section_id, LandingPageProduct.position).order_by(LandingPageProduct.id)).all(),
        "pages": db.session.execute(db.select(LandingPage.id, LandingPage.title, LandingPage.slug, LandingPage.status, LandingPage.preview_token).order_by(LandingPage.id)).all(),
    }
    assert after == before


def test_unknown_and_malformed_ids_answer_404(admin, page):
    assert admin.get("/admin/pages/999999").status_code == 404
    assert admin.get("/admin/pages/abc").status_code == 404
    assert admin.get(f"/admin/pages/{page.id}/sections/999999").status_code == 404
    assert admin.post(f"/admin/pages/{page.id}/sections/999999/move", {"direction": "up"}).status_code == 404


# ----------------------------------------------------------------------------- the forms' bad input


@pytest.mark.parametrize("htmx", [False, True])
def test_the_details_form_names_each_refused_input_on_both_paths(admin, db, page, htmx):
    response = admin.post(f"/admin/pages/{page.id}", {"title": "", "slug": "", "meta_title": "t" * 201}, htmx=htmx)

    html = text(response)
    assert response.status_code == 422 and ("<html" in html) is not htmx
    assert 'href="#f-title">Title</a>: Give the page a title.' in html
    assert 'href="#f-slug">Address</a>: The address must be 3 to 120 characters long.' in html
    assert 'href="#f-meta_title">Meta title</a>: Meta title is too long' in html
    assert 'id="f-title"' in html and 'aria-describedby="f-title-error"' in html
    if htmx:
        assert "Nothing was saved" in toast_of(response)
    assert reload(db, page).title == "Summer Sale"


def test_a_meta_description_is_kept_as_one_paragraph(admin, db, page):
    response = admin.post(f"/admin/pages/{page.id}", {
        "title": "Summer Sale", "slug": "summer-sale", "meta_description": "Tees\r\n\r\nand   hoodies.\t"})
    assert response.status_code == 303
    assert reload(db, page).meta_description == "Tees and hoodies."


@pytest.mark.parametrize("path_of, data", [
    (lambda page, section: "/admin/pages/new", {"title": "Sale\u0000", "slug": "nul-sale"}),
    (lambda page, section: f"/admin/pages/{page.id}", {"title": "T", "slug": "summer-sale\u0000"}),
    (lambda page, section: f"/admin/pages/{page.id}/sections/{section.id}", {"heading": "Big\u0000Sale"}),
    (lambda page, section: f"/admin/pages/{page.id}/sections/{section.id}", {"heading": "Sale", "subheading": "a\u0000"}),
    (lambda page, section: f"/admin/pages/{page.id}/status", {"status": "published\u0000"}),
    (lambda page, section: f"/admin/pages/{page.id}/sections/{section.id}/move", {"direction": "up\u0001"}),
])
def test_control_characters_are_refused_at_the_boundary(admin, db, page, path_of, data):
    hero = sections_of(db, page.id)[0]
    before = (reload(db, page).title, dict(hero.settings), reload(db, page).status)

    response = admin.post(path_of(page, hero), data)

    assert response.status_code == 400
    assert (reload(db, page).title, dict(reload(db, hero).settings), reload(db, page).status) == before
    assert db.session.execute(db.select(db.func.count(LandingPage.id))).scalar() == 1


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_status_or_direction_is_refused_with_its_message(admin, db, page, htmx):
    hero, grid = sections_of(db, page.id)
    item = grid.products[0]

    status = admin.post(f"/admin/pages/{page.id}/status", {"status": "deleted"}, htmx=htmx)
    move = admin.post(f"/admin/pages/{page.id}/sections/{hero.id}/move", {"direction": "sideways"}, htmx=htmx)
    product = admin.post(f"/admin/pages/{page.id}/sections/{grid.id}/products/{item.id}/move",
                         {"direction": "x" * 5000}, htmx=htmx)
    # Without htmx a grid's products answer post/redirect/get: the message is flashed there.
    followed = text(admin.get(product.headers["Location"])) if not htmx else ""
    kind = admin.post(f"/admin/pages/{page.id}/sections", {"type": "t" * 5000}, htmx=htmx)

    for response, message in ((status, "Choose publish, unpublish or archive."), (move, "Move up or down."),
                              (product, "Move up or down."), (kind, "Choose a section type.")):
        assert response.status_code == (303 if product is response and not htmx else 422), message
        if htmx:
            assert message in toast_of(response)
        else:
            assert message in (followed if product is response else text(response))
    assert reload(db, page).status == "draft"
    assert [s.id for s in sections_of(db, page.id)] == [hero.id, grid.id]


@pytest.mark.parametrize("product_id", ["", "abc", "²", "-1", "0", "2147483648", "1" * 5000])
@pytest.mark.parametrize("htmx", [False, True])
def test_an_unreadable_product_id_is_no_product(admin, db, page, product_id, htmx):
    grid = sections_of(db, page.id)[1]
    before = len(grid.products)

    response = admin.post(f"/admin/pages/{page.id}/sections/{grid.id}/products", {"product_id": product_id}, htmx=htmx)

    assert response.status_code == 404
    assert len(reload(db, grid).products) == before


def test_adding_a_product_returns_to_the_search_it_came_from(admin, db, company, page):
    grid = sections_of(db, page.id)[1]
    scarf = make_product(company, "Wool Scarf")

    response = admin.post(f"/admin/pages/{page.id}/sections/{grid.id}/products", {"product_id": scarf.id, "q": " scarf "})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/sections/{grid.id}/products/search?q=scarf#search")


def test_each_section_form_is_drawn_with_the_kit_and_links_its_errors(admin, db, page):
    faq = add_section(admin, db, page, "faq")
    badges = add_section(admin, db, page, "trust_badges")

    form = admin.post(f"/admin/pages/{page.id}/sections/{faq.id}",
                      {"question": ["Why?", "", "How?"], "answer": ["", "", "So."]}, htmx=True)
    html = text(form)
    assert form.status_code == 422 and 'href="#f-items">Questions</a>: Answer is required in row 1.' in html
    assert 'id="f-answer-0"' in html and 'aria-invalid="true"' in html
    assert 'value="How?"' in html

    refused = admin.post(f"/admin/pages/{page.id}/sections/{badges.id}", {"badges": ["free_lunch", "x" * 200]})
    html = text(refused)
    assert refused.status_code == 422 and '<fieldset class="check-group is-invalid" id="badges"' in html
    assert 'id="badges-money_back" name="badges" type="checkbox" value="money_back"' in html
    assert "free_lunch" not in html
    saved = admin.post(f"/admin/pages/{page.id}/sections/{badges.id}", {"badges": ["free_returns", "nope"]})
    assert saved.status_code == 303 and reload(db, badges).settings == {"badges": ["free_returns"]}


def test_free_shipping_threshold_refuses_zero_and_long_amounts(admin, db, page):
    bar = add_section(admin, db, page, "free_shipping_bar")
    for typed, message in (("0", "The threshold must be more than zero."), ("-5", "Enter an amount in USD"),
                           ("1" * 21, "Threshold is too long"), ("", "Threshold is required.")):
        response = admin.post(f"/admin/pages/{page.id}/sections/{bar.id}", {"threshold": typed, "message": "Over {threshold}"})
        assert response.status_code == 422 and message in text(response), typed
    assert reload(db, bar).settings["threshold_cents"] is None
