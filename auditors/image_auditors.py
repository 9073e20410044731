"""Image auditors: faces in a post's images (student_photo) and explicit images (explicit).

Both read the pixels of every image a post carries (photos, carousel children, video thumbnails:
every `Media` with a `path`; images not downloaded are skipped) on this machine, through one
shared `ImageAnalyser`, so each image is analysed once per process and once ever per sha256 when
the persistent cache is on. Findings carry `where="image:N"` (N is the index in `post.media`, as
`alt:N` is) and `media_sha256`; evidence counts 1-based images, as people do.

Rules and thresholds come from `rules/student_photo_image.toml` in the policy's configuration
folder, or from an `[image]` table in the student_photo rules when a board prefers one file. See README.md, "Image auditing".

Detectors also fire on drawn, painted and computer-rendered faces, and no model here can tell a
student from an adult reliably, so explanations say "appears to show" and "possibly students".
"""
from __future__ import annotations

import functools
import logging
import os
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Callable

from auditors import explicit_image, faces, image_text
from auditors.base import AuditContext, Disabled, Policy
from auditors.image_analysis import ImageAnalyser, ImageAnalysis, ImageSettings
from records.image_cache import ImageCache
from records.model import SEVERITIES, Finding, Post

log = logging.getLogger(__name__)

RULES_FILE = "student_photo_image.toml"
CACHE_FILE = "image-analysis.sqlite"
BUNDLED_RULES = Path(__file__).resolve().parent.parent / "config" / "rules" / RULES_FILE

_ANALYSERS: dict[tuple, ImageAnalyser] = {}


def load_image_rules(policy: Policy | None = None) -> tuple[dict, Path | None]:
    """(rules, configuration folder they came from): the policy's inline [image] table or its
    rules/student_photo_image.toml; without a policy, the bundled example's file."""
    if policy is not None:
        inline = policy.categories["student_photo"].rules.get("image") if "student_photo" in policy.categories else None
        if isinstance(inline, dict) and inline:
            return inline, policy.config_dir
        if RULES_FILE.removesuffix(".toml") in policy.rule_files:
            return policy.rule_files[RULES_FILE.removesuffix(".toml")], policy.config_dir
    if BUNDLED_RULES.exists():
        with BUNDLED_RULES.open("rb") as handle:
            return tomllib.load(handle), BUNDLED_RULES.parent.parent
    return {}, None


def configured_cache_path(rules: dict, directory: Path | None) -> Path | None:
    """[cache] path from the rules (relative to the configuration folder), or None."""
    configured = str(rules.get("cache", {}).get("path", "") or "")
    if not configured:
        return None
    path = Path(configured)
    return path if path.is_absolute() or directory is None else (directory / path).resolve()


def media_cache_path(media_path: str | Path, sha256: str | None) -> Path | None:
    """`image-analysis.sqlite` in the media folder, recognised from the crawler's layout
    `<media_dir>/<sha256[:2]>/<sha256>.<ext>`; None for an image stored some other way."""
    path = Path(media_path)
    if sha256 and path.stem == sha256 and path.parent.name == sha256[:2]:
        return path.parent.parent / CACHE_FILE
    return None


def shared_analyser(settings: ImageSettings, cache_path: Path | None) -> ImageAnalyser:
    """One analyser per (settings, cache) in this process, shared by both image auditors."""
    key = (settings, str(cache_path) if cache_path else None)
    if key not in _ANALYSERS:
        _ANALYSERS[key] = ImageAnalyser(settings, ImageCache(cache_path))
    return _ANALYSERS[key]


def forget_analyses() -> None:
    """Drop the analyses every shared analyser holds in memory (each is kept in its SQLite file): an audit
    worker's after each account, so that it holds none of an earlier account's."""
    for analyser in _ANALYSERS.values():
        analyser.cache.forget()


def image_settings(policy: Policy, rules: dict) -> ImageSettings:
    """The analysis settings from the image rules, with the models this machine lacks and the
    categories the policy leaves off turned off (no score nobody reads)."""
    settings = ImageSettings.from_rules(rules)
    if settings.explicit and not policy.enabled("explicit"):
        settings = replace(settings, explicit=False)
    for field, module, what in (("explicit", explicit_image, "explicit-image scores off"),
                                ("text", image_text, "text in images not read")):
        if getattr(settings, field):
            try:
                module.check_available()
            except module.ModelMissing as exc:
                log.warning("%s: %s", what, exc)
                settings = replace(settings, **{field: False})
    return settings


