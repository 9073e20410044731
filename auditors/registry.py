"""The ordered table of auditors, and running them over a post.

Each row names `module:Class`. An auditor is built once with the policy; one that raises
`Disabled` (missing model package or setting) is left out with its reason, reported once.
An auditor that fails on one post is recorded and skipped; the others still run.

An auditor with `supplements = True` (the statistical text model) fills gaps: it runs after all the
others and is called as `audit(post, context, found=...)` with the categories they found on the
post; it skips those, and any finding it still makes in one of them is dropped. Before that, one
that has a `review(post, context, findings)` method gets the others' findings and returns those that
stand: the text model vetoes a category resting on one look-alike word, or lowers its severity.
Before a run of posts, `prepare` shows them to the auditors that have a `prepare(posts)` method.
`audit_posts` audits a run of posts by stages: the other auditors on every post first; then a supplement
with `foresee(posts, findings)` is shown each post's findings so far, so that what its reviews and its own
findings will need is worked out in one call for all (the text model scores sentences only where it may
flag or veto); then the reviews and the supplements, post by post.

Other packages add auditors through the entry-point group `schoolaudit.auditors` (value =
`module:Class`). They run after the built-in ones and before the supplements, or just before the
auditor their class names in `runs_before`. A plugin that fails to load or to start is off, with
its reason, like a built-in auditor that raised `Disabled`; the run goes on without it.
"""
from __future__ import annotations

import logging
import time

from auditors.base import AuditContext, Auditor, Disabled, Policy
from auditors.cache import remember_valid_patterns
from auditors.plugins import EntryPoint, entry_points
from records.model import CATEGORIES, Finding, Post

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

#: The rows whose auditors read the pixels of a post's downloaded images. Their modules import the image
#: models' libraries (numpy, onnxruntime, OCR): a caller whose posts carry no downloaded image (`classify`:
#: alt texts only) leaves them out and never imports them; they would find nothing on such posts.
READS_IMAGES: frozenset[str] = frozenset({
    "auditors.image_auditors:StudentPhotoImageAuditor",
    "auditors.image_auditors:ExplicitImageAuditor",
})

#: The rows that are no RuleAuditors, left unimported when a policy is read: the image auditors, and the text
#: model (numpy: 15 MB resident in every process that reads a configuration, the night's crawling process
#: among them; its rules file has a schema of its own)
NO_RULE_AUDITORS: frozenset[str] = READS_IMAGES | {"auditors.text_model:TextModelAuditor"}


#: The entry-point group through which an installed package adds auditors (README: Extending schoolaudit).
PLUGIN_GROUP = "schoolaudit.auditors"


def load_auditors(policy: Policy, table: tuple[str, ...] | None = None,
                  images: bool = True) -> tuple[list[Auditor], dict[str, str]]:
    """The auditors that can run here, and {name: reason} for those that are off.

    `table` defaults to AUDITORS with the installed plugins' auditors placed among them.
    `images=False`: for posts without downloaded images; the READS_IMAGES rows are left out, unimported.
    """
    disabled: dict[str, str] = {}
    rows = [row for row in (AUDITORS if table is None else table) if images or row not in READS_IMAGES]
    builtin = [EntryPoint(row, row).load() for row in rows]
    plugins = _plugin_classes({cls.name for cls in builtin}, disabled) if table is None else []
    ready = []
    for cls in _placed(builtin, plugins):
        if not any(policy.enabled(c) for c in cls.categories):
            disabled[cls.name] = "its categories are disabled in the policy"
            continue
        try:
            ready.append(cls(policy))
        except Disabled as reason:
            _turn_off(disabled, cls.name, str(reason))
        except Exception as exc:  # a plugin's bug costs its own findings only; a built-in's is ours to see
            if cls not in plugins:
                raise
            _turn_off(disabled, cls.name, f"plugin failed to start ({type(exc).__name__}: {exc})")
    remember_valid_patterns()  # once for all the rules files the auditors compiled, not once per file
    return ready, disabled


def plugin_rule_files() -> set[str]:
    """The NAMEs of the rules/NAME.toml files that installed plugin auditors read (their `rules_file`)."""
    return {cls.rules_file for cls in _plugin_classes(set(), {}) if getattr(cls, "rules_file", None)}


def _plugin_classes(taken: set[str], disabled: dict[str, str]) -> list[type]:
    """The installed plugins' auditor classes; one that cannot be used is turned off with its reason."""
    classes = []
    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            cls = entry.load()
        except Exception as exc:  # whatever a third-party module raises on import, the run goes on
            _turn_off(disabled, entry.name, f"plugin {entry.value} failed to load ({type(exc).__name__}: {exc})")
            continue
        missing = [part for part in ("name", "categories", "audit") if not hasattr(cls, part)]
        if missing:
            _turn_off(disabled, entry.name, f"plugin {entry.value} is not an auditor (no {', '.join(missing)})")
        elif set(cls.categories) - set(CATEGORIES):
            _turn_off(disabled, cls.name, f"plugin {entry.value} names unknown categories "
                                          f"{', '.join(sorted(set(cls.categories) - set(CATEGORIES)))}")
        elif cls.name in taken:
            _turn_off(disabled, entry.name, f"plugin {entry.value} is ignored: auditor name {cls.name!r} is taken")
        else:
            taken.add(cls.name)
            classes.append(cls)
    return classes


