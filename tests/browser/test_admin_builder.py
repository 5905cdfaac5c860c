"""End to end in headless Chromium: a merchant builds, themes and publishes a landing page, and
a shopper buys from it.

1. The merchant signs in through the real login form, creates a page, adds a hero (its heading),
   a product grid of three products found with the active search, and a countdown a few days
   ahead. In the page's theme editor they pick the Dark preset and type a primary colour: the
   preview drawer follows without a page reload. They save the theme and publish the page.
   A shopper, in another browser context, opens /lp/<slug>: the hero, the three products and
   the countdown show; adding a product opens the drawer in the page's theme.
   axe-core checks each admin screen visited on the way (pages list, page editor, the section
   forms, theme editor).
2. axe-core on the other admin screens: home, products, promotions, shipping, carts, leads
   (seeded with the demo shop, a promotion and a shopper's cart with a captured email).

Screenshots of the page editor, the theme editor, the shopper's page and the shopper's page with
the drawer open, at 390 px and 1280 px, go to tests/browser/screenshots/ (admin-page-editor,
admin-theme-editor, builder-landing, builder-landing-drawer).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import make_product, make_promotion, make_user
from test_leads_capture import admin_context, sign_in, simple_card, type_and_tab
from test_purchase import LANDING, add_button, assert_accessible

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

OWNER, PASSWORD = "owner@acme.test", "correct horse battery"
TITLE, SLUG = "Autumn Drop", "autumn-drop"
HERO = "Layers for the first cold mornings"
COUNTDOWN = "The drop closes in"
# Seeded catalogue: three go in the grid (found by the search term), one stays out.
PRODUCTS = {"Merino Beanie": "merino", "Waxed Field Jacket": "waxed", "Rope Sandals": "sandal"}
LEFT_OUT = "Wool Hiking Socks"
PRIMARY_HEX, PRIMARY_RGB = "#e11d48", "rgb(225, 29, 72)"
PREVIEW_BUTTON = ".theme-preview .button-primary"


def rgb(hex_color: str) -> str:
    """``#rrggbb`` as getComputedStyle reports it: ``rgb(r, g, b)``."""
    value = hex_color.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(value[i:i + 2], 16) for i in (0, 2, 4)))


def axe(page, where, enabled):
    """axe-core on the page as it is (prints every violation; fails on serious or critical)."""
    if enabled:
        page.wait_for_function("() => !!window.axe")
        assert_accessible(page, where)


def add_section(admin, kind, label):
    """Add a section of type ``kind`` (htmx swaps #sections), then open its settings form."""
    items = admin.locator("#sections li.section-item")
    before = items.count()
    admin.get_by_label("Add a section").select_option(kind)
    admin.get_by_role("button", name="Add section").click()
    expect(items).to_have_count(before + 1)
    expect(items.last.locator(".section-type")).to_have_text(label)
    expect(admin.locator("#toasts")).to_contain_text(f"{label} section added.")
    edit = items.last.get_by_role("link", name=re.compile(r"^Edit"))
    expect(edit).to_be_focused()  # the new section's Edit link takes focus after the swap
    edit.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(label)
    admin.wait_for_function("() => !!window.htmx")


def save_section(admin, label):
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator("#toasts")).to_contain_text(f"{label} saved.")
    expect(admin.locator("#section-form .field-error")).to_have_count(0)


# True when the element's first line can be seen: the topmost element at that point is it or
# inside it (not a sticky header, say, laid over it).
UNCOVERED = """(el) => {
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + 4, r.top + Math.min(r.height / 2, 10));
  return r.top >= 0 && r.bottom <= innerHeight && !!hit && el.contains(hit);
}"""


def back_to_page(admin):
    """"Back to the page" (a link to the editor's #sections): the list is in view, not under
    the header."""
    admin.get_by_role("link", name="Back to the page").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(TITLE)
    admin.wait_for_function("() => !!window.htmx")
    first = admin.locator("#sections li.section-item .section-type").first
    expect(first).to_be_in_viewport()
    assert first.evaluate(UNCOVERED), "the first section, the #sections target, is hidden under the header"


# ---- 1. build, theme, publish, buy -------------------------------------------------------

