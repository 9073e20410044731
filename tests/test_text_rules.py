"""The text auditors on hand-written posts in both languages (tests/fixtures/text/<category>.jsonl).

Each fixture line is a post in the corpus schema with the labels a communications officer would
give it: positive and negative cases per category, in English and French. Every finding must
quote its evidence verbatim from the text or alt text it names, and explain itself in one sentence.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from records.model import CATEGORIES
from schoolaudit.commands.classify import classify
from schoolaudit.corpus import record_to_post

FIXTURES = Path(__file__).parent / "fixtures" / "text"
RECORDS = [json.loads(line) for path in sorted(FIXTURES.glob("*.jsonl"))
           for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(engine, record):
    post, account = record_to_post(record)
    return classify(post, account, *engine)


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_fixture_post_gets_expected_labels(engine, record):
    result = run(engine, record)
    assert result["labels"] == record["labels"], [(f["category"], f["evidence"]) for f in result["findings"]]


def test_every_category_has_english_and_french_positive_and_negative_cases():
    for category in CATEGORIES:
        rows = [r for r in RECORDS if r["id"].startswith(category + "-")]
        assert any(category in r["labels"] for r in rows), f"{category}: no positive case"
        assert any(category not in r["labels"] for r in rows), f"{category}: no negative case"
        french = [r for r in rows if any(w in (r["text"] + " ".join(r["image_alt"])).lower()
                                         for w in (" le ", " la ", " les ", " des ", " à ", " nos ", " de ", " pour "))]
        assert french, f"{category}: no French case"


@pytest.mark.parametrize("record", [r for r in RECORDS if r["labels"]], ids=[r["id"] for r in RECORDS if r["labels"]])
def test_findings_quote_evidence_and_explain_in_one_sentence(engine, record):
    result = run(engine, record)
    for finding in result["findings"]:
        where = finding["where"]
        if where == "repost":  # the handle (endorsement_repost) or a sentence of the reposted text
            source = record["repost_of"]["handle"] + "\n" + (record["repost_of"].get("text") or "")
        elif where.startswith("alt:"):
            source = record["image_alt"][int(where.split(":")[1])]
        else:
            assert where == "text"
            source = record["text"]
        assert finding["evidence"] and finding["evidence"] in source
        explanation = finding["explanation"]
        assert explanation.endswith(".") and ". " not in explanation.rstrip(".")[:-1].replace("Ms. ", ""), explanation
        assert finding["clause"] and finding["severity"] in ("low", "medium", "high")


def test_evidence_is_stable_for_the_same_post(engine):
    record = next(r for r in RECORDS if r["id"].startswith("hostile-") and r["labels"])
    first, second = run(engine, record), run(engine, dict(record))
    assert first["findings"] == second["findings"]


@pytest.mark.parametrize("text", [
    "Happy Teacher Appreciation Week to the best teacher in the world!",
    "Happy Mother's Day to the best moms in the world!",
])
def test_praise_of_people_as_the_best_of_a_place_is_no_endorsement(engine, text):
    """Praise of a person or a play in a vendor's words: the rule is not firm, and the model vetoes it."""
    record = {"id": "p1", "platform": "x", "account": {"name": "A", "kind": "school"}, "image_alt": [],
              "repost_of": None, "text": text}
    assert run(engine, record)["labels"] == []


def test_accepted_sponsor_praise_depends_on_the_settings_list(engine):
    policy, auditors = engine
    record = {"id": "s1", "platform": "x", "account": {"name": "A", "kind": "school"}, "image_alt": [], "repost_of": None,
              "text": "Thank you Maple Ridge Community Foundation, the best partner in the county!"}
    assert run(engine, record)["labels"] == []
    record["text"] = record["text"].replace("Maple Ridge Community Foundation", "Dunmore Motors")
    assert run(engine, record)["labels"] == ["endorsement_commercial"]


def test_post_with_images_but_no_alt_text_is_left_to_the_image_auditor(engine):
    record = {"id": "p1", "platform": "instagram", "account": {"name": "A", "kind": "school"}, "text": "Field day fun!",
              "image_alt": ["", "  "], "repost_of": None}
    assert "student_photo" not in run(engine, record)["labels"]


@pytest.fixture(scope="module")
def commercial(engine):
    """The commercial rules alone (no text model): the evidence sentences they flag in a text."""
    from auditors.base import AuditContext
    from auditors.commercial import CommercialAuditor
    from records.model import Post
    policy, auditors = engine
    auditor = next(a for a in auditors if isinstance(a, CommercialAuditor))
    return lambda text: [f.evidence for f in auditor.audit(Post("a", "x", "1", None, None, text), AuditContext(policy))]


