"""policy.toml and rules/*.toml: each rules file against the schema of what its auditors read.

Every pattern must compile as the auditors combine it, and the checks a rule names must exist on
its category's auditor, so that a bad rule is a configuration problem with a line here, not an
error when the auditors start.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from auditors.base import CategoryPolicy, Policy, handle_key
from auditors.cache import remember_valid_patterns
from auditors.registry import AUDITORS, NO_RULE_AUDITORS, plugin_rule_files
from auditors.text import CONTEXT_KEYS, RuleAuditor, expand_named_patterns
from records.model import CATEGORIES, SEVERITIES
from schoolaudit.config.files import ConfigError, ConfigFile
from schoolaudit.config.schema import (Rows, Table, Value, choice, did_you_mean, dotted, flag, number, pattern,
                                       patterns, strings, text, whole)
from schoolaudit.config.settings import Settings, _category

POLICY = Table({"categories": Table({name: Table({"clause": text(), "severity": choice(*SEVERITIES), "enabled": flag()})
                                     for name in CATEGORIES})})

WORDS = Value((str, list), "a word or a list of words", items=text())
RULE = Table({
    "id": text(), "explanation": text(), "terms": patterns(), "words": WORDS, "spaced": WORDS,
    **{key: patterns() for key in CONTEXT_KEYS},
    "near": whole(minimum=0), "read": choice("text", "alt", "all"), "severity": choice(*SEVERITIES),
    "requires_check": text(), "unless_check": text(), "check_scope": choice("sentence", "post"),
    "firm": flag(),
}, required=("explanation",))
TEXT_RULES = {"rules": Rows(RULE), "exceptions": patterns(), "post_exceptions": patterns(), "near": whole(minimum=0),
              "restore_case": flag(), "patterns": Table(any_key=pattern())}
SHARE = number(above=0, maximum=1)
IMAGE_RULES = Table({
    "detector": Table({"face_score": SHARE, "nms": SHARE, "model": choice("int8", "fp32"), "max_side": whole(minimum=1),
                       "max_pixels": whole(minimum=1), "identifiable_px": whole(minimum=1),
                       "fine_side": whole(minimum=0), "fine_score": SHARE, "turned": flag(),
                       "coarse_side": whole(minimum=0)}),
    "explicit": Table({"enabled": flag(), "threshold": SHARE, "high": SHARE}),
    "text": Table({"enabled": flag()}),
    "workers": Table({"processes": whole(minimum=0)}),
    "cache": Table({"path": text()}),
    "context": Table({"students": patterns(), "public_event": patterns(), "consent": patterns(),
                      "public_event_severity": choice(*SEVERITIES, "suppress"), "consent_action": choice("suppress", "lower")}),
})
TEXT_MODEL = Table({"enabled": flag(), "threshold": SHARE, "categories": strings(_category),
                    "thresholds": Table(any_key=SHARE, key_check=_category),
                    "vetoes": Table(any_key=number(minimum=0, maximum=1), key_check=_category),
                    "sentences": Table(any_key=Table({"band": SHARE, "threshold": SHARE}, required=("band", "threshold")),
                                       key_check=_category)})
#: What a category's rules file may hold beyond the common text-rule keys.
EXTRA_KEYS = {
    "privacy": {"not_names": strings(), "titles": strings(), "named_child": patterns()},
    "student_photo": {"first_name_action": pattern(), "common_words": strings(), "image": IMAGE_RULES},
}


def rule_auditors() -> dict[str, type]:
    """{category: its RuleAuditor class} for the text auditors of the registry's table (`NO_RULE_AUDITORS`
    are not imported)."""
    found = {}
    for row in AUDITORS:
        if row in NO_RULE_AUDITORS:
            continue
        module_name, _, class_name = row.partition(":")
        cls = getattr(import_module(module_name), class_name)
        if isinstance(cls, type) and issubclass(cls, RuleAuditor):
            found[cls.category] = cls
    return found


def rule_schemas(auditors: dict[str, type]) -> dict[str, Table]:
    """The schema of every rules file a board may have, by file stem."""
    schemas = {category: Table({**TEXT_RULES, **EXTRA_KEYS.get(category, {})}) for category in auditors}
    return {**schemas, "student_photo_image": IMAGE_RULES, "text_model": TEXT_MODEL}


def check_rule_files(directory: Path) -> list[ConfigFile]:
    """Every rules/*.toml read and checked (unknown file names too)."""
    auditors = rule_auditors()
    schemas = rule_schemas(auditors)
    plugin_files = plugin_rule_files()  # read, and checked, by the plugin's own auditor
    files = []
    for path in sorted((directory / "rules").glob("*.toml")):
        file = ConfigFile.read(path)
        files.append(file)
        if file.problems or path.stem in plugin_files:
            continue
        if path.stem not in schemas:
            file.add((), f"no auditor reads rules/{path.name}{did_you_mean(path.stem, schemas)} "
                         f"(known: {', '.join(sorted(schemas))})")
        else:
            if path.stem in auditors:  # the patterns are checked as the auditors read them, named patterns put in
                file.data = expand_named_patterns(file.data,
                                                  lambda where, message: file.add(where, f"{dotted(where)}: {message}"))
            if file.check(schemas[path.stem]) and path.stem in auditors:
                _check_text_rules(file, auditors[path.stem])
    remember_valid_patterns()
    return files


def _check_text_rules(file: ConfigFile, auditor: type) -> None:
    """What the schema cannot say: a rule needs something to match, and its checks must exist."""
    checks = auditor.known_checks()
    for index, rule in enumerate(file.data.get("rules", [])):
        if not any(rule.get(key) for key in ("terms", "words", "spaced")):
            file.add(("rules", index), f"rules[{index + 1}] needs `terms`, `words` or `spaced`")
        for key in ("requires_check", "unless_check"):
            if key in rule and rule[key] not in checks:
                file.add(("rules", index, key), f"rules[{index + 1}].{key}: unknown check {rule[key]!r}"
                         f"{did_you_mean(rule[key], checks)} (known: {', '.join(checks)})")


def check_policy(directory: Path, settings: Settings | None = None, registry=None) -> tuple[Policy | None, list[ConfigFile]]:
    """The policy (None when a file has problems) and the files read: policy.toml and rules/*.toml."""
    file = ConfigFile.read(directory / "policy.toml")
    if not file.problems:
        file.check(POLICY)
    rule_files = check_rule_files(directory)
    files = [file, *rule_files]
    if any(f.problems for f in files):
        return None, files
    rules = {f.path.stem: f.data for f in rule_files}
    categories = {}
    for name in CATEGORIES:
        entry = file.data.get("categories", {}).get(name, {})
        categories[name] = CategoryPolicy(name, entry.get("clause", ""), entry.get("severity", "medium"),
                                          entry.get("enabled", True), rules.get(name, {}))
    own = {handle_key(a.target) for a in registry.accounts} if registry else set()
    policy = Policy(
        categories=categories,
        own_handles=frozenset(own),
        partner_handles=frozenset(handle_key(h) for h in (settings.partners.handles if settings else ())),
        accepted_sponsors=frozenset(settings.sponsors.accepted if settings else ()),
        config_dir=directory,
        rule_files=rules,
    )
    return policy, files


def load_policy(directory: Path, settings: Settings | None = None, registry=None) -> Policy:
    """The policy: clauses and severities from policy.toml, words and patterns from rules/*.toml."""
    policy, files = check_policy(directory, settings, registry)
    if policy is None:
        raise ConfigError(problems=[p for f in files for p in f.problems])
    return policy
