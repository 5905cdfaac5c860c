"""The visitor's country from a proxy header (countries.header_country) and the shipping line
for that country (pricing.ship_to.ship_to_country): pure, no database."""
from __future__ import annotations

import pytest

from storefront.countries import header_country
from storefront.pricing.ship_to import ship_to_country
from storefront.pricing.shipping import ShippingMethodRule, ShippingZoneRule


@pytest.mark.parametrize("value, code", [
    ("DE", "DE"), ("de", "DE"), (" gb ", "GB"), ("US", "US"),
    (None, None), ("", None), ("XX", None), ("T1", None), ("ZZ", None), ("EU", None),
    ("D", None), ("DEU", None), ("D1", None), ("ＤＥ", None), ("D\x00", None), ("Ü1", None),
    ("<script>", None), ("DE" * 500, None), ("QQ", None),
])
def test_header_country(value, code):
    assert header_country(value) == code


def _method(id_, type_="FLAT_RATE", amount=490, free_above=0, days=(None, None)):
    return ShippingMethodRule(id=id_, name=f"m{id_}", type=type_, amount_cents=amount, free_above_cents=free_above,
                              min_days=days[0], max_days=days[1])


def _zone(id_, countries, methods, states=(), postcodes=()):
    return ShippingZoneRule(id=id_, name=f"z{id_}", countries=tuple(countries), states=tuple(states),
                            postcodes=tuple(postcodes), methods=tuple(methods))


EU = _zone(1, ["DE", "FR"], [_method(1, amount=490, days=(2, 4)), _method(2, amount=1290, days=(1, 2)),
                              _method(3, "FREE", 0, free_above=5000, days=(3, 6))])
US = _zone(2, ["US"], [_method(4, amount=995, days=(5, 9))])


def test_cheapest_offered_method_and_the_estimate_across_them():
    line = ship_to_country([US, EU], "DE")
    assert (line.ships, line.from_cents, line.free_above_cents, line.min_days, line.max_days) == (
        True, 490, 5000, 1, 4)
    assert line.country_name == "Germany"


def test_above_the_free_threshold_it_is_free():
    line = ship_to_country([EU], "FR", item_count=2, subtotal_cents=6000)
    assert (line.from_cents, line.min_days, line.max_days) == (0, 1, 6)


def test_a_country_no_zone_serves():
    line = ship_to_country([US, EU], "JP")
    assert not line.ships and line.from_cents is None and line.country_name == "Japan"


def test_rest_of_world_serves_any_country_and_later_zones_are_not_reached():
    world = _zone(3, [], [_method(5, amount=2500)])
    assert ship_to_country([world, EU], "DE").from_cents == 2500
    assert ship_to_country([EU, world], "DE").from_cents == 490
    line = ship_to_country([EU, world], "JP")
    assert line.ships and line.from_cents == 2500 and line.min_days is None


def test_a_region_zone_counts_with_the_whole_country_zone_after_it():
    islands = _zone(4, ["DE"], [_method(6, amount=1990, days=(4, 8))], postcodes=["18565"])
    line = ship_to_country([islands, EU], "DE")
    assert (line.from_cents, line.min_days, line.max_days) == (490, 1, 8)
    other_state = _zone(5, ["US"], [_method(7, amount=1)], states=["US:HI"])
    assert ship_to_country([other_state, EU], "DE").from_cents == 490


def test_only_a_free_method_with_a_threshold():
    only_free = _zone(6, ["NL"], [_method(8, "FREE", 0, free_above=3000)])
    line = ship_to_country([only_free], "NL")
    assert line.ships and line.from_cents is None and line.free_above_cents == 3000