@pytest.mark.parametrize("text, evidence", [
    # vendor_superlative: a superlative about a vendor's goods in a named place
    ("Thanks to Ridgeway Garage for the loaner van. Friendliest mechanics in Elgin, go see them!",
     "Friendliest mechanics in Elgin, go see them!"),
    ("Team dinner at Nonna's 🍝 best lasagna in the east end", "Team dinner at Nonna's 🍝 best lasagna in the east end"),
    ("Merci à la Fromagerie Leduc, le meilleur cheddar du comté!", "Merci à la Fromagerie Leduc, le meilleur cheddar du comté!"),
    # ... and the best of a town or a region (vendor_praise: not firm, the model may veto praise of a person)
    ("Ask for Dev at Northgate Tire, honestly the best mechanics in the region.",
     "Ask for Dev at Northgate Tire, honestly the best mechanics in the region."),
    ("Les meilleurs bagels en ville, chez Boulangerie Ste-Anne!", "Les meilleurs bagels en ville, chez Boulangerie Ste-Anne!"),
    # discount: a store's price for students, a dealer's financing
    ("Grade 12s: Byte Barn gives education pricing on tablets with your student card.",
     "Grade 12s: Byte Barn gives education pricing on tablets with your student card."),
    ("Thanks to Elgin Ford for the van! Ask about their 0% financing 🚗", "Ask about their 0% financing 🚗"),    # product_news: a business's new product to come and try
    ("Sharing @MillRaceBrewing: new cranberry sour on tap this weekend!", "Sharing @MillRaceBrewing: new cranberry sour on tap this weekend!"),
    ("Harvest party at Oxbow Cider, with the release of our Maple Dry!", "Harvest party at Oxbow Cider, with the release of our Maple Dry!"),    # brewery_for_families: a named brewery, winery or pub inviting families
    ("Movie night on the patio at Cedar Creek Brewing, bring the kids 🍕", "Movie night on the patio at Cedar Creek Brewing, bring the kids 🍕"),
    ("Our local winery welcomes families to its grape harvest Saturday!", "Our local winery welcomes families to its grape harvest Saturday!"),    # sponsored: a business named the official supplier of its product
    ("Kettle Ridge Roasters, official coffee of the Falcons booster club ☕", "Kettle Ridge Roasters, official coffee of the Falcons booster club ☕"),
    # service_offer: a business's free valuation, rate review or quote, a dealer's zero down
    ("Thinking of moving? Priya at Lakeview Realty offers our families a free home appraisal this spring.",
     "Priya at Lakeview Realty offers our families a free home appraisal this spring."),
    ("Our co-chair Tom, a broker at Northway Mortgages, gives parents a free rate review. Thanks Tom!",
     "Our co-chair Tom, a broker at Northway Mortgages, gives parents a free rate review."),
    ("New wheels for grads: no money down on every SUV at Riverside Kia 🚙", "New wheels for grads: no money down on every SUV at Riverside Kia 🚙"),
    ("Notre agent immobilier offre une évaluation gratuite de votre maison aux familles!",
     "Notre agent immobilier offre une évaluation gratuite de votre maison aux familles!"),
    # drink_special: a bar's drink prices for the school's community
    ("Trivia night at The Rusty Anchor 🍻 $6 pitchers for parents all night!", "Trivia night at The Rusty Anchor 🍻 $6 pitchers for parents all night!"),
    # pick_up_at_business: a call to buy at a business's counter
    ("Winter stout is back! Grab a growler at the brewery this weekend 🍺", "Grab a growler at the brewery this weekend 🍺"),
])
def test_commercial_rule_flags_a_vendor_recommendation(commercial, text, evidence):
    assert commercial(text) == [evidence]


@pytest.mark.parametrize("text", [
    # look-alikes of vendor_superlative: a team, students or a result, not a vendor
    "Our senior girls posted the best finish in Elgin history this weekend!",
    "Congratulations to the best cross-country runners in Norfolk 🏃",
    "Our Grade 8s had the best average in Ontario on the math contest!",
    "Thanks to Elgin Museum for hosting our field trip, the best exhibit in Elgin!",
    # ... nor a month, a grade or a team's history (review: each was a firm commercial finding)
    "Thanks for coming to the best spring concert in May!",
    "Our best day in Grade 8 was sports day.",
    "Greatest comeback in Rams history tonight!",
    # ... nor a public place or a team's result in a town or a region
    "Thanks to the Elgin Public Library, the best reading nook in town!",
    "The best swimmers in the province meet at our pool on Saturday.",
    "Our goalie made the best save in the county tonight!",
    # ... nor one person praised (a coach, a principal: the firm rule's words, the model could not veto)
    "Congrats Coach Dan, the best coach in Elgin!",
    "Thank you to the best principal in Norfolk!",
    # ... nor the school's own club ("come try our" a business's NEW product only)
    "Come try our Breakfast Club, every Monday at 8 in the gym!",
    # look-alikes of the discount terms: school pricing that is no store's offer
    "Education funding and student transportation are on the board's agenda tonight.",
    "Our student council is financing the new benches with the spring fundraiser.",
    # look-alikes of product_news: the school's own new things
    "Come try our new cafeteria menu: Thai curry bowls start Monday!",
    "Celebrating the launch of our new website with a student design contest.",
    "Root beer floats on tap at the spring fair!",
    # look-alikes of brewery_for_families: no families invited, or a class trip
    "Staff social Friday at Cedar Creek Brewing after the bell.",
    "Grade 7 families: the field trip to the Brantford Brewery Museum leaves at 9.",
    # look-alikes of the official-supplier term
    "Join us for the official opening of the new gym on Friday!",
    "Our mascot Rocky is the official greeter of the spring fair 🦝",
    # look-alikes of service_offer: a school's own free service, a score, downtime
    "Free hearing assessments for kindergarten students on Tuesday in the library.",
    "We were 2-0 down at the half but came back to win 3-2!",
    "Congrats to the Hawks, zero down at the half and came back to win!",
    "Zero downtime for the network upgrade this weekend, thanks to our IT team.",
    "Get your free quote of the day in the library newsletter!",
    "Grade 6 math: we made free estimates of how many jellybeans fill the jar.",
    # look-alikes of drink_special: root beer at a school fair, the Legion's own bar night
    "Root beer $1 and hot dogs $2 at the spring fair!",
    "Root-beer $1 and hot dogs $2 at the spring fair!",
    "Grade 9 baseball: pitchers $5 each for the fundraiser raffle.",
    "Trivia night at the Legion for our parents! Pitchers $12 all night 🍺",
    # look-alikes of pick_up_at_business: the school hands something out
    "Yearbooks are in! Pick yours up at the office before Friday.",
    "Spirit wear is here! Pick yours up at the school store.",
])
def test_commercial_rule_leaves_a_look_alike_alone(commercial, text):
    assert commercial(text) == []
