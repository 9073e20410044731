"""student_photo from text: alt text and captions that describe identifiable students.

Only the description of an attached image is read: a post with images but no alt text is the
image auditor's to judge (it looks at the pixels). Hands, backs of heads, silhouettes, hidden
faces, artwork, staff-only photos and distant crowds are left alone.
The words are in config/rules/student_photo.toml; the method is auditors.text.RuleAuditor. A
person named in full in an alt text is taken for a student unless named with a staff title (the
full-name check uses `not_names` and `titles` from config/rules/privacy.toml).
"""
from __future__ import annotations

import re

from auditors.text import RuleAuditor


class PhotoCaptionAuditor(RuleAuditor):
    name = "photo_captions"
    category = "student_photo"

    def __init__(self, policy):
        super().__init__(policy)
        rules = policy[self.category].rules
        pattern = rules.get("first_name_action")
        self._first_name_action = re.compile(pattern) if pattern else None
        names = policy["privacy"].rules
        self._not_first_names = frozenset(w.lower() for w in
                                          list(rules.get("common_words", [])) + list(names.get("not_names", []))
                                          + list(names.get("titles", [])))

    def check_first_name_shown(self, sentence: str) -> bool:
        """True when the description names someone by first name and says what they do in frame
        ("Jayden holding his trophy"); capitalised common words and titles are not names."""
        if self._first_name_action is None:
            return False
        return any(m.group(1).lower() not in self._not_first_names for m in self._first_name_action.finditer(sentence))
