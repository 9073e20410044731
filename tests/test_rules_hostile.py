"""hostile.toml: sarcasm and mockery without insult words, and the school posts that look like them (issue 12)."""
from __future__ import annotations

from tests.rule_checks import rule_categories, severities


def test_a_word_masked_after_its_first_letter_reads_as_profanity_not_as_a_sexual_word(engine):
    assert rule_categories(engine, "I s*** you not, the bus driver got lost for two hours.") == {"hostile"}
    assert "explicit" in rule_categories(engine, "Who's feeling s*xy tonight 😏")


def test_an_insult_beside_a_lesson_word_still_flags(engine):
    assert "hostile" in rule_categories(engine, "Kindness Week 💛 and the other team were total losers lol")


def test_one_weak_signal_of_talking_down_is_medium_and_a_clear_callout_high(engine):
    # one inferential rule hit the text model does not confirm is a single weak signal: never `high`
    assert severities(engine, "Some of our drivers treat the crosswalk lines as decorations.") == {"hostile": "medium"}
    assert severities(engine, "Their halftime show was definitely... a choice.") == {"hostile": "medium"}
    callout = "Two Grade 11s were caught vaping in the band room. You know who you are, and so does the office."
    assert severities(engine, callout)["hostile"] == "high"