#: id(policy) -> (policy, the image machinery reading its posts' images, or None when it cannot run);
#: the policy is kept so that its id is never reused by another one
_TEXT_READERS: dict[int, tuple[Policy, "_ImageAuditorBase | None"]] = {}


def image_texts(post: Post, policy: Policy) -> list[tuple[str, str]]:
    """("image_text:N", text) for each downloaded image of the post that holds text, read with
    the same settings and cache as the image auditors (each image is read once)."""
    if not any(m.path for m in post.media):
        return []
    if id(policy) not in _TEXT_READERS:
        try:
            _TEXT_READERS[id(policy)] = (policy, _ImageAuditorBase(policy))
        except Disabled as reason:
            log.warning("text in images not read: %s", reason)
            _TEXT_READERS[id(policy)] = (policy, None)
    reader = _TEXT_READERS[id(policy)][1]
    if reader is None or not reader.settings.text:
        return []
    return [(f"image_text:{index}", analysis.text) for index, _, analysis in reader._analyses(post) if analysis.text]


def image_reader(auditors: list) -> "_ImageAuditorBase | None":
    """The first auditor among `auditors` that reads images (it analyses them for all), None when none does."""
    return next((auditor for auditor in auditors if isinstance(auditor, _ImageAuditorBase)), None)


def image_jobs(reader: "_ImageAuditorBase", posts: list[Post]) -> list[tuple[str, Callable[[], object]]]:
    """[(the image's key, a call that analyses it into the shared analyser's cache)] for every downloaded image of
    `posts`, read by `reader` (`image_reader`) for all the image auditors, once each, the largest files first: an
    audit worker runs them on its threads ahead of the auditors (`schoolaudit.workers`), and an account's smallest
    left for its end keep fewer cores waiting for its last one."""
    # one per image: a picture in two posts analysed by two threads at once would be read twice
    media = list({m.sha256 or m.path: m for post in posts for m in post.media if m.path}.values())
    if not media:
        return []
    analyser = reader._analyser_for(media[0])
    media.sort(key=lambda m: _file_size(reader._resolve(m.path)), reverse=True)  # the longest jobs first
    return [(m.sha256 or m.path, functools.partial(analyser.analyse, [reader._resolve(m.path)], [m.sha256]))
            for m in media]


