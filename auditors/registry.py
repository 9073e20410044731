"""The ordered table of auditors, and running them over a post.

Each row names `module:Class`. An auditor is built once with the policy; one that raises
`Disabled` (missing model package or setting) is left out with its reason, reported once.
An auditor that fails on one post is recorded and skipped; the others still run.

An auditor with `supplements = True` (the statistical text model) fills gaps: it runs after all the
others and is called as `audit(post, context, found=...)` with the categories they found on the
post; it skips those, and any finding it still makes in one of them is dropped.
"""
from __future__ import annotations

import logging
from importlib import import_module

from auditors.base import AuditContext, Auditor, Disabled, Policy
from records.model import Finding, Post

log = logging.getLogger(__name__)

#: Every auditor, in the order they run. Add a concern by adding a module and a row.
AUDITORS: tuple[str, ...] = (
    "auditors.repost:RepostAuditor",
    "auditors.photo_captions:PhotoCaptionAuditor",
    "auditors.image_auditors:StudentPhotoImageAuditor",
    "auditors.commercial:CommercialAuditor",
    "auditors.political:PoliticalAuditor",
    "auditors.religion:ReligionAuditor",
    "auditors.substances:SubstancesAuditor",
    "auditors.explicit:ExplicitAuditor",
    "auditors.image_auditors:ExplicitImageAuditor",
    "auditors.hostile:HostileAuditor",
    "auditors.privacy:PrivacyAuditor",
    "auditors.text_model:TextModelAuditor",  # a supplement: runs last, only where the others found nothing
)


def load_auditors(policy: Policy, table: tuple[str, ...] = AUDITORS) -> tuple[list[Auditor], dict[str, str]]:
    """The auditors that can run here, and {name: reason} for those that disabled themselves."""
    ready, disabled = [], {}
    for row in table:
        module_name, _, class_name = row.partition(":")
        cls = getattr(import_module(module_name), class_name)
        if not any(policy.enabled(c) for c in cls.categories):
            disabled[cls.name] = "its categories are disabled in the policy"
            continue
        try:
            ready.append(cls(policy))
        except Disabled as reason:
            disabled[cls.name] = str(reason)
            log.warning("auditor %s disabled: %s", cls.name, reason)
    return ready, disabled


def audit_post(post: Post, context: AuditContext, auditors: list[Auditor]) -> list[Finding]:
    """All findings of all auditors on one post, without duplicates, in category order.
    Supplementing auditors run last and only add categories the others did not find."""
    findings: dict[tuple, Finding] = {}
    later = []
    for auditor in auditors:
        if getattr(auditor, "supplements", False):
            later.append(auditor)
        else:
            _collect(auditor, post, context, findings)
    if later:
        found = frozenset(category for category, _, _ in findings)
        for auditor in later:
            _collect(auditor, post, context, findings, found)
    return list(findings.values())


def _collect(auditor: Auditor, post: Post, context: AuditContext, findings: dict, found: frozenset | None = None) -> None:
    """Add one auditor's findings; a supplement (`found` given) is told, and may not repeat, the categories found."""
    try:
        produced = list(auditor.audit(post, context) if found is None else auditor.audit(post, context, found=found))
    except Exception:  # one auditor's bug must not lose the others' findings
        log.exception("auditor %s failed on post %s", auditor.name, post.key)
        return
    for finding in produced:
        if context.policy.enabled(finding.category) and not (found and finding.category in found):
            findings.setdefault((finding.category, finding.where, finding.evidence), finding)
