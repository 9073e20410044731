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


@pytest.mark.parametrize("text", [
    "Buzzer-beater! A three-point shot at the horn sends the Hawks to the final.",
    "Great action shot at the net from our yearbook photographer.",
    "Get your flu shot at the community clinic this Saturday.",
    "Culinary class served shrimp cocktail and a fruit cocktail parfait to the seniors.",
    "Les élèves ont préparé un cocktail de fruits pour la fête de classe.",
    "Our heritage fair booth served homemade spruce beer, a soft drink from the 1800s.",
    "Les 8e ont goûté à la bière d'épinette au cours d'histoire.",
    "Thank you to the 60 donors at our Pints for Life blood donor clinic!",
    "Still life in charcoal: a pear and a wine-bottle-shaped vase.",
])
def test_alcohol_look_alikes_stay_clean(engine, text):
    assert "substances" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "The losing staff team takes their consolation shots at the pub afterwards 🤣",
    "Gala night: a signature cocktail and a cash bar for the grown-ups.",
    "Cocktails et bouchées au souper-bénéfice des parents!",
    "Staff social at the taproom, first pint is on council.",
    "Tirage d'un panier de bières de microbrasserie!",
])
def test_the_drinks_those_words_name_still_flag(engine, text):
    assert "substances" in rule_categories(engine, text)
