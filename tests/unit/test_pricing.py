"""Promotions, tax and shipping: worked examples and hypothesis properties over the totals."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storefront.cart.info import CartInfo, LineInfo
from storefront.pricing.addresses import Address, postcode_matches
from storefront.pricing.checkout_totals import checkout_totals
from storefront.pricing.promotions import PricedLine, PromotionRule, apply_promotions
from storefront.pricing.shipping import ShippingMethodRule, ShippingZoneRule, method_cost
from storefront.pricing.tax import TaxRateRule, matching_rates, tax_on

US = Address("US", "TX", "78701", "Austin")
GB = Address("GB", "", "SW1A 1AA", "London")


def info(*specs, currency="USD"):
    """CartInfo from (variant_id, quantity, unit price, product_id, category ids) tuples."""
    lines = tuple(
        LineInfo(variant_id=v, product_title=f"P{v}", variant_label="", sku=None, image_src=None, image_alt="",
                 quantity=q, unit_price_cents=p, added_price_cents=p, compare_at_cents=None, available=None,
                 product_id=pid, category_ids=frozenset(cats), grams=500)
        for v, q, p, pid, cats in specs)
    return CartInfo(currency, lines)


def rate(id_, country, micro, priority=1, compound=False, state="", postcodes=(), shipping=True, position=0):
    return TaxRateRule(id=id_, country=country, state=state, postcodes=tuple(postcodes), cities=(),
                       rate_micro=micro, name="Tax", priority=priority, compound=compound,
                       applies_to_shipping=shipping, position=position)


def test_percentage_off_cart_is_spread_exactly_over_lines():
    rule = PromotionRule(1, "10%", "PERCENTAGE_OFF", percent_bp=1000, combinable=True)
    lines = [PricedLine(1, 1, frozenset(), 1, 999), PricedLine(2, 2, frozenset(), 1, 1)]

    result = apply_promotions([rule], lines, 0)

    assert result.lines_total == 100  # 10 % of 1000, rounded down
    assert sum(result.per_line.values()) == 100


def test_buy_two_get_one_frees_the_cheapest_units():
    rule = PromotionRule(1, "3 for 2", "BUY_X_GET_Y", scope="CATEGORY", buy_quantity=2, get_quantity=1,
                         category_ids=frozenset({7}))
    lines = [PricedLine(1, 1, frozenset({7}), 2, 2000), PricedLine(2, 2, frozenset({7}), 1, 1500),
             PricedLine(3, 3, frozenset({9}), 5, 100)]

    result = apply_promotions([rule], lines, 0)

    assert result.per_line == {2: 1500}


def test_non_combinable_best_single_beats_weaker_combination():
    small = PromotionRule(1, "$5", "FIXED_AMOUNT_OFF", amount_cents=500, combinable=True)
    big = PromotionRule(2, "20%", "PERCENTAGE_OFF", percent_bp=2000, combinable=False)
    lines = [PricedLine(1, 1, frozenset(), 1, 10000)]

    result = apply_promotions([small, big], lines, 0)

    assert [rule.id for rule, _ in result.applied] == [2] and result.lines_total == 2000


def test_minimum_subtotal_and_free_shipping():
    free = PromotionRule(1, "Free ship", "FREE_SHIPPING", scope="SHIPPING", min_subtotal_cents=5000, combinable=True)
    assert apply_promotions([free], [PricedLine(1, 1, frozenset(), 1, 4999)], 700).shipping_cents == 0
    assert apply_promotions([free], [PricedLine(1, 1, frozenset(), 1, 5000)], 700).shipping_cents == 700


def test_woocommerce_sample_rates_priority_and_compound():
    rates = [rate(1, "GB", 200000), rate(2, "US", 100000, compound=True),
             rate(3, "US", 20000, priority=2, compound=True, state="AL", postcodes=("12345", "123456"))]
    assert [r.id for r in matching_rates(rates, GB)] == [1]
    alabama = Address("US", "AL", "12345", "")
    assert [r.id for r in matching_rates(rates, alabama)] == [2, 3]
    # 10 % then 2 % compound on the taxed amount: 1000 → 1100 → 1122.
    assert tax_on(1000, matching_rates(rates, alabama), prices_include_tax=False) == 122
    assert matching_rates(rates, Address("FR")) == []


def test_inclusive_vat_is_extracted_and_rounded_half_up():
    vat = [rate(1, "GB", 200000)]
    assert tax_on(1200, vat, prices_include_tax=True) == 200
    assert tax_on(999, vat, prices_include_tax=True) == 167  # 999 − 832.5 = 166.5 → 167
    assert tax_on(999, vat, prices_include_tax=False) == 200  # 199.8 → 200


def test_postcode_patterns():
    assert postcode_matches(("902*",), "90210") and not postcode_matches(("902*",), "91210")
    assert postcode_matches(("10000...10999",), "10500") and not postcode_matches(("10000...10999",), "11000")
    assert postcode_matches(("SW1A 1AA",), "sw1a1aa") and postcode_matches((), "anything")


def test_shipping_method_costs():
    assert method_cost(ShippingMethodRule(1, "Flat", "FLAT_RATE", amount_cents=595), 3, 0, 100) == 595
    assert method_cost(ShippingMethodRule(1, "Item", "PER_ITEM", amount_cents=200), 3, 0, 100) == 600
    assert method_cost(ShippingMethodRule(1, "Kg", "WEIGHT_BASED", amount_cents=300, per_kg_cents=150), 1, 2100, 0) == 750
    tiers = ShippingMethodRule(1, "Tiered", "PRICE_BASED", amount_cents=900, tiers=((5000, 500), (10000, 0)))
    assert [method_cost(tiers, 1, 0, s) for s in (100, 5000, 12000)] == [900, 500, 0]


def test_totals_with_zone_shipping_tax_and_code():
    zone = ShippingZoneRule(1, "US", ("US",), (), (), (
        ShippingMethodRule(10, "Standard", "FLAT_RATE", amount_cents=595),
        ShippingMethodRule(11, "Free", "FREE", free_above_cents=7500)))
    code = PromotionRule(5, "SAVE10", "PERCENTAGE_OFF", code="SAVE10", percent_bp=1000, combinable=True)
    cart = info((1, 2, 2000, 1, ()), (2, 1, 4500, 2, ()))

    totals = checkout_totals(cart, rules=[code], zones=[zone], tax_rates=[rate(1, "US", 100000)],
                             address=US, shipping_method_id=10)

    assert totals.subtotal_cents == 8500 and totals.discount_cents == 850
    assert [o.method.id for o in totals.shipping_options] == [10, 11]
    assert totals.shipping_cents == 595
    assert totals.tax_cents == sum(totals.line_tax.values()) + totals.shipping_tax_cents == 765 + 60
    assert totals.total_cents == 7650 + 595 + 825
    assert totals.ready_to_pay


def test_no_zone_blocks_and_no_zones_means_free_shipping():
    zone = ShippingZoneRule(1, "US", ("US",), (), (), (ShippingMethodRule(10, "Std", "FLAT_RATE", amount_cents=595),))
    cart = info((1, 1, 1000, 1, ()))
    assert checkout_totals(cart, zones=[zone], address=Address("FR")).no_zone
    unrestricted = checkout_totals(cart, address=Address("FR"))
    assert unrestricted.ready_to_pay and unrestricted.total_cents == 1000


money = st.integers(min_value=0, max_value=500_000)
line_specs = st.lists(st.tuples(st.integers(1, 20), money, st.integers(1, 4), st.sets(st.integers(1, 3), max_size=2)),
                      min_size=1, max_size=6)
rules = st.lists(st.builds(
    PromotionRule, id=st.integers(1, 99), name=st.just("r"),
    type=st.sampled_from(["PERCENTAGE_OFF", "FIXED_AMOUNT_OFF", "BUY_X_GET_Y", "FREE_SHIPPING"]),
    scope=st.sampled_from(["CART", "PRODUCT", "CATEGORY", "SHIPPING"]),
    percent_bp=st.integers(-500, 15_000), amount_cents=st.integers(0, 100_000),
    min_subtotal_cents=st.integers(0, 50_000), buy_quantity=st.integers(0, 3), get_quantity=st.integers(0, 2),
    product_ids=st.frozensets(st.integers(1, 4), max_size=2), category_ids=st.frozensets(st.integers(1, 3), max_size=2),
    combinable=st.booleans()), max_size=4)


@settings(max_examples=300, deadline=None)
@given(specs=line_specs, promos=rules, shipping=st.integers(0, 3000), tax_micro=st.integers(0, 300_000),
       inclusive=st.booleans(), compound=st.booleans())
def test_total_properties(specs, promos, shipping, tax_micro, inclusive, compound):
    cart = info(*[(i + 1, q, p, pid, cats) for i, (q, p, pid, cats) in enumerate(specs)])
    zone = ShippingZoneRule(1, "US", ("US",), (), (), (ShippingMethodRule(10, "Std", "FLAT_RATE", amount_cents=shipping),))
    tax = [rate(1, "US", tax_micro, compound=compound)]

    totals = checkout_totals(cart, rules=promos, zones=[zone], tax_rates=tax, address=US, shipping_method_id=10,
                             prices_include_tax=inclusive)

    assert totals.total_cents >= 0
    for line in cart.lines:
        assert 0 <= totals.discounts.per_line.get(line.variant_id, 0) <= line.line_total_cents
        net = line.line_total_cents - totals.discounts.per_line.get(line.variant_id, 0)
        assert totals.line_tax[line.variant_id] == tax_on(net, matching_rates(tax, US), inclusive)
    assert 0 <= totals.shipping_discount_cents <= totals.shipping_cents
    parts = totals.merchandise_cents + totals.shipping_after_discount_cents + (0 if inclusive else totals.tax_cents)
    assert totals.total_cents == parts
    assert totals.discount_cents == sum(totals.discounts.per_line.values())


def test_cheapest_method_is_preselected():
    zone = ShippingZoneRule(1, "US", ("US",), (), (), (
        ShippingMethodRule(10, "Express", "FLAT_RATE", amount_cents=1500),
        ShippingMethodRule(11, "Standard", "FLAT_RATE", amount_cents=595)))
    totals = checkout_totals(info((1, 1, 1000, 1, ())), zones=[zone], address=US)
    assert totals.shipping_method.id == 11 and totals.ready_to_pay
