"""Exceptions tied to what they cancel (issue 12): a prevention framing or a look-alike word
elsewhere in the post must not cancel a real promotion; the same framing about the same thing
still does."""
from __future__ import annotations

import pytest

from auditors.base import AuditContext
from auditors.substances import SubstancesAuditor
from records.model import Post
from schoolaudit.commands.classify import load
from schoolaudit.config import DEFAULT_CONFIG_DIR


@pytest.fixture(scope="module")
def substances():
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    auditor = next(a for a in auditors if isinstance(a, SubstancesAuditor))
    return lambda text: [f.evidence for f in auditor.audit(Post("a", "x", "1", None, None, text), AuditContext(policy))]


@pytest.mark.parametrize("text, evidence", [
    ("Free pints for parents at the fundraiser! Our vaping awareness week starts Monday.",
     "Free pints for parents at the fundraiser!"),  # a framing about another substance
    ("Staff social at the brewery Friday! Thanks to MADD for their assembly this week.",
     "Staff social at the brewery Friday!"),
    ("Wine raffle tickets on sale at the office! Remember: drinking and driving is never OK.",
     "Wine raffle tickets on sale at the office!"),
    ("Beer garden after the game for parents! The kids' zone has mocktails.", "Beer garden after the game for parents!"),
    ("Non-alcoholic beer for the kids and craft beer for the grown-ups!",
     "Non-alcoholic beer for the kids and craft beer for the grown-ups!"),
])
def test_a_framing_or_decoy_about_something_else_does_not_cancel_a_promotion(substances, text, evidence):
    assert substances(text) == [evidence]


@pytest.mark.parametrize("text", [
    "Vaping awareness assembly tomorrow with Public Health. One pod can hold as much nicotine as a pack of cigarettes.",
    "Alcohol awareness week: beer ads are everywhere, and they target teens.",
    "Impaired driving talk today: one beer is enough to slow your reactions.",  # the framing in the term's sentence
    "Non-alcoholic beer and sparkling juice at the family dance.",
    "Root beer floats at the fun fair!",
])
def test_a_framing_about_the_same_thing_still_cancels(substances, text):
    assert substances(text) == []


@pytest.mark.parametrize("text, flagged", [
    ("Half the staff room looked hungover after Friday's social 😅", True),
    ("Gin tasting for the grown-ups at the spring gala!", True),
    ("Lanterns hung over the gym doors for the winter concert.", False),  # two words: no drink
    ("Grade 8 learned how the cotton gin changed farming.", False),
    ("Grade 2 trip to the orchard: apple picking and cider tasting!", False),  # an orchard's cider is apple juice
])
def test_a_hangover_or_a_spirit_tasting_is_alcohol(substances, text, flagged):
    assert substances(text) == ([text] if flagged else [])
