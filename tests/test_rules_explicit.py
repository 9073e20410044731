"""Explicit content as innuendo (issue 12): the sexual puns, crude double meanings, suggestive emoji,
disguised crude words and explicit descriptions in alt text that have no innocent reading are the rules'
(and firm: the statistical model cannot veto them); their innocent look-alikes are left alone."""
from __future__ import annotations

import pytest

from tests.rule_checks import labels, rules_alone


@pytest.mark.parametrize(("text", "alt"), [
    ("Our new goalie is a brick wall and the boys say he's hung like a horse too 😂", ()),
    ("Locker room rule #1: don't drop the soap 🧼😏 welcome back swim team!", ()),
    ("Season over, cherry popped 🍒 first ever banner for the juniors", ()),
    ("Look at the size of this one 🍆 the grade 11 ceramics kiln is full of surprises", ()),
    ("Coach Dan is the man, great with his hands 👋🍆", ()),
    ("That new PE teacher tho 🍑🥵 the moms are not okay", ()),
    ("those volleyball shorts 🍑🤤 nobody is watching the ball lol", ()),
    ("Our libero is too thicc for those shorts 😳", ()),
    ("Bio test tomorrow, study hard daddy 😩 harder daddy", ()),
    ("Tag the teacher you'd smash 😏 we won't tell", ()),
    ("Les filles de l'équipe le font mieux 😏 demandez aux gars", ()),
    ("Les Loups ont baisé Cochrane 6-0 hier soir 😂", ()),
    ("Grad memes 2025 🍑👅 you know who you are", ()),
    # vegetables, légumes or a jardin beside the joke are no fruit named (the peach rule's own list)
    ("Leggings day for Spirit Week! 🍑😏 Don't forget your vegetables at lunch.", ()),
    ("Yoga pants and bending practice in gym 🍑🥵 then veggies and légumes for snack", ()),
    ("What a s3xy win for the Hawks tonight 🔥", ()),
    ("Spirit week mural done!", ("Mural in the hallway; in one corner someone drew a penis in marker",)),
    ("Lost phone found in the gym 📱", ("Screenshot of sexually explicit messages on the lock screen",)),
    ("Murale terminée !", ("Un dessin de pénis dans un coin de la murale",)),
])
def test_innuendo_without_an_innocent_reading_is_flagged(engine, text, alt):
    assert "explicit" in rules_alone(engine, text, alt)


@pytest.mark.parametrize(("text", "alt"), [
    ("Our garden club harvested eggplants 🍆, tomatoes and zucchini today!", ()),
    ("Peach cobbler in the cafeteria today 🍑😍 get it while it lasts", ()),
    # a body emoji beside it, excused by the peach rule's own words (the cobbler, the orchard)
    ("Peach cobbler from the orchard field trip 🍑🤤 thank you to the parents who baked it!", ()),
    ("Emoji of the week in grade 2: 🍑🍆🍌 can you name them in French?", ()),
    ("Health class: grade 7s learned the names of the reproductive organs, including the penis and vulva.", ()),
    ("Swimmers: bring your own soap and towel to the aquatic centre showers.", ()),
    ("Priya's jump smash was deadly today 🏸 gold in singles!", ()),
    ("The Hawks smashed the regional record 💥 so proud!", ()),
    ("Cherry blossom walk with the grade 2s 🍒🌸 so pretty!", ()),
    ("Our art exhibit is hung in the main hall, come see it!", ()),
    ("Heat warning today 🥵 stay hydrated, water stations in the front hall.", ()),
    ("Un baiser sur la joue pour grand-maman à la fête des grands-parents 💕", ()),
    ("Talent show rules: no explicit images or lyrics, please.", ()),
    ("Fold your paper hot dog style, then cut along the line.", ()),
    ("Grade 12 English has finished Moby-Dick! 🐋 All 135 chapters, essays due Friday.", ()),
    ("Lost phone found in the gym 📱", ("A phone on a bench; the lock screen shows a photo of a golden retriever",)),
    ("Yes, daddy-daughter dance tickets are on sale now!", ()),
    ("Our soap drive: drop the soap off at the office by Friday!", ()),
    ("The mural is hung like a masterpiece in the hall", ()),
    ("Ma fille a baisé la main de la reine au spectacle 👑", ()),
    ("Smash or pass? Vote on the new cafeteria menu items!", ()),
    ("Missionary position open at our parish partner school", ()),
    ("Les élèves de 3e année le font mieux que nous 😉 bravo pour le recyclage!", ()),
    ("Spirit week purple day 💜🍆 wear purple!", ()),
    ("Shorts weather is here 🍑☀️ remember sunscreen!", ()),
    ("Our new playground is done 👀 check out the view from behind the school 🍑", ()),
    ("Water balloon fight 💦👅 so much fun at field day", ()),
    ("Band trip to Georgia! 🍑😍 the kids loved Savannah", ()),
    ("A huge thank you to our volunteers! Faster, daddy! the kids cheered at the dads' sack race", ()),
    ("Grade 1 drew their favourite things 🍆🥑🎃", ()),
    ("Grade 9 health: consent and sexting. Sending sexual images of minors is illegal.", ()),
    ("Cyber safety night for parents: what to do if your child receives sexual messages.", ()),
])
def test_innocent_look_alikes_are_left_alone(engine, text, alt):
    assert "explicit" not in rules_alone(engine, text, alt)


