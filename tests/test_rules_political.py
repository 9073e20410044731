"""endorsement_political.toml: campaign work, a party's float, a candidate's own words, and the civic posts
that look like them (issue 12)."""
from __future__ import annotations

import pytest

from tests.test_text_senses import engine, rule_categories  # noqa: F401 (the shared fixture)


@pytest.mark.parametrize("text", [
    "Door-knocking with the Patel campaign Saturday morning, volunteer hours count! Election is Oct 24.",
    "Need a Nguyen lawn sign? Drop your address at the office before the election.",
    "Our debate team spent Sunday scrutineering for the trustee race.",
    "Proud to walk with the NDP contingent in the Pride parade!",
    "Our band played on the Conservative float at the fall parade.",
    "Strong schools, strong families. Maria Lopez for Trustee.",
    "Smaller classes matter to me. That's why I'm running.",
    "Postcards to the Minister opposing the class-size hike are at the front desk.",
    "Day of action Friday against the cuts: wear red!",
    "Election day is coming. Remember who cut our music program.",
    "Le 24 octobre, nos familles s'en souviendront lors du scrutin.",
])
def test_campaign_work_and_party_support_are_political(engine, text):
    assert "endorsement_political" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Thanks to everyone who went canvassing for the food drive: 2,000 cans!",
    "Order your 'Congrats Grad' lawn sign by May 1!",
    "Our green team's float won best in parade!",
    "Remember who helped you this year: thank a teacher!",
    "Grade 5 wrote letters to the Minister of the Environment about plastic in the lake.",
    "Student council campaign posters are up: vote for your SC exec Thursday!",
])
def test_civic_and_school_posts_that_look_like_them_stay_clean(engine, text):
    assert "endorsement_political" not in rule_categories(engine, text)
