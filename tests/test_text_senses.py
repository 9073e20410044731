"""Look-alike words used innocently, and exceptions tied to the term they cancel (issue 12)."""
from __future__ import annotations

import pytest

from schoolaudit.commands.classify import classify, load
from schoolaudit.config import DEFAULT_CONFIG_DIR
from schoolaudit.corpus import record_to_post


@pytest.fixture(scope="module")
def engine():
    return load(str(DEFAULT_CONFIG_DIR))


def labels(engine, text: str) -> list[str]:
    post, account = record_to_post({"id": "p", "text": text, "image_alt": [], "repost_of": None})
    return classify(post, account, *engine)["labels"]


def rule_labels(engine, text: str) -> list[str]:
    """Categories the rules find (the statistical model's findings left out)."""
    post, account = record_to_post({"id": "p", "text": text, "image_alt": [], "repost_of": None})
    return [f["category"] for f in classify(post, account, *engine)["findings"] if "statistical model" not in f["explanation"]]


def severities(engine, text: str) -> dict[str, str]:
    post, account = record_to_post({"id": "p", "text": text, "image_alt": [], "repost_of": None})
    return {f["category"]: f["severity"] for f in classify(post, account, *engine)["findings"]}


@pytest.mark.parametrize("text", [
    "Winter concert: Dance of the Snowflakes by the grade 2 choir, Thursday at 6!",
    "Les élèves ont décoré le bulletin board du corridor pour l'Halloween.",
    "Maya Thompson in Grade 5 raised $400 for the Canadian Cancer Society! Thank you to everyone who donated.",
    "Root beer floats for everyone at the Grade 8 celebration 🍺",
    "What a joint effort by staff and students at the food drive!",
    "Thanks to Mr. Patel for bringing his Ford Mustang to auto shop; students will support the car show.",
    "Congratulations to Liam Ford, who will be back to defend his title at regionals!",
    "Non-alcoholic beer and juice boxes at the family BBQ.",
    "Bière sans alcool et jus pour tous au pique-nique.",
    "Our compost pile hit 62°C today 🔥 Hot composting kills weed seeds and pathogens.",
    "New wine-and-gold rugby jerseys are in! Go Bengals!",
    "Grade 4 immersion cracked le code secret today in our escape-box puzzle.",
])
def test_a_look_alike_word_used_innocently_is_not_flagged_by_the_rules(engine, text):
    assert rule_labels(engine, text) == []


@pytest.mark.parametrize("text", [
    "Staff social at Red Barn Brewery Friday, craft beer and mocktails, see you there!",
    "Parents' wine night Friday! Remember safety first and get home safe.",
    "Beer garden at the fun fair for the grown-ups 🍻 Never drive impaired!",
    "Wine and cheese for the parents, non-alcoholic punch for the kids!",
])
def test_a_decoy_word_elsewhere_does_not_cancel_a_real_alcohol_promotion(engine, text):
    assert "substances" in labels(engine, text)


def test_a_snowflake_aimed_at_people_is_still_an_insult(engine):
    assert "hostile" in labels(engine, "Some of you precious snowflakes need to toughen up about pickup rules.")


def test_a_leader_named_by_surname_alone_is_a_weaker_signal_than_a_vote_instruction(engine):
    assert severities(engine, "Ford's cuts are hurting our classrooms.") == {"endorsement_political": "medium"}
    assert severities(engine, "Vote Ford out on June 2!")["endorsement_political"] == "high"


def test_a_drink_emoji_alone_is_a_weaker_signal(engine):
    assert severities(engine, "Staff party tonight 🍻")["substances"] == "medium"


@pytest.mark.parametrize("text", [
    "so proud of jordan ellis in grade 4 who got a 98% average this term!",
    "CONGRATS TO MAYA SINGH WHO IS BACK AFTER HER SURGERY!!",
    "reminder: your son liam needs his epipen at school every day",
])
def test_privacy_rules_read_a_post_without_case(engine, text):
    post, account = record_to_post({"id": "p", "text": text, "image_alt": [], "repost_of": None})
    rule_findings = [f for f in classify(post, account, *engine)["findings"] if "statistical model" not in f["explanation"]]
    assert [f["category"] for f in rule_findings] == ["privacy"]


@pytest.mark.parametrize("text", ["GET WELL SOON TO OUR CUSTODIAN BOB, WE MISS YOU", "PIZZA LUNCH FRIDAY! ORDER FORMS DUE THURSDAY."])
def test_a_post_in_capitals_does_not_turn_every_word_into_a_name(engine, text):
    assert labels(engine, text) == []