def test_merchant_builds_themes_and_publishes_a_page_a_shopper_buys(app, db, company, live_server,
                                                                    new_context, shoot):
    from storefront.landing.models import LandingPage
    from storefront.themes.presets import PRESETS

    make_user(company, OWNER, PASSWORD)
    for title in (*PRODUCTS, LEFT_OUT):
        make_product(company, title=title, price_cents=3900, stock=30)
    dark = PRESETS["dark"].values

    context, axe_js = admin_context(new_context)
    admin = context.new_page()
    with_axe = axe_js is not None

    # (1) The real login form.
    sign_in(admin, live_server, OWNER, PASSWORD)

    # (2) A new page: list, form, editor.
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Pages", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Landing pages")
    axe(admin, "the pages list (empty)", with_axe)
    admin.get_by_role("link", name="New page").click()
    admin.get_by_label("Title").fill(TITLE)
    admin.get_by_label("Address").fill(SLUG)
    with admin.expect_navigation():
        admin.get_by_role("button", name="Create draft").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(admin.locator("#page-head .status-badge")).to_have_text("Draft")
    admin.wait_for_function("() => !!window.htmx")
    axe(admin, "the page editor (new draft)", with_axe)

    # The hero.
    add_section(admin, "hero", "Hero")
    admin.get_by_label(re.compile(r"^Heading\b")).fill(HERO)
    save_section(admin, "Hero")
    axe(admin, "the hero form", with_axe)
    back_to_page(admin)

    # The product grid: three products found by the active search.
    add_section(admin, "product_grid", "Product grid")
    grid = admin.locator("#grid-products li.grid-row")
    expect(grid).to_have_count(0)
    search = admin.get_by_label("Search your catalogue")
    for title, term in PRODUCTS.items():
        search.fill(term)
        row = admin.locator("#search-results li.result-row")
        expect(row).to_have_count(1)  # the results follow the typing (htmx, 300 ms debounce)
        expect(row.locator(".result-title")).to_have_text(title)
        row.get_by_role("button", name=f"Add {title}").click()
        expect(grid.filter(has_text=title)).to_have_count(1)
        expect(row.locator(".added-note")).to_have_text("In the grid")  # the result row, out of band
    expect(grid.locator(".result-title")).to_have_text(list(PRODUCTS))
    search.fill("")
    expect(admin.locator("#search-results li.result-row")).to_have_count(len(PRODUCTS) + 1)
    expect(admin.locator("#search-results li.result-row").filter(has_text=LEFT_OUT).get_by_role(
        "button", name=f"Add {LEFT_OUT}")).to_be_visible()
    axe(admin, "the product grid form", with_axe)
    back_to_page(admin)

    # The countdown: a deadline four days ahead, in the shop's timezone.
    add_section(admin, "countdown", "Countdown")
    deadline = datetime.now(ZoneInfo(company.timezone)).replace(second=0, microsecond=0) + timedelta(days=4)
    admin.get_by_label(re.compile(r"^Heading\b")).fill(COUNTDOWN)
    admin.get_by_label("Deadline", exact=True).fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    save_section(admin, "Countdown")
    expect(admin.get_by_label("Deadline", exact=True)).to_have_value(deadline.strftime("%Y-%m-%dT%H:%M"))
    axe(admin, "the countdown form", with_axe)
    back_to_page(admin)

    sections = admin.locator("#sections li.section-item .section-type")
    expect(sections).to_have_text(["Hero", "Product grid", "Countdown"])
    expect(admin.locator("#sections li.section-item").nth(2).locator(".section-summary")).to_contain_text("Ends ")
    axe(admin, "the page editor (three sections)", with_axe)
    shoot(admin, "admin-page-editor")

    # (3) The theme editor: the Dark preset, then a primary colour, live, without a reload.
    admin.get_by_role("link", name="Theme", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Theme")
    admin.wait_for_function("() => !!window.htmx")
    preview_button = admin.locator(PREVIEW_BUTTON).first
    drawer_preview = admin.locator(".theme-preview .drawer")
    classic = PRESETS["classic"].values
    expect(preview_button).to_have_css("background-color", rgb(classic["color-primary"]))
    axe(admin, "the theme editor (Classic)", with_axe)

    admin.evaluate("() => { window.__notReloaded = true; }")
    navigations = []
    admin.on("framenavigated", lambda frame: frame == admin.main_frame and navigations.append(frame.url))

    admin.get_by_role("radio", name=re.compile(r"^Dark\b")).check()
    # A preset switch redraws the whole editor (fields filled from the preset) over htmx.
    expect(admin.locator('#theme-form input[name="base_preset"]')).to_have_value("dark")
    primary = admin.locator("#f-color-primary")
    expect(primary).to_have_value(dark["color-primary"])
    expect(preview_button).to_have_css("background-color", rgb(dark["color-primary"]))
    expect(drawer_preview).to_have_css("background-color", rgb(dark["color-bg"]))

    primary.fill(PRIMARY_HEX)
    expect(admin.locator("#f-color-primary-picker")).to_have_value(PRIMARY_HEX)  # admin-theme.js
    expect(preview_button).to_have_css("background-color", PRIMARY_RGB)
    expect(drawer_preview.locator(".button-primary").first).to_have_css("background-color", PRIMARY_RGB)
    assert admin.evaluate("() => window.__notReloaded === true"), "the theme editor reloaded the page"
    assert navigations == [], f"the page navigated: {navigations}"
    shoot(admin, "admin-theme-editor")

    admin.get_by_role("button", name="Save theme").click()
    expect(admin.locator("#toasts")).to_contain_text("Theme saved.")
    expect(admin.locator("#f-color-primary")).to_have_value(PRIMARY_HEX)
    assert admin.evaluate("() => window.__notReloaded === true"), "saving the theme reloaded the page"
    db.session.expire_all()
    landing = db.session.execute(db.select(LandingPage).filter_by(slug=SLUG)).scalar_one()
    assert landing.theme["preset"] == "dark"
    assert landing.theme["overrides"].get("color-primary") == PRIMARY_HEX
    # The preview is inert (axe leaves it out): its 3.8:1 button text is the merchant's choice,
    # which the contrast report under it flags.
    expect(admin.locator(".contrast-warnings")).to_contain_text("Button text on primary")
    axe(admin, "the theme editor (saved)", with_axe)

    # (4) Publish.
    admin.get_by_role("link", name=f"← Back to {TITLE}").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(TITLE)
    admin.wait_for_function("() => !!window.htmx")
    admin.get_by_role("button", name="Publish", exact=True).click()
    head = admin.locator("#page-head")
    expect(head.locator(".status-badge")).to_have_text("Published")
    expect(head.get_by_role("link", name=f"/lp/{SLUG}")).to_be_visible()
    expect(admin.locator("#toasts")).to_contain_text("Published")
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Pages", exact=True).click()
    expect(admin.locator(".pages-table tbody tr").filter(has_text=TITLE)).to_contain_text("Published")
    axe(admin, "the pages list", with_axe)

    # The shopper, in another browser context.
    shopper = new_context().new_page()
    shopper.goto(f"{live_server}/lp/{SLUG}")
    expect(shopper.get_by_role("heading", level=1)).to_have_text(HERO)
    cards = shopper.locator("article.product-card")
    expect(cards.locator(".product-title")).to_have_text(list(PRODUCTS))
    expect(shopper.get_by_text(LEFT_OUT)).to_have_count(0)
    countdown = shopper.locator("section.countdown")
    expect(countdown.get_by_role("heading", level=2)).to_have_text(COUNTDOWN)
    expect(countdown.locator("[data-countdown-ticker]")).to_be_visible()  # countdown.js ticks
    expect(countdown.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    shopper.wait_for_function("() => !!window.htmx")
    shoot(shopper, "builder-landing")

    title = list(PRODUCTS)[1]
    add_button(cards.filter(has=shopper.get_by_role("heading", name=title, exact=True))).click()
    dialog = shopper.get_by_role("dialog", name="Your cart")
    expect(dialog).to_be_visible()
    expect(dialog.locator("li.cart-line .line-title")).to_have_text([title])
    expect(shopper.locator("#cart-drawer.is-open")).to_have_count(1)
    expect(dialog).to_have_css("background-color", rgb(dark["color-bg"]))
    expect(dialog.get_by_role("link", name="Check out")).to_have_css("background-color", PRIMARY_RGB)
    expect(dialog).to_have_css("transform", "none")  # slid in
    shoot(shopper, "builder-landing-drawer", full_page=False)


# ---- 2. axe-core on the other admin screens ------------------------------------------------

SCREENS = (
    ("/admin/", "Welcome back", None),
    ("/admin/products", "Products", ".product-table tbody tr"),
    ("/admin/promotions", "Promotions", ".ea-table tbody tr"),
    ("/admin/shipping", "Shipping & tax", None),
    ("/admin/carts", "Carts", ".ea-table tbody tr"),
    ("/admin/leads", "Leads", ".lead-table tbody tr"),
)


def test_admin_screens_have_no_serious_axe_issues(app, db, live_server, new_context):
    from storefront.accounts.models import Company
    from storefront.demo import DEMO_OWNER, seed_demo

    _landing, password = seed_demo(app.config["CATALOG_DATA_DIR"])
    demo = db.session.execute(db.select(Company).filter_by(slug="demo")).scalar_one()
    make_promotion(demo)
    make_promotion(demo, name="Summer 20", code="SUMMER20", percent_bp=2000)

    context, axe_js = admin_context(new_context, viewport={"width": 1280, "height": 900})
    if axe_js is None:
        pytest.skip("axe-core not found: set AXE_CORE_JS, or run `npm install axe-core@4` in /tmp or the repo")

    # A shopper's cart with a captured email, so the carts and leads lists have a row.
    shopper = new_context().new_page()
    shopper.goto(f"{live_server}{LANDING}")
    shopper.wait_for_function("() => !!window.htmx")
    add_button(simple_card(shopper)).click()
    expect(shopper.get_by_role("dialog", name="Your cart")).to_be_visible()
    shopper.goto(f"{live_server}/checkout")
    shopper.wait_for_function("() => !!window.htmx")
    type_and_tab(shopper, "email", "ada@example.com")

    admin = context.new_page()
    sign_in(admin, live_server, DEMO_OWNER, password)
    for path, heading, rows in SCREENS:
        response = admin.goto(f"{live_server}{path}")
        assert response is not None and response.ok, f"{path} answered {response and response.status}"
        expect(admin.get_by_role("heading", level=1)).to_have_text(heading)
        if rows:
            expect(admin.locator(rows).first).to_be_visible()
        for width, height in ((1280, 900), (390, 844)):
            admin.set_viewport_size({"width": width, "height": height})
            axe(admin, f"{path} at {width} px", True)
