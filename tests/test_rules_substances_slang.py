"""substances.toml: drinks and bars named by their names and slang, and the school posts that share the words (issue 12)."""
from __future__ import annotations

from tests.rule_checks import labels, rule_categories


# -- issue 12, blind-written misses: drinking without the usual words, and prevention posts that name a vape ----------

def test_a_drink_beside_a_woozy_face_is_not_vetoed_by_the_model(engine):
    """The bottle emoji alone is a weak hit the model drops here; beside the woozy face it is firm."""
    assert "substances" in labels(engine, "won the tournament and celebrated properly 🥴🍾 heads hurting today")


def test_a_health_framing_about_vaping_does_not_excuse_a_beer_garden(engine):
    """The PSA's harms cancel the vaping rule post-wide, not the alcohol rules: the framing names what it is about."""
    assert "substances" in rule_categories(engine, "Our PSA on vaping-related lung injury is live. Beer garden opens at noon!")


def test_a_warning_not_to_vape_is_no_finding_of_the_rules(engine):
    assert "substances" not in rule_categories(engine, "Don't vape, kids: our nurse explains why on Friday.")


