"""The rules of the co-purchase count behind "Frequently bought together"
(``checkout.co_purchase``) and of the drawer's pick of partners (``cart.together``)."""
from __future__ import annotations

from storefront.cart.together import MAX_CANDIDATES, candidates
from storefront.checkout.co_purchase import count_pairs, pair_rows


def test_each_order_counts_a_pair_once_whatever_the_lines():
    # Order 1 holds product 1 twice (two sizes): still one basket of {1, 2}.
    counts = count_pairs([[1, 2, 1], [2, 1], [1, 3], [4]])
    assert counts == {(1, 2): 2, (1, 3): 1}


def test_a_single_product_order_counts_nothing():
    assert count_pairs([[7], [7, 7], []]) == {}


def test_only_pairs_of_two_orders_or_more_are_kept_in_both_directions():
    rows = pair_rows(count_pairs([[1, 2], [1, 2, 3], [2, 3]]))
    assert rows == [(1, 2, 2), (2, 1, 2), (2, 3, 2), (3, 2, 2)]
    assert pair_rows(count_pairs([[1, 2]])) == []  # one order together is chance
    assert pair_rows(count_pairs([[1, 2]]), minimum=1) == [(1, 2, 1), (2, 1, 1)]


def test_partners_come_most_bought_first_without_the_cart_and_the_skipped():
    pairs = {1: [(5, 9), (2, 4), (6, 4)], 2: [(6, 7), (1, 4)], 3: [(8, 2)]}
    # 6 counts its best pair (7 with product 2); 1 and 2 are in the cart; 5 is the upsell's.
    assert candidates(pairs, [1, 2]) == [5, 6]
    assert candidates(pairs, [1, 2], skip=[5]) == [6]
    assert candidates(pairs, [9]) == []
    many = {1: [(n, 100 - n) for n in range(2, 60)]}
    assert candidates(many, [1]) == list(range(2, 2 + MAX_CANDIDATES))
