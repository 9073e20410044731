"""student_photo from text: alt text and captions that describe identifiable students.

Only the description of an attached image is read: a post with images but no alt text is the
image auditor's to judge (it looks at the pixels). Hands, backs of heads, silhouettes, hidden
faces, artwork, staff-only photos and distant crowds are left alone.
The words are in config/rules/student_photo.toml; the method is auditors.text.RuleAuditor. A
person named in full in an alt text is taken for a student unless named with a staff title (the
full-name check uses `not_names` and `titles` from config/rules/privacy.toml).
"""
from __future__ import annotations

from auditors.text import RuleAuditor


class PhotoCaptionAuditor(RuleAuditor):
    name = "photo_captions"
    category = "student_photo"
