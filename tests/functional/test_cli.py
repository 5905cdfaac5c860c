"""The flask commands: catalogue import (dry run, errors) and the demo seed."""
from __future__ import annotations

from factories import CATALOG_DIR

from storefront.catalog.models import Product
from storefront.landing.models import LandingPage

WOO = CATALOG_DIR / "woocommerce" / "sample_products.csv"


def test_catalog_import_dry_run_then_real(app, db, company):
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["catalog", "import", str(WOO), "--company", "acme", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create" in dry.output and "dry run: nothing was changed" in dry.output
    assert db.session.execute(db.select(db.func.count(Product.id))).scalar() == 0

    real = runner.invoke(args=["catalog", "import", str(WOO), "--company", "acme", "--format", "woocommerce"])
    assert real.exit_code == 0, real.output
    assert db.session.execute(db.select(db.func.count(Product.id))).scalar() == 18


def test_catalog_import_errors_are_clear(app, db, company, tmp_path):
    runner = app.test_cli_runner()
    tax = CATALOG_DIR / "woocommerce" / "sample_tax_rates.csv"

    wrong_file = runner.invoke(args=["catalog", "import", str(tax), "--company", "acme"])
    unknown = runner.invoke(args=["catalog", "import", str(WOO), "--company", "nobody"])

    assert wrong_file.exit_code != 0 and "sample_tax_rates.csv" in wrong_file.output
    assert unknown.exit_code != 0 and "no merchant" in unknown.output


def test_demo_seed_is_idempotent_and_publishes_summer_sale(app, db, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "owner@demo.test" in second.output
    page = db.session.execute(db.select(LandingPage)).scalar_one()
    assert page.slug == "summer-sale" and page.status == "published"
    assert [s.type for s in page.sections] == ["hero", "product_grid"]
    html = client.get("/lp/summer-sale").get_data(as_text=True)
    assert "V-Neck T-Shirt" in html and "Hoodie" in html


def test_tax_import_of_the_woocommerce_sample(app, db, company, tmp_path):
    from storefront.pricing.models import TaxRate

    runner = app.test_cli_runner()
    path = CATALOG_DIR / "woocommerce" / "sample_tax_rates.csv"

    result = runner.invoke(args=["tax", "import", str(path), "--company", "acme"])

    assert result.exit_code == 0, result.output
    rates = db.session.execute(db.select(TaxRate).order_by(TaxRate.position)).scalars().all()
    assert [(r.country, r.rate_micro, r.tax_class) for r in rates] == [
        ("GB", 200000, ""), ("GB", 50000, "reduced-rate"), ("GB", 0, "zero-rate"), ("US", 100000, ""), ("US", 20000, "")]
    assert rates[4].state == "AL" and rates[4].postcodes == ["12345", "123456"] and rates[4].priority == 2
    assert all(r.compound and r.applies_to_shipping for r in rates)

    broken = tmp_path / "broken.csv"
    broken.write_text(path.read_text(encoding="utf-8-sig").replace("10.0000", "ten"))
    failed = runner.invoke(args=["tax", "import", str(broken), "--company", "acme"])
    assert failed.exit_code != 0 and "line 5, column 5 (Rate %)" in failed.output
    assert db.session.execute(db.select(db.func.count(TaxRate.id))).scalar() == 5
