"""Look-alike words used innocently, and exceptions tied to the term they cancel (issue 12)."""
from __future__ import annotations

import pytest

from tests.rule_checks import labels, rule_labels, rules_alone, severities


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
    # issue 12's look-alikes written blind: a rooster, a title-elect, a dish, a myth-or-fact booth, a school election
    "Cock-a-doodle-doo! The farm club's rooster took first prize at the fair.",
    "Please welcome Trustee-elect Ravi Singh to his first board meeting.",
    "Our Grade 11 cooking class made coq au vin and crème brûlée for the staff lunch.",
    "Public health nurses ran a myth or fact table about vaping in the cafeteria.",
    "Student council elections are Thursday: vote for Sam, the candidate who promised more pizza days!",
    "Our favourite slogan this week: 'Vote for Noor, she'll open the door!'",
])
def test_a_look_alike_word_used_innocently_is_not_flagged_by_the_rules(engine, text):
    assert rule_labels(engine, text) == []


# The rule hits on clean training posts out of fold (train_text_model.py --explain-clean), each cancelled
# by an exception about the term itself: a rugby position, French "en retard", tobacco as local history or
# ceremony, a parents' night or a myths quiz about the substance, a discipline or poison-safety notice,
# faces hidden or cut out of the frame (fully hidden, too).
@pytest.mark.parametrize("text, alt", [
    ("Huge shoutout to our hooker, who won 5 lineouts tonight 🏉 #RugbyLife", ()),
    ("Les autobus ont 20 minutes de retard ce matin à cause du brouillard.", ()),
    ("Our Grade 7s visited the old tobacco kilns near Delhi for a local history project.", ()),
    ("Our Grade 5s learned how tobacco is offered in ceremony. Miigwech to Elder Rose.", ()),
    ("Vaping: what parents need to know. Join our info night with Public Health on Feb 4.", ()),
    ("Atelier pour les parents : « Le cannabis et les ados ». Jeudi à 19 h, en ligne.", ()),
    ("Grade 6 ran a cannabis-myths quiz for health week 🧠", ()),
    ("A student was caught with a vape in the 2nd-floor washroom; parents have been contacted.", ()),
    ("Cannabis edibles can look exactly like candy. Keep them locked away this Halloween.", ()),
    ("Our Gr 12 law class compared the Cannabis Act with the provincial rules today.", ()),
    ("Our Grade 11 health class made anti-vaping posters for the front hall.", ()),
    ("Grade 6 health: what's really in a vape? Students compared ingredient lists.", ()),
    ("Mr. Beer's Grade 5 class won the door-decorating contest! 🚪", ()),
    ("Our hospitality students run a mocktail bar at the health fair! Try the Virgin Sunrise 🍹", ()),
    ("Wishing everyone a happy Passover 🍷 Chag Sameach!", ()),
    ("Pluie verglaçante : retards de 30 à 45 minutes sur tous les circuits ce matin.", ()),
    ("Our goalie absolutely stoned Caledonia in the shootout, five shooters, five saves.", ()),
    ("Family games night: all the fun, none of the hangover.", ()),
    ("Our Grade 6 students offered tobacco to Elder Norman before his teaching.", ()),
    ("Parents: learn the signs of youth vaping and how to talk about it.", ()),
    ("Thanks to Const. Bailey for talking with Grade 9s about deepfakes, sharing nudes and sextortion.", ()),
    ("Votez pour qui vous voulez, mais votez! 🗳️", ()),
    ("Robotics team with their trophy! 🤖", ("Five students behind a robot, all wearing welding helmets that hide their faces",)),
    ("Our newest track athletes 🏃", ("Three students in track uniforms photographed from the neck down, holding a banner",)),
    ("Tiny hands, big seedlings 🌱", ("Close-up of children's hands holding tomato seedlings in paper cups",)),
    ("Root beer float Friday in the caf! $2 each, proceeds to the food bank 🍺🍦", ()),
    ("Nos Lynx ont gagné 🏈", ("Joueurs en mêlée, casques et grilles cachant les visages",)),
    ("Convocation night for our continuing-ed class 🎓", ("Adult learners in caps and gowns smiling with their diplomas",)),
    ("Sledding day ❄️", ("Kids on a hill, scarves pulled up over their faces",)),
    ("Relay finals 🏊", ("Swimmers diving off the blocks, faces in the water",)),
    ("Dino day 🦖", ("Student in an inflatable dinosaur costume, face fully hidden",)),
    ("Opening night! Lord Capulet raised his prop wine goblet and the audience cheered 🎭", ()),
    ("Congrats to Grade 11 student Maya Fournier, accepted to McGill with a 95% average! (Posted with her family's permission.)", ()),
    ("Félicitations à Théo Girard, 12e année, pour sa moyenne de 94 % ! (Publié avec le consentement de sa famille.)", ()),
])
def test_an_exception_tied_to_the_term_cancels_a_clean_rule_hit(engine, text, alt):
    assert rules_alone(engine, text, alt) == []


