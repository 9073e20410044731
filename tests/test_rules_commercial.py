"""endorsement_commercial.toml's promo codes (issue 12): a code is written in capitals or with a digit, not any word after "code"."""
from __future__ import annotations

import pytest

from tests.rule_checks import rule_categories


@pytest.mark.parametrize("text", [
    "Crack the code challenge is live: 12 cipher puzzles, one per day.",
    "Grade 5 wrote code together for the robotics showcase.",
])
def test_a_word_after_code_is_no_promo_code(engine, text):
    assert "endorsement_commercial" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Families: code HAWKS at Harmony Music this week!",
    "Northside Pizza: order online with code pizza25 tonight",
])
def test_a_code_in_capitals_or_with_a_digit_is_one(engine, text):
    assert "endorsement_commercial" in rule_categories(engine, text)
