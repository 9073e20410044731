"""substances.toml: drinks and bars named by their names and slang, and the school posts that share the words (issue 12)."""
from __future__ import annotations

import pytest

from tests.rule_checks import labels, rule_categories


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


# -- issue 12, blind-written misses: drinking without the usual words, and prevention posts that name a vape ----------

@pytest.mark.parametrize("text", [
    "won the tournament and celebrated properly 🥴🍾 heads hurting today",
    "Prom committee: bring a thermos of 'coffee' for the chaperones 😉",
    "Bus trip home, and somebody's 'lemonade' smells funny 🥴",
    "Marking report cards tonight with a mug of cocoa and a splash of Baileys",
    "History club visited the old still: grandpa's moonshine recipe, tasted by the teachers",
    "Parents' tent at the fun fair, with local craft brews on tap",
    "If we win the final, the coach is buying the 2-4 🏆",
    "Locker-room champagne showers after the title! 🏆",
    "End of term: time to crack open a cold one, colleagues",
    "Pour one out for the old gym floor, replaced this summer",
    "Grad after-party: 19+ wristbands at the door",
    "Friday mood: blowing fat clouds behind the portable 😮‍💨",
])
def test_drinking_and_vaping_without_the_usual_words_are_substances(engine, text):
    assert "substances" in rule_categories(engine, text)


def test_a_drink_beside_a_woozy_face_is_not_vetoed_by_the_model(engine):
    """The bottle emoji alone is a weak hit the model drops here; beside the woozy face it is firm."""
    assert "substances" in labels(engine, "won the tournament and celebrated properly 🥴🍾 heads hurting today")


@pytest.mark.parametrize("text", [
    "Flu season 🥴 stay home if you are sick",
    "🥂 Cheers to our grads! 😵 what a year it has been",
    "Grade 4 spilled the 'tea' on their favourite authors 😏",
    "'Juice' is the name of our new class hamster 🐹",
    "Lemonade stand raised $80 for the food bank 😉",
    "Thanks to the Baileys for hosting the grade 4 sleepover fundraiser!",
    "Open house for grades 2-4 from 2-4 pm, bring the whole family",
    "Cold brew coffee for the staff meeting, courtesy of council",
    "Science: we blew on cold mirrors and watched tiny clouds form",
    "Yeast lab: balloons on the flasks, and nobody is brewing beer, promise",
])
def test_their_look_alikes_stay_clean(engine, text):
    assert "substances" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Trois élèves ont été suspendus pour vapotage cette semaine.",
    "Two students were suspended for vaping at the dance.",
    "Parents, some kids vape in the upstairs washroom between classes.",
    "Grade 2 lesson: never pick up pills or vape pens you find, and tell an adult.",
    "Our health PSA is live: students interviewed a nurse about vaping-related lung injury. Watch what a vape does to lungs.",
    "The Smoke-Free Ontario Act applies to all school property. This includes vaping and cannabis.",
    "Tobacco-barn history walk with the heritage society this Friday.",
    "Tobacco was offered as protocol before the teaching.",
])
def test_discipline_notices_safety_lessons_and_history_about_a_substance_stay_clean(engine, text):
    assert "substances" not in rule_categories(engine, text)


def test_a_health_framing_about_vaping_does_not_excuse_a_beer_garden(engine):
    """The PSA's harms cancel the vaping rule post-wide, not the alcohol rules: the framing names what it is about."""
    assert "substances" in rule_categories(engine, "Our PSA on vaping-related lung injury is live. Beer garden opens at noon!")


