"""The dunning message variants' rules (billing.message_variants): which variant a notice
sends (most specific first, ties rotated by invoice, none: the built-in words), and the
placeholders a subject or body may use, filled in one pass."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from storefront.billing import declines
from storefront.billing.dunning import NOTICES
from storefront.billing.message_variants import (
    ANY,
    FIRST,
    NOTICE_LABELS,
    REPEAT,
    Situation,
    choose,
    fill,
    missing_required,
    placeholder_errors,
    words,
)


def variant(id, notice="first_failure", decline_class=ANY, history=ANY, plan_id=None, active=True):
    return SimpleNamespace(id=id, notice=notice, decline_class=decline_class, history=history, plan_id=plan_id,
                           active=active, subject="s", body="b")


def situation(notice="first_failure", decline_class=declines.SOFT, failed_before=False, plan_id=7, invoice_id=1):
    return Situation(notice, decline_class, failed_before, plan_id, invoice_id)


def test_every_dunning_notice_can_have_variants():
    assert set(NOTICE_LABELS) == set(NOTICES)


def test_none_matching_falls_back_to_the_built_in_words():
    assert choose([], situation()) is None
    others = [variant(1, notice="final_notice"), variant(2, decline_class=declines.HARD),
              variant(3, history=REPEAT), variant(4, plan_id=8), variant(5, active=False)]
    assert choose(others, situation()) is None


def test_the_most_specific_match_wins():
    general = variant(1)
    soft = variant(2, decline_class=declines.SOFT)
    soft_first = variant(3, decline_class=declines.SOFT, history=FIRST)
    plan_soft_first = variant(4, decline_class=declines.SOFT, history=FIRST, plan_id=7)
    pool = [general, soft, soft_first, plan_soft_first]
    assert choose(pool, situation()) is plan_soft_first
    assert choose(pool[:3], situation()) is soft_first
    assert choose(pool[:3], situation(failed_before=True)) is soft  # FIRST no longer fits
    assert choose(pool, situation(decline_class=declines.HARD)) is general
    # No decline (a recovered payment with no failure class): only ANY variants fit.
    assert choose([variant(9, notice="recovered"), variant(10, notice="recovered", decline_class=declines.SOFT)],
                  situation(notice="recovered", decline_class=None)).id == 9


def test_ties_take_turns_by_invoice_in_id_order():
    a, b, c = variant(30), variant(10), variant(20)
    picks = [choose([a, b, c], situation(invoice_id=n)).id for n in range(6)]
    assert picks == [10, 20, 30, 10, 20, 30]
    # The same invoice always gets the same variant, whatever the order they come in.
    assert choose([c, b, a], situation(invoice_id=4)).id == choose([a, b, c], situation(invoice_id=4)).id == 20


@pytest.mark.parametrize("text", ["Hi {customer_name}, {amount} for {plan} at {shop}.",
                                  "Next try {next_try}. Update: {update_link}", "No placeholder at all", ""])
def test_known_placeholders_are_accepted(text):
    assert placeholder_errors(text) is None


@pytest.mark.parametrize("text,says", [
    ("Hello {name}", "Unknown placeholder {name}"),
    ("{amount.__class__}", "Unknown placeholder"),
    ("{0}", "Unknown placeholder {0}"),
    ("{}", "Unknown placeholder {}"),
    ("Pay {amount now", "A brace opens or closes no placeholder"),
    ("Pay amount} now", "A brace opens or closes no placeholder"),
    ("{{amount}}", "A brace opens or closes no placeholder"),
])
def test_unknown_or_stray_placeholders_are_refused(text, says):
    assert says in (placeholder_errors(text) or "")


def test_values_are_filled_once_and_missing_ones_are_empty():
    values = {"customer_name": "{amount} Bob", "amount": "$18.00", "next_try": None}
    assert fill("Hi {customer_name}: {amount}. Next: {next_try}.", values) == "Hi {amount} Bob: $18.00. Next: ."


def test_words_keep_the_subject_on_one_line_and_split_paragraphs():
    v = SimpleNamespace(subject="About {plan}", body="First {amount}.\n\n\nSecond line\nstill second.\n\n")
    subject, paragraphs = words(v, {"plan": "Coffee\r\nBcc: x@y.z", "amount": "$5.00"})
    assert subject == "About Coffee Bcc: x@y.z" and "\n" not in subject
    assert paragraphs == ["First $5.00.", "Second line\nstill second."]


def test_a_final_notice_must_say_what_happened():
    assert "include {what_happened}" in missing_required("final_notice", "We tried. Bye.")
    assert missing_required("final_notice", "We tried: {what_happened}") is None
    assert missing_required("first_failure", "No need here.") is None
    untold = variant(1, notice="final_notice")
    told = SimpleNamespace(**{**vars(variant(2, notice="final_notice")), "body": "Sorry. {what_happened}"})
    assert choose([untold], situation(notice="final_notice")) is None
    assert choose([untold, told], situation(notice="final_notice")) is told
