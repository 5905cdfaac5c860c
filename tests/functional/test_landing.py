"""GET /lp/<slug>: published pages, visits with UTM attribution, cookies and the grid."""
from __future__ import annotations

from factories import make_page, make_product

from storefront.visits.models import Visit, VisitEvent


def test_published_page_renders_products_with_sale_badge_and_low_stock(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=1500, compare_at_cents=2000, stock=3)
    hoodie = make_product(company, "Hoodie", price_cents=4500,
                          variants=[{"Size": "S"}, {"Size": "M"}])
    make_page(company, [tee, hoodie])

    response = client.get("/lp/summer-sale")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Classic Tee" in html and "Hoodie" in html
    assert "−25%" in html
    assert "Only 3 left" in html
    # Their catalogue images are not fetched yet: placeholders, never the remote URL.
    assert "example.invalid" not in html and html.count('class="image-placeholder"') == 2
    assert ">S</span>" in html and ">M</span>" in html
    assert "$15.00" in html and "$20.00" in html
    assert "HX-Request" in response.headers["Vary"]


def test_sold_out_product_shows_out_of_stock_and_no_add_button(client, db, company):
    gone = make_product(company, "Gone Tee", stock=0)
    make_page(company, [gone])

    html = client.get("/lp/summer-sale").get_data(as_text=True)

    assert "Out of stock" in html
    assert "Add to cart<span class=\"visually-hidden\">: Gone Tee" not in html


def test_draft_and_unknown_pages_answer_404(client, db, company):
    make_page(company, [], slug="secret", status="draft")

    assert client.get("/lp/secret").status_code == 404
    assert client.get("/lp/nope").status_code == 404
    assert client.get("/lp/" + "x" * 500).status_code == 404


def test_first_view_starts_a_visit_with_utm_and_hashed_ip(client, db, company):
    make_page(company, [make_product(company)])

    response = client.get(
        "/lp/summer-sale?utm_source=newsletter&utm_medium=email&utm_campaign=june&utm_term=tee&utm_content=hero",
        headers={"Referer": "https://mail.example.com/", "User-Agent": "TestBrowser/1.0"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )

    visit = db.session.execute(db.select(Visit)).scalar_one()
    assert (visit.utm_source, visit.utm_medium, visit.utm_campaign, visit.utm_term, visit.utm_content) == (
        "newsletter", "email", "june", "tee", "hero")
    assert visit.referrer == "https://mail.example.com/"
    assert visit.user_agent == "TestBrowser/1.0"
    assert visit.ip_hash and "203.0.113.9" not in visit.ip_hash and len(visit.ip_hash) == 64
    assert visit.started_at.tzinfo is not None
    assert len(visit.token) >= 43
    cookies = response.headers.getlist("Set-Cookie")
    visit_cookie = next(c for c in cookies if c.startswith("sf_visit="))
    assert "HttpOnly" in visit_cookie and "SameSite=Lax" in visit_cookie
    assert any(c.startswith("sf_vid=") and "HttpOnly" in c for c in cookies)
    events = db.session.execute(db.select(VisitEvent)).scalars().all()
    assert [e.type for e in events] == ["page_view"]


def test_reload_keeps_the_visit_and_new_campaign_starts_a_new_one(client, db, company):
    make_page(company, [make_product(company)])

    client.get("/lp/summer-sale?utm_source=newsletter")
    client.get("/lp/summer-sale")
    assert db.session.execute(db.select(db.func.count(Visit.id))).scalar() == 1

    client.get("/lp/summer-sale?utm_source=facebook")
    visits = db.session.execute(db.select(Visit).order_by(Visit.id)).scalars().all()
    assert [v.utm_source for v in visits] == ["newsletter", "facebook"]
    assert visits[0].visitor_id == visits[1].visitor_id


def test_overlong_utm_values_are_trimmed_not_refused(client, db, company):
    make_page(company, [make_product(company)])

    response = client.get("/lp/summer-sale?utm_source=" + "a" * 5000)

    assert response.status_code == 200
    assert len(db.session.execute(db.select(Visit)).scalar_one().utm_source) == 200


def test_security_headers_and_csp(client, db, company):
    make_page(company, [make_product(company)])

    response = client.get("/lp/summer-sale")

    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_cached_page_is_dropped_when_it_changes_in_this_process(app, client, db, company):
    app.config["SECTION_CACHE_SECONDS"] = 60
    tee = make_product(company, "Classic Tee", price_cents=1500)
    page = make_page(company, [tee])
    assert "$15.00" in client.get("/lp/summer-sale").get_data(as_text=True)

    tee.variants[0].price_cents = 1200
    db.session.commit()
    assert "$12.00" in client.get("/lp/summer-sale").get_data(as_text=True)

    page.status = "draft"
    db.session.commit()
    assert client.get("/lp/summer-sale").status_code == 404