@pytest.mark.parametrize("text", [
    "@sam_k we saw you vaping by the bike racks at lunch, the office has called home.",
    "Caught two grade 10s vaping behind the arena again.",
    "Rappel : deux élèves ont été pris à vapoter dans l'autobus.",
    "Grade 9 learned how First Nations use tobacco in ceremony.",
    "Grade 5 learned the meaning of cedar, sage and tobacco.",
    "Pioneer days: settlers traded tobacco and salt at the general store.",
    "Information evening. Topics: vaping, cannabis and how to get help.",
    "Students who vape can get free quit support from the public health office.",
    "Vaping is rising among students aged 12 to 14.",
    "Nos élèves ont conçu des affiches anti-vapotage.",
    "Le vapotage, parlons-en! Soirée pour les parents jeudi.",
    "Driver's Ed: an officer explained how cannabis impairment is tested at the roadside.",
    "Grade 11 health classes studied cannabis legalization and the legal age of 19.",
])
def test_discipline_ceremony_history_and_prevention_talk_stay_clean(engine, text):
    assert "substances" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Vapes are rising in popularity: grab the new flavour at Cloud Nine 😎",
    "Le vapotage, parlons-en! Pub night for staff Friday, first pint on us.",
    "We saw the Raptors game at the pub, pints all round",
])
def test_those_exceptions_leave_a_promotion_flagged(engine, text):
    assert "substances" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    # vaping slang beside a joke: the model vetoed it, so the rule is firm
    "Most likely to show up to grad with a Juul in each hand: nominations open 😂💨",
    "exams done 😮‍💨☁️☁️ time to blow some clouds",
    "Juuling in the bathroom is so last year 💨😂",
])
def test_vaping_slang_is_flagged_past_the_model(engine, text):
    assert "substances" in labels(engine, text)


@pytest.mark.parametrize("text", [
    "Vaping awareness week: what's really in a Juul pod? Ask our nurse.",
    "Students blew bubbles and watched the clouds roll in at recess.",
    "No Juul, no vapes, no exceptions on school property.",
])
def test_look_alikes_of_vaping_slang_stay_clean(engine, text):
    assert "substances" not in labels(engine, text)


def test_a_warning_not_to_vape_is_no_finding_of_the_rules(engine):
    assert "substances" not in rule_categories(engine, "Don't vape, kids: our nurse explains why on Friday.")


# Slang and paraphrase without the usual words (issue 12): Mary Jane beside a leaf, a 'special' greenhouse, a leaf
# beside a wink, vape pods by flavour, ripping clouds, "the fermented kind".
@pytest.mark.parametrize("text", [
    "weekend plans: mary jane and a campfire 🔥🍃",
    "Field trip to Uncle Dave's 'special' greenhouse next week 😂",
    "It's 100% legal now, so relax 🌿",
    "The staff room cookies are back 😏🌿 keep them away from the kids",
    "our grads ranked their top pod flavours 💨",
    "Gift idea for the teens 💨 mango pods at the booth!",
    "someone ripped a huge cloud in the back of the bus 😭",
    "Coach's 'grape juice' was definitely the fermented kind 🍷",
    "Coach says he's on a juice diet since September 😂🍷 the fermented kind",
])
def test_cannabis_vaping_and_drink_paraphrase_are_substances(engine, text):
    assert "substances" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Our earth day garden 🌿😂 the kids got so muddy!",
    "Mint tea tasting in the culinary class 🌿😉",
    "Mary Jane Watson won the costume contest 🕷️",
    "Vente de flotteurs à la bière de racinette vendredi 🍺",
    "No school Monday: enjoy the May two-four long weekend!",
    "Weather unit: we watched the clouds roll over the courtyard ☁️",
    "Back-to-school sale: fruity pens and scented markers at the book fair!",
    "Root beer floats for the grade 8 grad 🍺 thanks parent council!",
])
def test_their_look_alikes_stay_clean_too(engine, text):
    assert "substances" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Apple juice for the kids at the BBQ, and for the staff social after, the 🍺 is on council!",
    "Non-alcoholic punch for the students, and the staff beer garden opens at 4 🍺",
])
def test_an_innocent_drink_cancels_only_the_drink_it_names(engine, text):
    assert "substances" in rule_categories(engine, text)