def _placed(builtin: list[type], plugins: list[type]) -> list[type]:
    """Plugins go before the first supplementing auditor, or just before the auditor named in their `runs_before`."""
    order = list(builtin)
    for cls in plugins:
        names = [c.name for c in order]
        before = getattr(cls, "runs_before", None)
        index = names.index(before) if before in names else next(
            (i for i, c in enumerate(order) if getattr(c, "supplements", False)), len(order))
        order.insert(index, cls)
    return order


def _turn_off(disabled: dict[str, str], name: str, reason: str) -> None:
    disabled[name] = reason
    log.warning("auditor %s disabled: %s", name, reason)


def prepare(auditors: list[Auditor], posts: list[Post], cpu: dict[str, float] | None = None) -> None:
    """Show the posts about to be audited to the auditors that read many at once more cheaply (the
    text model's scoring, the text rules' prefilter); their findings stay those of each post alone. A
    failure only costs time. `cpu`, when given, accumulates each auditor's CPU seconds by name, as in
    `audit_post`."""
    for auditor in auditors:
        if hasattr(auditor, "prepare"):
            _shown(auditor, "prepare", (posts,), cpu)


def audit_post(post: Post, context: AuditContext, auditors: list[Auditor],
               cpu: dict[str, float] | None = None) -> list[Finding]:
    """All findings of all auditors on one post, without duplicates, in category order.
    Supplementing auditors run last and only add categories the others did not find.
    `cpu`, when given, accumulates each auditor's CPU seconds by name (for the benchmarks)."""
    return audit_posts([(post, context)], auditors, cpu)[0]


def audit_posts(posts: list[tuple[Post, AuditContext]], auditors: list[Auditor],
                cpu: dict[str, float] | None = None) -> list[list[Finding]]:
    """`audit_post` of each (post, context), by stages over all of them (module docstring): each
    post's findings are those it gets alone."""
    later = [auditor for auditor in auditors if getattr(auditor, "supplements", False)]
    firsts = [auditor for auditor in auditors if not getattr(auditor, "supplements", False)]
    found_on: list[dict[tuple, Finding]] = [{} for _ in posts]
    for (post, context), findings in zip(posts, found_on):
        for auditor in firsts:
            _collect(auditor, post, context, findings, cpu=cpu)
    for auditor in later:
        if hasattr(auditor, "foresee"):
            _shown(auditor, "foresee", ([post for post, _ in posts], [list(f.values()) for f in found_on]), cpu)
    for (post, context), findings in zip(posts, found_on):
        for auditor in later:
            if hasattr(auditor, "review"):
                _reviewed(auditor, post, context, findings, cpu)
        found = frozenset(category for category, _, _ in findings)
        for auditor in later:
            _collect(auditor, post, context, findings, found, cpu)
    return [list(findings.values()) for findings in found_on]


def _charge(auditor: Auditor, cpu: dict[str, float] | None, started: float) -> None:
    """Count this thread's CPU since `started` (`time.thread_time`) as the auditor's in `cpu`, when given: this
    thread's, as an audit worker's image threads go on beside the auditors (`schoolaudit.workers`). Called from a
    `finally`, with the clock read only when `cpu` is given: a context manager around every auditor call cost 11 % of
    the text auditors' posts per second (bench/eval_text.py on heldout2: 6,600-7,100 against 7,400-8,000), and
    reading the clock when nobody asked for the CPU about 7 %."""
    if cpu is not None:
        cpu[auditor.name] = cpu.get(auditor.name, 0.0) + time.thread_time() - started


def _shown(auditor: Auditor, method: str, args: tuple, cpu: dict[str, float] | None = None) -> None:
    """Show an auditor a run of posts through one of its batch methods (`prepare`, `foresee`): a failure only
    costs time, the auditor then working out what it needs post by post. Its CPU counts as the auditor's in `cpu`."""
    started = time.thread_time() if cpu is not None else 0.0
    try:
        getattr(auditor, method)(*args)
    except Exception:
        log.exception("auditor %s failed to %s %d posts", auditor.name, method, len(args[0]))
    finally:
        _charge(auditor, cpu, started)


def _identity(finding: Finding) -> tuple[str, str, str]:
    """What makes two findings the same one: two auditors quoting the same words for the same category."""
    return finding.category, finding.where, finding.evidence


def _reviewed(auditor: Auditor, post: Post, context: AuditContext, findings: dict,
              cpu: dict[str, float] | None = None) -> None:
    """Let a supplement with `review` veto or lower the others' findings; if it fails, they stay as they were.
    Its CPU counts as the auditor's in `cpu`, as in `_collect`."""
    started = time.thread_time() if cpu is not None else 0.0
    try:
        kept = auditor.review(post, context, list(findings.values()))
    except Exception:  # one auditor's bug must not lose the others' findings
        log.exception("auditor %s failed to review post %s", auditor.name, post.key)
        return
    finally:
        _charge(auditor, cpu, started)
    findings.clear()
    findings.update((_identity(f), f) for f in kept)


def _collect(auditor: Auditor, post: Post, context: AuditContext, findings: dict, found: frozenset | None = None,
             cpu: dict[str, float] | None = None) -> None:
    """Add one auditor's findings; a supplement (`found` given) is told, and may not repeat, the categories found."""
    started = time.thread_time() if cpu is not None else 0.0
    try:
        produced = list(auditor.audit(post, context) if found is None else auditor.audit(post, context, found=found))
    except Exception:  # one auditor's bug must not lose the others' findings
        log.exception("auditor %s failed on post %s", auditor.name, post.key)
        return
    finally:
        _charge(auditor, cpu, started)
    for finding in produced:
        if context.policy.enabled(finding.category) and not (found and finding.category in found):
            findings.setdefault(_identity(finding), finding)
