"""hostile.toml: sarcasm and mockery without insult words, and the school posts that look like them (issue 12)."""
from __future__ import annotations

import pytest

from tests.rule_checks import rule_categories, severities


@pytest.mark.parametrize("text", [
    # a taunting sign-off, sarcastic thanks, praise after a pause
    "Still no answer from the district about the portable's roof. We'll wait. 🙄",
    "Three years asking for a crosswalk. Merci pour rien.",
    "The board moved the meeting again without telling anyone. Love being kept in the dark.",
    "The photocopier broke on report card day. We are… delighted.",
    # "too hard for some", an insinuation, scare quotes around the people or the process
    "Returning a library book on time is apparently too difficult for some of our parents.",
    "Not saying the other coach bent the rules but... he did bring his own timekeeper.",
    "Thanks to the 'adults' who left their coffee cups all over the bleachers.",
    "Another 'consultation' where the decision was already made.",
    "Guess whose car is blocking the fire lane again? SOMEBODY's dad.",
    "Nothing says we care about students like cutting the library hours.",
    # mocking another team's play
    "Riverside's keeper dives like a statue lol",
    "Their defence skated like toddlers all night 😂",
    "Les Aigles ont joué comme des pieds hier.",
    "St. Mike's got absolutely cooked tonight 😂",
    "Central brought a bus of fans and still lost. skill issue.",
    "Their coach looked like he was about to cry 😂",
    # a jab at someone's family, in a reply
    "@parent_44 maybe his mother should check his backpack more often",
    # everyone compelled to pray, a school's name between "every" and "student"
    "Every St. Anne student will say the rosary each morning, no exceptions.",
])
def test_sarcasm_and_mockery_without_insult_words_are_hostile(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "If your bus is running late, call the office and we'll wait for you at the door.",
    "We'll wait until the rain stops before heading out to the field.",
    "Anti-bullying week: students role-played what to say when someone calls you a loser.",
    "Our Grade 7s practised responses to 'nobody likes you' with their upstander cards.",
    "Euchre night Friday: first round's on the losers!",
    "Please send your feedback forms back by Friday.",
    "Our boys got absolutely cooked at regionals, but we learned a lot. We'll be back!",
    "We got humbled in the final, proud of the effort anyway.",
    "Our kindergarten students skated like pros today!",
    "Every student will receive a rosary at the Advent mass; families are welcome.",
    "All Grade 8 students will attend the graduation mass at St. Joseph's. Forms due Friday, no exceptions.",
    "Nothing says fall like a pumpkin patch trip!",
    "Not all heroes wear capes, but ours wear reflective vests. Thank you, crossing guards!",
])
def test_school_posts_that_look_like_them_stay_clean(engine, text):
    assert "hostile" not in rule_categories(engine, text)


def test_a_word_masked_after_its_first_letter_reads_as_profanity_not_as_a_sexual_word(engine):
    assert rule_categories(engine, "I s*** you not, the bus driver got lost for two hours.") == {"hostile"}
    assert "explicit" in rule_categories(engine, "Who's feeling s*xy tonight 😏")


@pytest.mark.parametrize("text", [
    "Library display: 'Damn Yankees' and other musicals of the 1950s",
    "New in the staff library: \"Crap Detection For Beginners\"",
])
def test_a_mild_word_opening_a_quoted_title_is_no_profanity(engine, text):
    assert "hostile" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "'Damn, you guys are slow' 🙄",
    "\"Crap happens,\" said the coach after the loss.",
    "Damn, what a game!",
])
def test_the_same_word_said_in_quotes_is_still_profanity(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Grade 5 listed put-downs they've heard ('loser', 'idiot') and turned each into a compliment 💛",
    "Cyberbullying often sounds like 'you're so stupid' or 'nobody likes you'. Here's how to respond.",
])
def test_a_lesson_quoting_put_downs_is_not_hostile(engine, text):
    assert "hostile" not in rule_categories(engine, text)


def test_an_insult_beside_a_lesson_word_still_flags(engine):
    assert "hostile" in rule_categories(engine, "Kindness Week 💛 and the other team were total losers lol")