@pytest.mark.parametrize("text, alt, category", [
    ("The ref is a total retard, unreal.", (), "hostile"),
    ("Parent info night Thursday, with wine and cheese after! 🍷", (), "substances"),
    ("Vapes are the best way to unwind after exams 😎", (), "substances"),
    ("Friday staff social 🍷 see you there!", (), "substances"),
    ("Beer garden for the grown-ups and mocktails for the kids 🍺", (), "substances"),
    ("Staff social: the first round is on us, and none of the speeches 🍻", (), "substances"),
    ("Sending nudes to the group chat lol 😏", (), "explicit"),
    ("Robotics team with their trophy! 🤖", ("Five students smiling at the camera with their helmets off",), "student_photo"),
    ("Root beer for the kids. And a beer tent for the grown-ups 🍺", (), "substances"),
    ("Nos Lynx ont gagné 🏈", ("Joueurs en mêlée, les visages bien visibles",), "student_photo"),
    ("Convocation night 🎓", ("Grade 12 graduates in caps and gowns smiling with their diplomas",), "student_photo"),
    ("Sledding day ❄️", ("Kids on a hill smiling at the camera, scarves around their necks",), "student_photo"),
    ("Staff social after the play 🎭", ("Teachers raising glasses of wine at the cast party",), "substances"),
    ("Congrats to Grade 11 student Maya Fournier, accepted to McGill with a 95% average!", (), "privacy"),
    ("Cooking up something special for you tonight 😏🍆", (), "explicit"),  # no fruit reading beside a smirk
    ("Who's ready for the bake sale 🍆💦", (), "explicit"),
    ("Grade 5 student Maya Fournier was suspended for fighting. Permission was granted for the field trip.", (), "privacy"),
    ("Congrats to Grade 11 student Maya Fournier on her 95% average! Field trip is on, with the principal's permission.", (), "privacy"),
    ("Elect Ravi Singh for trustee on October 24!", (), "endorsement_political"),
    ("Staff wine night Friday, bring your favourite bottle 🍷", (), "substances"),
    ("Vaping at lunch is the best part of the day 😎", (), "substances"),
    ("Check out the cock on this one 😏", (), "explicit"),
    ("Field day 🏃", ("Student in a dinosaur costume, face clearly visible, smiling",), "student_photo"),
])
def test_the_same_terms_without_the_exception_are_still_flagged(engine, text, alt, category):
    assert category in rules_alone(engine, text, alt)


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
    assert rule_labels(engine, text) == ["privacy"]


@pytest.mark.parametrize("text", ["GET WELL SOON TO OUR CUSTODIAN BOB, WE MISS YOU", "PIZZA LUNCH FRIDAY! ORDER FORMS DUE THURSDAY."])
def test_a_post_in_capitals_does_not_turn_every_word_into_a_name(engine, text):
    assert labels(engine, text) == []
