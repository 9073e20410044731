"""The image auditors on posts: student_photo from faces with post context, explicit from the score."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

from auditors import faces as faces_module
from auditors.base import AuditContext, CategoryPolicy, Disabled, Policy
from auditors.image_analysis import ImageAnalyser, ImageSettings
from auditors.image_auditors import BUNDLED_RULES, ExplicitImageAuditor, StudentPhotoImageAuditor, load_image_rules
from auditors.registry import AUDITORS, load_auditors
from records.model import Account, Media, Post
from schoolaudit.config import read_toml

ASTRONAUT = Path(__file__).resolve().parent / "fixtures" / "images" / "astronaut.jpg"
RULES = read_toml(BUNDLED_RULES)


def _policy() -> Policy:
    return Policy(categories={
        "student_photo": CategoryPolicy("student_photo", "Do not post pictures of students.", "high"),
        "explicit": CategoryPolicy("explicit", "Do not post ... explicit content ...", "high"),
    })


def _context(kind: str = "school") -> AuditContext:
    account = Account("maple-es", "Maple ES", kind, "rss", "https://example.org/feed", school=None if kind == "board" else "maple")
    return AuditContext(_policy(), account)


def _media(path: Path, alt: str = "") -> Media:
    data = path.read_bytes()
    return Media(url=f"https://example.org/{path.name}", alt=alt, sha256=hashlib.sha256(data).hexdigest(), path=str(path))


def _post(text: str, media: list[Media], title: str = "") -> Post:
    return Post("maple-es", "rss", "1", "https://example.org/p/1", datetime(2025, 1, 1, tzinfo=timezone.utc),
                text, media, title=title)


@pytest.fixture(scope="module")
def analyser():
    shared = ImageAnalyser(ImageSettings.from_rules(RULES))
    yield shared
    shared.close()


@pytest.fixture
def blank(tmp_path) -> Path:
    path = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), (230, 230, 230)).save(path)
    return path


def _auditor(analyser, rules=RULES, cls=StudentPhotoImageAuditor):
    return cls(_policy(), rules=rules, analyser=analyser)


def test_face_on_a_school_account_is_a_student_photo(analyser, blank):
    media = [_media(blank), _media(ASTRONAUT)]
    findings = _auditor(analyser).audit(_post("Our week in pictures", media), _context())
    assert len(findings) == 1
    finding = findings[0]
    assert finding.category == "student_photo" and finding.auditor == "student_photo_image"
    assert finding.where == "image:1"  # index into post.media, like alt:N
    assert finding.media_sha256 == media[1].sha256
    assert finding.severity == "high"
    assert finding.evidence.startswith("1 face, largest ") and finding.evidence.endswith(" px, in image 2")
    assert "possibly students" in finding.explanation
    assert finding.clause == "Do not post pictures of students."


def test_caption_naming_students_is_said(analyser):
    findings = _auditor(analyser).audit(_post("Grade 5 students at the science fair", [_media(ASTRONAUT)]), _context())
    assert findings[0].severity == "high"
    assert "mentions" in findings[0].explanation and "possibly students" in findings[0].explanation


def test_public_event_lowers_the_severity(analyser):
    post = _post("Thanks to everyone who came to the Santa Claus parade downtown!", [_media(ASTRONAUT)])
    (finding,) = _auditor(analyser).audit(post, _context())
    assert finding.severity == "low"
    assert "public event" in finding.explanation and "parade" in finding.explanation


def test_public_event_in_alt_text_counts_too(analyser):
    post = _post("What a day!", [_media(ASTRONAUT, alt="Our float at the community parade")])
    (finding,) = _auditor(analyser).audit(post, _context())
    assert finding.severity == "low"


def test_public_event_can_suppress(analyser):
    rules = {**RULES, "context": {**RULES["context"], "public_event_severity": "suppress"}}
    post = _post("Photos from the Remembrance Day ceremony open to the public", [_media(ASTRONAUT)])
    assert _auditor(analyser, rules).audit(post, _context()) == []


@pytest.mark.parametrize("text", ["Shared with parental consent.", "Media release on file for every student pictured.",
                                  "Photo publiée avec le consentement des parents."])
def test_recognised_consent_note_suppresses(analyser, text):
    assert _auditor(analyser).audit(_post(text, [_media(ASTRONAUT)]), _context()) == []


def test_consent_can_lower_instead(analyser):
    rules = {**RULES, "context": {**RULES["context"], "consent_action": "lower"}}
    (finding,) = _auditor(analyser, rules).audit(_post("Shared with parental consent.", [_media(ASTRONAUT)]), _context())
    assert finding.severity == "low" and "consent" in finding.explanation


def test_only_small_faces_are_low(analyser, tmp_path):
    small = tmp_path / "small.jpg"
    portrait = Image.open(ASTRONAUT).convert("RGB")
    canvas = Image.new("RGB", (1280, 960), (120, 140, 160))
    canvas.paste(portrait.resize((96, 96)), (600, 400))  # the face becomes ~20 px
    canvas.save(small, quality=95)
    findings = _auditor(analyser).audit(_post("Assembly", [_media(small)]), _context())
    if not findings:
        pytest.skip("the detector does not see a face this small at this threshold")
    (finding,) = findings
    assert finding.severity == "low" and "small" in finding.evidence


def test_board_account_without_student_mention_is_medium(analyser):
    (finding,) = _auditor(analyser).audit(_post("Our director at the conference", [_media(ASTRONAUT)]), _context("board"))
    assert finding.severity == "medium"


def test_no_face_no_finding_and_undownloaded_images_are_skipped(analyser, blank, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"definitely not a jpeg")
    media = [_media(blank), Media(url="https://example.org/not-fetched.jpg"), _media(broken)]
    auditor = _auditor(analyser)
    assert auditor.audit(_post("Students in the gym", media), _context()) == []
    assert _auditor(analyser, cls=ExplicitImageAuditor).audit(_post("x", media), _context()) == []


def test_each_image_is_analysed_once_across_both_auditors():
    analyser = ImageAnalyser(ImageSettings.from_rules(RULES))
    post = _post("Students", [_media(ASTRONAUT)])
    _auditor(analyser).audit(post, _context())
    _auditor(analyser, cls=ExplicitImageAuditor).audit(post, _context())
    _auditor(analyser).audit(post, _context())
    assert analyser.analysed == 1


def test_explicit_auditor_flags_by_score(analyser):
    post = _post("x", [_media(ASTRONAUT)])
    assert _auditor(analyser, cls=ExplicitImageAuditor).audit(post, _context()) == []  # a portrait is safe
    # thresholds below the portrait's score exercise the finding path (no explicit image is kept here)
    lowered = {**RULES, "explicit": {"enabled": True, "threshold": 0.0, "high": 1.1}}
    (finding,) = _auditor(analyser, lowered, ExplicitImageAuditor).audit(post, _context())
    assert finding.category == "explicit" and finding.where == "image:0"
    assert finding.media_sha256 == post.media[0].sha256
    assert finding.severity == "medium" and "may be explicit" in finding.explanation
    assert finding.evidence.startswith("explicit-image score ")


def test_explicit_can_be_switched_off():
    with pytest.raises(Disabled):
        ExplicitImageAuditor(_policy(), rules={"explicit": {"enabled": False}})


def test_missing_model_disables(monkeypatch, tmp_path):
    monkeypatch.setattr(faces_module, "MODEL_PATH", tmp_path / "missing.onnx")
    with pytest.raises(Disabled, match="face model"):
        StudentPhotoImageAuditor(_policy(), rules=RULES)


def test_registered_and_loaded_from_the_table():
    assert "auditors.image_auditors:StudentPhotoImageAuditor" in AUDITORS
    assert "auditors.image_auditors:ExplicitImageAuditor" in AUDITORS
    table = ("auditors.image_auditors:StudentPhotoImageAuditor", "auditors.image_auditors:ExplicitImageAuditor")
    ready, disabled = load_auditors(_policy(), table)
    assert {a.name for a in ready} == {"student_photo_image", "explicit_image"}, disabled


def test_bundled_rules_are_found_and_complete():
    rules, _ = load_image_rules(None)
    assert rules["detector"]["identifiable_px"] == 24
    assert rules["context"]["public_event"] and rules["context"]["consent"] and rules["context"]["students"]


def test_persistent_cache_lives_in_the_media_folder(tmp_path):
    data = ASTRONAUT.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    stored = tmp_path / "media" / sha[:2] / f"{sha}.jpg"  # the crawler's layout
    stored.parent.mkdir(parents=True)
    stored.write_bytes(data)
    media = Media(url="https://example.org/a.jpg", sha256=sha, path=str(stored))
    auditor = StudentPhotoImageAuditor(_policy(), rules={**RULES, "explicit": {"enabled": False}})
    assert len(auditor.audit(_post("Students", [media]), _context())) == 1
    assert (tmp_path / "media" / "image-analysis.sqlite").exists()
    assert auditor.analyser.cache.path == tmp_path / "media" / "image-analysis.sqlite"