@pytest.mark.parametrize("text", [
    # stock sarcasm with no kind reading: waved off, degrees from social media, "too lazy to", "exactly $0"
    "To everyone complaining about the new bell schedule: noted. Ignored, but noted.",
    "Your concerns about the snow day call have been noted and ignored.",
    "Lots of armchair experts in the replies today.",
    "The comment section is full of YouTube University graduates today.",
    "So many people with Education degrees from Facebook University. 🎓",
    "The lost & found is not a storage unit for people too lazy to label their kids' stuff.",
    "Parents who are too lazy to read the newsletter keep asking the same question.",
    "We would ask them to get their facts straight before embarrassing themselves further.",
    "Funny how the people with the most opinions about the fundraiser have donated exactly $0.",
])
def test_stock_sarcasm_phrases_are_hostile(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Your feedback on the bell schedule has been noted and shared with the committee.",
    "Our armchair travel club visits Peru this week through books and videos.",
    "Kindergarten Facebook page: photos from the pumpkin patch are up!",
    "No student is too lazy to learn; some just need a different approach.",
    "We are never too lazy to read! Grade 2 finished 100 books.",
    "Anti-bullying week: students practised responses to put-downs like 'people too lazy to try never win'.",
    "Registration costs exactly $0 and includes lunch.",
    "Everyone who volunteered a grand total of 300 hours this year, thank you!",
    "Students learned to check their facts before sharing posts online.",
])
def test_look_alikes_of_stock_sarcasm_stay_clean(engine, text):
    assert "hostile" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    # taunts from social media and trash talk (issue 12, hostile recall on blind posts)
    "HEY RIVERSIDE HOW'S THAT BUS RIDE HOME FEEL?? 😂 L + RATIO",
    "Northview fans got ratioed in their own comments lol",
    "@grumpy_grandpa ok boomer, the phone policy isn't changing",
    "Okay boomer energy from whoever complained about the spirit week playlist.",
    "Shoutout to Eastdale for bringing real participation-trophy energy today 🏆",
    "Westfield tried a trick play in the last minute. Cute effort, guys.",
    "To the student who handed in a chatbot essay: bold strategy. Let's see how it plays out 🍿",
    "The new gym floor is paid for! No thanks to the parents who 'forgot' the pledge forms.",
    "The other school's play was... a choice. Bless their hearts. 💅",
    "Congrats to Northgate on their 'innovative' bridge design. Tape holds everything, apparently.",
    "Whoever 'borrowed' the gym's basketballs: please bring them back.",
    "À la personne qui a écrit ce commentaire : on sait très bien qui vous êtes.",
    "To the driver who parked on the crosswalk again: we know which car.",
    "Heard the Eastview goalie cried on the bus home. We'd cry too if we played like that 😭",
    "Our debaters won in 10 minutes. Guess thinking is hard when you're from Northgate 🤷",
    "Interesting how the same five parents who complain about the BBQ never volunteer for it. 🤔",
    "when the other team's cheer routine is just clapping with extra steps 💀💀",
    "Shoutout to the Morin family for the 9 overdue books and four unanswered emails. We'll just wait here. Again. ⏳",
    "For the third time, and we'll use small words: pizza day is Friday. Please try to keep up.",
    "Watch the Eastdale defence stand around like traffic cones for four quarters 🏈",
])
def test_stock_taunts_and_backhanded_praise_are_hostile(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "The student-teacher ratio in Grade 1 classes is capped at 20 to 1.",
    "Math club: ratio and proportion puzzles every Tuesday at lunch!",
    "Grade 11 media literacy: where did the meme 'OK boomer' come from, and is it fair?",
    "The Grade 8s taught Ms. Roy 'ok boomer' and now she says it about herself at every assembly 😂",
    "Every runner at the JK fun run took home a participation trophy 🏅",
    "Cute effort from our kindergarten artists on the snowflake wall ❄️",
    "Bold strategy from our coach: a full-court press in the first minute, and it worked!",
    "No thanks needed, we were happy to help at the food drive.",
    "Our kindergarteners sang their hearts out, bless their hearts ❤️",
    "Thank you to the volunteers who stayed until midnight, bless their hearts.",
    "Innovation Week: students shared their most innovative designs with the Grade 3s.",
    "We know which house has the best Halloween decorations on Maple Cres 🎃",
    "Anti-bullying week: we practised what to say when someone types 'L + ratio' under a classmate's post.",
    "We'd cry too if we had to say goodbye to Mrs. Lee after 30 years 😭",
    "Apparently reading is hard to put down once the Grade 3s start a new series!",
    "Interesting how the kids figured out the pattern so fast in math today!",
    "Dead week for the Gr. 8s before the practice exam 💀 hydrate, sleep, remember your calculators!",
    "We played the other team's fight song by mistake at halftime 💀 our band will never live it down",
    "If the bus is late, we'll just wait here in the gym with the kids.",
    "In Grade 1 we use small words to build our first sentences.",
    "The Grade 6 hikers set a fast pace, so parents, please try to keep up on the trail!",
    "Our goalies stood around like statues in the shootout, but we'll get them next time.",
])
def test_look_alikes_of_stock_taunts_stay_clean(engine, text):
    assert "hostile" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    # one person shamed or warned off in public: "to the parent who ...", "we saw", cameras and a long memory
    "To the dad who argued with the cafeteria staff over a juice box: we all saw that.",
    "Dear driver in the red pickup who cut off our crossing guard this morning: we have cameras.",
    "The family who took all the free mittens from the coat drive: we saw. The whole lobby saw.",
    "Shoutout to whoever cut the pizza line today. Everyone saw you, everyone is talking about it.",
    "To the grandparent who yelled at our secretary: we have your licence plate on camera, and a long memory.",
    # "you know who you are" after a misdeed, or with a threat
    "Two Grade 11s were caught vaping in the band room. You know who you are, and so does the office.",
    "We're not mad about the missing calculators, just disappointed. You know who you are.",
    # talking down to families: "some parents seem to think", "not a taxi service", "we'll weigh them accordingly"
    "Some of our parents seem to think the staff lot is a drop-off zone.",
    "A few families have mastered the art of reading 'closed' as 'open'.",
    "Certaines familles semblent croire que la cour est un stationnement.",
    "Reminder: the office is not a free storage locker for hockey bags.",
    "Le secrétariat n'est pas un service de taxi, merci.",
    "Thanks for the parenting tips in the comments. We'll take them accordingly.",
    "Merci pour vos conseils. On va y réfléchir. Longuement.",
    "@jen_k we've answered this four times now: Friday is a PA day.",
    "Here it is again, in bigger letters: NO PARKING IN THE BUS LOOP.",
    "The rest of us also have jobs to get to, so please pull forward in the drop-off lane.",
    "Our Grade 8s couldn't tell a noun from a nectarine on today's quiz.",
    "Apparently the Grade 9s can't be trusted with glue sticks.",
    # putting down another team: "really thought they could", "still looking for their offence", "only took till March"
    "Westdale really thought they could keep up with us 😂",
    "Eastview still searching for their offence after tonight's game 🔍",
    "Congrats to Northgate on their first goal of the year! Only took till March.",
    "Next time, Central, try to hit the rim at least once 🏀",
    "After a 52-3 loss the Rams should consider a different sport.",
    "The other team's warm-up routine 😂😂 no words",
])
def test_shaming_condescension_and_put_downs_without_insult_words_are_hostile(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "To the family who donated the new reading chairs: thank you so much!",
    "To the parent who found Mia's glasses on the field, we're so grateful.",
    "To the family who asked about the dress code on our last post: we're happy to talk it through. Please call the office.",
    "To the parent who asked about concert parking: the map is on page 2 of the newsletter.",
    "Everyone saw you shine at the spring concert, Grade 3! 🎶",
    "We have cameras for the robotics team's livestream, come watch Saturday!",
    "Elephants have a long memory, Grade 2 learned at the zoo today 🐘",
    "We know who you are... our volunteers of the year! Thank you all 💙",
    "To our volunteers: you know who you are, and we couldn't do it without you! ❤️",
    "Some parents have asked about the bus route change; here are the details.",
    "Some families seem to love the new pickup app, and we're glad!",
    "Certains parents ont demandé l'horaire de la cafétéria : le voici.",
    "Our new storage lockers are in! Each team gets one for equipment.",
    "Grades are weighted accordingly: tests 60%, projects 40%.",
    "Grade 4 practised writing their names in bigger letters on the mural.",
    "The rest of us stayed back to clean the gym, thanks to everyone who helped!",
    "Can you tell a frog from a toad? Join our nature walk Saturday!",
    "Our kindergarteners really thought they could catch the gingerbread man 😂",
    "We're still looking for their lost mittens in the lost & found.",
    "It only took us until March to finish the mural, and it's beautiful!",
    "Never too late to try a new sport: curling sign-ups are open!",
    "Circus workshop day 🤡🎪 the Grade 2s learned juggling and balloon animals!",
    "Spirit Week: Clown Day 🤡 best red nose wins a cookie!",
    "Freakin' fantastic turnout at the book fair, folks!",
    "Les retards répétés seront signalés aux familles. Merci de votre collaboration.",
    "So proud of this crew for pushing through the last kilometre!",
    "We've been asked to stop calling the class hamster 'a brat'. He is a complex rodent. 🐹",
])
def test_look_alikes_of_shaming_and_put_downs_stay_clean(engine, text):
    assert "hostile" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    # sarcastic thanks to one person for a misdeed, their own words quoted back at them
    "Big thanks to the dad in the front row who took a phone call during the anthem.",
    "Thank you to the family who sent their son to camp with strep throat. The cabin says hi.",
    "To the parent who needed 'just five minutes' at 3:59 on a Friday: we went home at 6.",
    "No, your daughter's 'emergency' was not a reason to call the principal at home.",
    # talking down: painted lines as art, thinking done for you, "read a book, Name.", a shouted correction
    "Some of our drivers treat the crosswalk lines as decorations.",
    "Nice to see a calculator doing all the thinking for them at the math contest.",
    "Vaccines don't cause that. Read a book, Darren.",
    "DISMISSAL IS AT 3:15. NOT 3:30. NOT 'AROUND THREE.'",
    # another team put down: "a choice", their gifts and free cardio, "let us score whenever we wanted"
    "Their halftime show was definitely... a choice.",
    "Thanks to the Ridgeview keeper for the 6 gifts tonight 🎁",
    "Thanks Northgate for the free workout this morning 😂",
    "Eastdale let us shoot whenever we wanted. Very generous.",
    "Their student section was loud... for the first two minutes.",
    "Their back line folded like a cheap tent in the second half 😂",
    # a named student's punishment held up as a lesson
    "Grade 9 student Noah Fisher suspended for vaping. Let this be a lesson to everyone.",
])
def test_sarcastic_thanks_talking_down_and_rival_put_downs_are_hostile(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Thanks to the family in Room 12 who sent in extra mittens for the class!",
    "Our 'Research Fair' opens Thursday in the library.",
    "In an emergency, call 911 first, then the school office.",
    "Kindness is a choice we make every day 💛",
    "Pizza or pasta for the Grade 8 lunch? Either is a good choice!",
    "Thanks for the gifts, families! The staff loved the cookie tins 🎁",
    "Free workout in the gym for families every Saturday morning!",
    "Read a book, Grade 4! Our reading challenge starts Monday.",
    "Dismissal is at 3:15. Not 3:30 anymore, starting Monday.",
    "Our fort design folded like a card table, so we rebuilt it stronger!",
    "Senior boys DESTROYED the full-court press tonight 🔥 Final 68-51 over Port Dover.",
    "Great game both benches! We'll see them again in the rematch.",
])
def test_look_alikes_of_sarcastic_thanks_and_put_downs_stay_clean(engine, text):
    assert "hostile" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "If I see one more coffee cup on the bleachers, the bleachers close.",
    "Si on voit encore une voiture dans le débarcadère, on appelle la police.",
    "If one more parent tells me how to run the book fair, they can run the book fair.",
    "Thanks to the refs for their creative interpretation of the offside rule 🤓",
    "Their power play tonight? It was painful, honestly 😂",
])
def test_ultimatums_and_jabs_at_referees_and_rivals_are_hostile(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "If one more person signs up, the bus is full!",
    "If we see one more sunny day, the garden will bloom 🌷",
    "Grade 11 drama: a creative interpretation of Hamlet set on the moon.",
    "It was sad to say goodbye to our seniors tonight 💙",
])
def test_look_alikes_of_ultimatums_and_jabs_stay_clean(engine, text):
    assert "hostile" not in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "Congrats to our chess team on first place! And to Eastdale for finishing… somewhere.",
    "To the driver who keeps idling by the door: we see you. 👀",
    "We know it's you, Room 14. Return the stapler.",
    "Thanks for all the 'helpful' comments about the new bell schedule.",
    "Happy to explain the bus routes to those parents again. Slowly.",
    "We read every email, which is more than can be said for the newsletter's readers.",
    "Most families manage to label a coat. Just saying.",
    "Cancelling a game over a light drizzle? Couldn't be us.",
    "Nice bridge design, Central. Did the Grade 1s build it, or was that on purpose?",
])
def test_pauses_fragments_and_asides_that_talk_down_are_hostile(engine, text):
    assert "hostile" in rule_categories(engine, text)


@pytest.mark.parametrize("text", [
    "We see you working so hard before exams, Grade 12s! 💪",
    "And the winner of the coat drive is… everyone!",
    "Our helpers explained the science fair rules slowly and clearly for the Grade 1s.",
    "Many families manage busy mornings with our before-care program, now open for registration.",
    "Guess who visited the library today? It was us, with the Grade 2s!",
])
def test_look_alikes_of_pauses_and_asides_stay_clean(engine, text):
    assert "hostile" not in rule_categories(engine, text)


def test_one_weak_signal_of_talking_down_is_medium_and_a_clear_callout_high(engine):
    # one inferential rule hit the text model does not confirm is a single weak signal: never `high`
    assert severities(engine, "Some of our drivers treat the crosswalk lines as decorations.") == {"hostile": "medium"}
    assert severities(engine, "Their halftime show was definitely... a choice.") == {"hostile": "medium"}
    callout = "Two Grade 11s were caught vaping in the band room. You know who you are, and so does the office."
    assert severities(engine, callout)["hostile"] == "high"