def _file_size(path: str) -> int:
    """Bytes of an image file, 0 when it cannot be read (its analysis says why)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _ImageAuditorBase:
    name = "image"
    categories: tuple[str, ...] = ()

    def __init__(self, policy: Policy, rules: dict | None = None, cache_path: str | Path | None = None,
                 analyser: ImageAnalyser | None = None):
        try:
            faces.check_available()
        except faces.ModelMissing as exc:
            raise Disabled(str(exc)) from None
        directory = None
        if rules is None:
            rules, directory = load_image_rules(policy)
        self.rules = rules
        self.settings = image_settings(policy, rules)
        self.cache_path = Path(cache_path) if cache_path else configured_cache_path(rules, directory)
        self.analyser = analyser  # else chosen on first use, when the media folder is known

    def _analyser_for(self, media) -> ImageAnalyser:
        if self.analyser is None:
            path = self.cache_path or media_cache_path(media.path, media.sha256)
            self.analyser = shared_analyser(self.settings, path)
        return self.analyser

    def _analyses(self, post: Post) -> list[tuple[int, object, ImageAnalysis]]:
        """(index in post.media, media, analysis) for every downloaded image of the post."""
        items = [(i, m) for i, m in enumerate(post.media) if m.path]
        if not items:
            return []
        paths = [self._resolve(m.path) for _, m in items]
        analyses = self._analyser_for(items[0][1]).analyse(paths, [m.sha256 for _, m in items])
        out = []
        for (index, media), analysis in zip(items, analyses):
            if analysis.error:
                log.info("image %d of post %s not analysed: %s", index + 1, post.key, analysis.error)
                continue
            out.append((index, media, analysis))
        return out

    @staticmethod
    def _resolve(path: str) -> str:
        """The crawler stores absolute paths in the media folder; a relative one is taken as is."""
        return str(Path(path))


def _patterns(values) -> list[re.Pattern]:
    compiled = []
    for value in values or []:
        try:
            compiled.append(re.compile(value, re.IGNORECASE))
        except re.error as exc:
            log.warning("image rules: bad pattern %r ignored (%s)", value, exc)
    return compiled


def _first_match(patterns: list[re.Pattern], text: str) -> str | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match.group(0)
    return None


def _media_label(index: int, media) -> str:
    return f"video thumbnail {index + 1}" if getattr(media, "kind", "image") == "video_thumbnail" else f"image {index + 1}"


class StudentPhotoImageAuditor(_ImageAuditorBase):
    """Faces in a post's images, weighed with what the post says (students, public event, consent)."""

    name = "student_photo_image"
    categories = ("student_photo",)

    def __init__(self, policy: Policy, **kwargs):
        super().__init__(policy, **kwargs)
        context = self.rules.get("context", {})
        self.students = _patterns(context.get("students"))
        self.public_event = _patterns(context.get("public_event"))
        self.consent = _patterns(context.get("consent"))
        self.public_event_severity = context.get("public_event_severity", "low")
        self.consent_action = context.get("consent_action", "suppress")
        if self.public_event_severity not in SEVERITIES + ("suppress",):
            self.public_event_severity = "low"

    def audit(self, post: Post, context: AuditContext) -> list[Finding]:
        findings = []
        post_text = f"{post.title}\n{post.text}"
        for index, media, analysis in self._analyses(post):
            if not analysis.faces:
                continue
            finding = self._finding(post_text, index, media, analysis, context)
            if finding:
                findings.append(finding)
        return findings

    def _finding(self, post_text: str, index: int, media, analysis: ImageAnalysis, context: AuditContext):
        text = f"{post_text}\n{media.alt}"
        where_label = _media_label(index, media)
        identifiable = analysis.identifiable(self.settings.identifiable_px)
        largest = max(f.size for f in analysis.faces)
        count = len(analysis.faces)
        noun = "face" if count == 1 else "faces"
        if identifiable:
            evidence = f"{count} {noun}, largest {largest} px, in {where_label}"
        else:
            evidence = f"{count} small {noun}, largest {largest} px, in {where_label}"
        severity = context.policy["student_photo"].severity
        consent = _first_match(self.consent, text)
        public = _first_match(self.public_event, text)
        students = _first_match(self.students, text)
        shows = (f"{where_label.capitalize()} appears to show {count} {noun}"
                 + ("" if identifiable else f" too small to recognise easily (under {self.settings.identifiable_px} px)"))
        if consent:
            if self.consent_action == "suppress":
                return None
            severity = "low"
            explanation = f"{shows}, possibly students, but the post notes consent (“{consent}”)."
        elif public:
            if self.public_event_severity == "suppress":
                return None
            severity = self.public_event_severity
            explanation = (f"{shows}, possibly students, at what the post calls a public event (“{public}”), "
                           "which the procedure exempts when there is no expectation of privacy.")
        elif not identifiable:
            severity = "low"
            explanation = f"{shows}, possibly students; the procedure says not to post pictures of students."
        elif students:
            explanation = (f"{shows}, and the post mentions “{students}”, so these are possibly students; "
                           "the procedure says not to post pictures of students.")
        else:
            if context.account_kind == "board" and SEVERITIES.index(severity) > SEVERITIES.index("medium"):
                severity = "medium"  # board accounts often show staff and trustees
            explanation = (f"{shows} large enough to recognise, possibly students on a "
                           f"{context.account_kind} account; the procedure says not to post pictures of students.")
        return context.finding("student_photo", evidence, explanation, self.name, severity=severity,
                               where=f"image:{index}", media_sha256=media.sha256 or analysis.sha256)


class ExplicitImageAuditor(_ImageAuditorBase):
    """Explicit images by the open_nsfw score (no faces involved)."""

    name = "explicit_image"
    categories = ("explicit",)

    def __init__(self, policy: Policy, **kwargs):
        try:
            explicit_image.check_available()
        except explicit_image.ModelMissing as exc:
            raise Disabled(str(exc)) from None
        super().__init__(policy, **kwargs)
        if not self.settings.explicit:
            raise Disabled("explicit-image scoring is off ([explicit] enabled = false in rules/student_photo_image.toml)")

    def audit(self, post: Post, context: AuditContext) -> list[Finding]:
        findings = []
        for index, media, analysis in self._analyses(post):
            score = analysis.explicit
            if score is None or score < self.settings.explicit_threshold:
                continue
            where_label = _media_label(index, media)
            likely = score >= self.settings.explicit_high
            severity = context.policy["explicit"].severity if likely else "medium"
            evidence = f"explicit-image score {score:.2f} in {where_label}"
            explanation = (f"{where_label.capitalize()} {'is likely' if likely else 'may be'} explicit "
                           f"(open_nsfw score {score:.2f}); the procedure forbids explicit content on board accounts.")
            findings.append(context.finding("explicit", evidence, explanation, self.name, severity=severity,
                                            where=f"image:{index}", media_sha256=media.sha256 or analysis.sha256))
        return findings