@pytest.mark.parametrize("text", [
    "Cherry popped! First snow of the year ❄️",
    "Thicc milkshakes at the spring fair 😂",
])
def test_crude_words_with_an_innocent_reading_are_left_to_the_model(engine, text):
    assert "explicit" in rules_alone(engine, text) and "explicit" not in labels(engine, text)


#: Words of `sexual_words` that `sexual_words_masked` leaves to it (not firm when disguised): a disguised "n@ked" or
#: "c*m" may still be a look-alike ("c*m laude"), and "xxx" has no letter to disguise.
NOT_FIRM_WHEN_MASKED = {"cum", "slut", "whore", "naked", "hookup", "xxx"}


def _disguises(word: str) -> list[str]:
    """`word` with its first vowel after the first letter masked, and written as its leetspeak digit (the engine's
    own table), as adult spam writes them: s*xy, s3xy, n*des, p*ssy, b0obs."""
    from auditors.text import _LEET
    at = next(i for i, char in enumerate(word) if i and char in "aeiouy")
    digits = [c for c in _LEET.get(word[at], "") if c.isdigit()]
    return [word[:at] + mask + word[at + 1:] for mask in ["*", *digits[:1]]]


def test_the_masked_rule_knows_every_word_of_sexual_words_it_does_not_leave_to_it():
    """`sexual_words_masked` hand-writes its words and their disguises (only a disguised word is firm); this holds
    it to `sexual_words`' list: a word added there is firm when disguised, or named here as left alone."""
    from auditors.text import compile_rules
    from schoolaudit.config import DEFAULT_CONFIG_DIR, load_policy
    table = load_policy(DEFAULT_CONFIG_DIR)["explicit"].rules
    rules = {r.id: r for r in compile_rules("explicit", table)[0]}
    words, masked = rules["sexual_words"], rules["sexual_words_masked"]
    every_word = next(r["words"] for r in table["rules"] if r["id"] == "sexual_words")
    assert NOT_FIRM_WHEN_MASKED <= set(every_word)
    for word in every_word:
        assert not masked.pattern("terms").search(f"so {word} today"), word  # written plainly: sexual_words' alone
        for disguised in _disguises(word) if word not in NOT_FIRM_WHEN_MASKED else ():
            text = f"so {disguised} today"
            assert words.pattern("terms").search(text) and masked.pattern("terms").search(text), disguised


# -- issue 12, blind-written misses: nudity described in French or as a prank, words spelled out or disguised ----------

@pytest.mark.parametrize(("text", "alt"), [
    ("Voyage de fin d'année 🚌", ("Trois élèves montrent leurs fesses nues par la fenêtre de l'autobus",)),
    ("Affiche du spectacle 🎭", ("Dessin d'une femme nue allongée, seins visibles",)),
    ("Bus ride home 🚌", ("Two boys in the back seat mooning the camera, faces visible",)),
    ("Team photo take two 📸", ("The back row pulling down their shorts while the coach looks away",)),
    ("P-O-R-N is not a spelling word, grade 7 😑", ()),
    ("Ce soir on va b@is3r les Loups 😈", ()),
    ("send n00ds 🍜 noodle day is Friday", ()),
    ("Our new gym teacher is a whole snack 😍", ()),
])
def test_nudity_and_crude_words_in_other_guises_are_explicit(engine, text, alt):
    assert "explicit" in rules_alone(engine, text, alt)


@pytest.mark.parametrize(("text", "alt"), [
    ("Sortie à la plage 🏖️", ("Élèves pieds nus sur la plage, sans visage visible",)),
    ("Astronomy night 🔭", ("Students watching the moon through a telescope",)),
    ("Lost and found 🧦", ("A pile of shorts and pants dropped off at the office",)),
    ("Un baiser sur la joue pour grand-maman 💕", ()),
    ("Grade 2 spelled S-N-A-C-K at the spelling bee 🐝", ()),
    ("Apples are a healthy snack, and grapes are a whole lot of fun", ()),
    ("Send noodles and broth to the food drive table 🍜", ()),
])
def test_their_look_alikes_stay_clean(engine, text, alt):
    assert "explicit" not in rules_alone(engine, text, alt)


