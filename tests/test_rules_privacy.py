"""Privacy rules on posts without the capitals that mark a name (issue 12: lower-case and ALL-CAPS posts).

A child's name written in lower case is read where only a person stands (in a grade, as the owner of an
epipen, an IEP or a parent), a home street where someone is said to live, a filled-in document in alt text;
the lower-case look-alikes (the office, a class, an allergy-aware reminder, the school's phone) are not."""
from __future__ import annotations

import pytest

from tests.rule_checks import rules_alone


@pytest.mark.parametrize(("text", "alt"), [
    ("so proud of maya in grade 3 who came back after her surgery today 💕", ()),
    ("Reminder: noah in grade 2 has a severe peanut allergy, please keep snacks nut-free in room 12.", ()),
    ("Just a heads up, liam's epipen is in the front office now, his anaphylaxis plan is on file.", ()),
    ("Thanks to everyone who helped today. ava's iep meeting is moved to thursday at 3.", ()),
    ("Please note ethan's dad is not allowed to pick him up, there is a court order in place.", ()),
    ("Huge shoutout to zoe in gr 4 for being so brave with her diabetes this week!", ()),
    ("FYI owen's custody schedule changed, his mother has him on weekends now.", ()),
    ("SO PROUD OF KAYLA IN GRADE 6, BACK AT SCHOOL AFTER HER CHEMO 💪", ()),
    ("Field trip form for harper (grade 1) is missing; she also needs her inhaler for asthma.", ()),
    ("Drop-off: sophie's grandma picks her up. She lives at 42 maple crescent, near the park.", ()),
    ("Welcome back! Our new bus monitor's house is at 7 birch lane if you need to drop off forms.", ()),
    ("Updated seating plan for class 5B.", ("a class list on the whiteboard with every student's full name and reading level",)),
    ("Report cards go home Friday!", ("photo of lucas's report card with his marks on the kitchen table",)),
    ("Text me anytime at my cell 289-555-0188, ms. k", ()),
    ("heads up 5C: priya s. is off for two weeks after her surgery, please send cards", ()),
    ("The fight at lunch: owen t. and marco d. are both suspended until Monday.", ()),
    ("reminder: dylan ortiz in 4b has a nut allergy, his epipen is in the office", ()),
    ("PLEASE PRAY FOR LUCAS BRANDT, GR 6, WHO IS IN HOSPITAL AFTER A CAR ACCIDENT.", ()),
    ("pray for little zara (gr 2, room 11), she had her tonsils out yesterday", ()),
    ("Sean McAllister's mom says he is finally in remission 🎉", ()),
    ("Huge thanks to Coach for driving. nina r's inhaler is in the first aid kit.", ()),
])
def test_privacy_without_capitals_is_found_by_the_rules(engine, text, alt):
    assert "privacy" in rules_alone(engine, text, alt)


@pytest.mark.parametrize(("text", "alt"), [
    ("Please stop by the office in grade 3 hallway if you have questions about allergies.", ()),
    ("The grade 3 class is learning about asthma and how lungs work this week.", ()),
    ("Reminder: we are an allergy-aware school. Please no peanut products in lunches.", ()),
    ("Call the school at 905-555-0100 if your child will be absent due to illness.", ()),
    ("kids in grade 4 with a food allergy should bring their epipen on the trip.", ()),
    ("anyone in grade 8 who was sick last week can pick up the missed worksheets.", ()),
    ("everyone in grade 2 needs a signed permission form and their inhaler for the trip.", ()),
    ("today's medication reminder: all epipens must be labelled with the student's name.", ()),
    ("Our school's allergy policy is posted on the website.", ()),
    ("the nurse's office has extra inhalers for the asthma clinic this week.", ()),
    ("What we learned in grade 3 about asthma: lungs need clean air!", ()),
    ("Our mascot lives at 1 school road, come visit him at the office!", ()),
    ("Permission forms for the grade 6 trip are due Friday.", ("stack of blank permission forms on a desk",)),
    ("Report card night is Thursday.", ("a sample report card template projected on the screen, names blurred",)),
    ("Rappel : il y a une élève avec une allergie sévère en 5e année. Merci de ne pas envoyer de noix.", ()),
    ("Vitamin D and asthma: what plan B looks like when the inhaler runs out, a talk for parents.", ()),
    ("Gen X parents, the flu clinic is in hall C on Friday; bring your health card.", ()),
    ("Bus 12 route B is suspended today because of the ice storm.", ()),
    ("Well done, grade 3! If you were sick on Friday, pick up the worksheet at the office.", ()),
    ("Great job, grade 5! If you were sick on Friday, ask for the notes.", ()),
    ("Flu season in grade 3: if your child is sick, please keep them home.", ()),
    ("Lice check in grade 2 tomorrow; if your child has lice, keep them home.", ()),
])
def test_lower_case_look_alikes_are_left_alone(engine, text, alt):
    assert "privacy" not in rules_alone(engine, text, alt)
