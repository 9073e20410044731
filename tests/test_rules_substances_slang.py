"""substances.toml: drinks and bars named by their names and slang, and the school posts that share the words (issue 12)."""
from __future__ import annotations

import pytest

from tests.test_text_senses import engine, rule_categories  # noqa: F401 (the shared fixture)


@pytest.mark.parametrize("text", [
    "Staff social Friday at the Riverside Taphouse, first pitcher of lager is on council!",
    "Silent auction: a case of merlot and two bottles of bubbly from a local winery.",
    "Parents' euchre night: bring a two-four and a snack to share.",
    "Golf fundraiser: the beverage cart will be stocked and the 19th hole awaits.",
    "Fin d'année: on lève nos verres à notre équipe! Une pinte au resto après.",
    "Winter fair adults' tent: mulled wine and a splash of schnapps for the grown-ups.",
    "Staff retreat ends with a cidery tour and a free tasting.",
    "Mr. Lee says 'hydrate' but he means barley and hops 😂",
    "Prom is a 420-friendly zone lol",
    "Book club picks for the staff room: Pink Kush and Blue Dream.",
])
def test_drinks_and_bars_by_their_names_and_slang_are_substances(engine, text):
    assert "substances" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Congrats to our bubbly grade 2 class on their spelling bee!",
    "Our volleyball girls spiked their way to gold!",
    "Let's raise a glass of milk to our grade 1 readers!",
    "Sock hops and bunny hops in gym class today!",
    "The grade 3s tasted apple cider vinegar and honey in science today.",
])
def test_school_posts_sharing_the_words_stay_clean(engine, text):
    assert "substances" not in rule_categories(engine, text)
