"""endorsement_political.toml: campaign work, a party's float, a candidate's own words, and the civic posts
that look like them (issue 12)."""
from __future__ import annotations

import pytest

from tests.rule_checks import rule_categories


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


# Implied voting advice without "vote for" (issue 12): one side singled out for the voter, a reminder tied to the
# ballot, voting out the officials who did something, a club working for a campaign, a party's nomination meeting.
@pytest.mark.parametrize("text", [
    "Only one party promised to repair our leaking roof. Remember that on election day.",
    "Just one candidate has pledged to keep our library open. Keep that in mind at the polls!",
    "Un seul parti a promis un nouveau gymnase. Pensez-y dans l'isoloir.",
    "Les parents, n'oubliez pas ça au moment de voter 😉",
    "Time to start voting out the councillors who closed our pool!",
    "Our environment club spent Saturday volunteering on Ravi Gill's re-election team.",
    "The chess club helped the mayor's re-election campaign stuff envelopes.",
    "Our jazz band is honoured to play at the NDP nomination meeting on Friday.",
    "Want debate practice? @LenaTorresLiberal's phone bank needs volunteers Thursdays.",
    "Buses leave at noon: we're rallying to demand the minister withdraw Bill 12.",
    "Our senior boys walked in the pro-life march at Queen's Park on Saturday.",
    "Thanks to the Omar Haddad campaign for the hot dogs! Remember his name on election day 🌭",
    "Bake sale proceeds will go to the re-election campaign of our friend, Councillor Ruth Mills.",
])
def test_implied_advice_and_campaign_help_are_political(engine, text):
    assert "endorsement_political" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Only one team scored in the second half, remember that at playoffs!",
    "Remember to vote for your favourite mural in the front hall by Friday.",
    "Student council election day is Friday: vote for whoever you think will lead best!",
    "Our robotics team volunteered for the United Way campaign this weekend.",
    "Grade 10 civics toured the election office and met the returning officer.",
    "Congrats to Liam Trudeau in grade 5 for winning the spelling bee!",
    "Congratulations to Ava Ford and Noah Singh, our new student council reps!",
    "Raffle winner Mr. Ford takes home a test drive in a new Ford Escape!",
    "Our student council is voting out the old dress-code rule next week.",
    "Remember her name: Sofia Patel just won the provincial science fair!",
    "Our pizza party proceeds go to the grade 8 trip fund.",
])
def test_their_civic_and_school_look_alikes_stay_clean(engine, text):
    assert "endorsement_political" not in rule_categories(engine, text)
