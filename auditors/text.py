"""Shared machinery of the text auditors: which texts of a post to read, sentences, and rules.

The words live in config/rules/<category>.toml; this module holds the method that every text
auditor shares:

* `post_texts` - the texts an auditor reads: title and body as `where="text"`, each image's alt
  text as `where="alt:N"`.
* `sentence_spans` - sentence (clause) boundaries, so that context words only count when they
  stand in the same sentence as the term they qualify.
* `obfuscated_words` - literal words made tolerant of masking and leetspeak (f*ck, sh!t, a$$).
* `RuleAuditor` - a category's rules compiled from its TOML table. One rule says which terms
  flag, which context in the same sentence, near the term or anywhere in the post cancels or is
  required, and the one-sentence explanation. Each finding quotes the sentence it found,
  verbatim, as its evidence.

Rule keys (each optional except `explanation` and one of `terms`/`words`):

    id, explanation, terms, words, unless, unless_near, unless_before, near, requires, requires_near,
    unless_post, requires_post, read ("text" | "alt" | "all"), severity, requires_check, unless_check

Category keys around the rules: `exceptions` (sentence patterns that cancel every rule),
`post_exceptions` (post patterns that cancel every rule), `near` (default window in characters).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from auditors.base import AuditContext
from crawler.models import Finding, Post

#: Longest evidence quoted from one sentence; a longer sentence is cut around the term.
MAX_EVIDENCE = 220
#: Default distance in characters, either side of a term, that `unless_near`/`requires_near` look at.
DEFAULT_NEAR = 30

# A sentence ends at . ! ? … or a line break, unless the dot closes an abbreviation or a number.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”»)]*(?=\s|$)|\n+|\s[•|·]\s")
_ABBREVIATION = re.compile(
    r"(?:\b(?:mr|mrs|ms|mme|mlle|dr|st|ste|sr|jr|no|vs|etc|ave|rd|blvd|cres|hwy|approx|dept|gr|ex|e\.g|i\.e"
    r"|a\.m|p\.m|[a-z])\.$)", re.IGNORECASE)

_LEET = {
    "a": "a@4", "b": "b8", "c": "c(", "e": "e3€", "g": "g9", "i": "i1!|", "l": "l1|", "o": "o0",
    "s": "s$5", "t": "t7+", "u": "uv",
}
_MASK = "*#%_"
_SUFFIX = r"(?:s|es|ed|er|ers|ing|in|in'|y|ies)?"


def post_texts(post: Post, read: str = "all") -> list[tuple[str, str]]:
    """(where, text) pairs: the title and body as "text", each alt text as "alt:N"."""
    texts = []
    if read in ("all", "text") and post.full_text.strip():
        texts.append(("text", post.full_text))
    if read in ("all", "alt"):
        texts.extend((f"alt:{index}", media.alt) for index, media in enumerate(post.media) if media.alt.strip())
    return texts


@lru_cache(maxsize=8192)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence of `text`, leading and trailing spaces excluded."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        if match.group().startswith(".") and _ABBREVIATION.search(text[max(start, match.start() - 6):match.start() + 1]):
            continue
        if match.group()[:1] in ".!?…" and match.start() > 0 and text[match.start() - 1].isdigit() \
                and match.end() < len(text) and text[match.end():match.end() + 2].strip()[:1].isdigit():
            continue  # 3.5 or 1.2 km, not a sentence end
        end = match.end() if match.group()[:1] in ".!?…" else match.start()
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    result = []
    for begin, end in spans:
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if end > begin:
            result.append((begin, end))
    return tuple(result)


def sentence_at(text: str, position: int) -> tuple[int, int]:
    for begin, end in sentence_spans(text):
        if begin <= position < end:
            return begin, end
    return position, position + 1


def evidence_span(text: str, sentence: tuple[int, int], match: tuple[int, int]) -> str:
    """The sentence holding the match, verbatim; a long one cut at word boundaries around the match."""
    begin, end = sentence
    if end - begin <= MAX_EVIDENCE:
        return text[begin:end]
    room = max(0, MAX_EVIDENCE - (match[1] - match[0])) // 2
    lo, hi = max(begin, match[0] - room), min(end, match[1] + room)
    while lo > begin and not text[lo - 1].isspace():
        lo -= 1
    while hi < end and not text[hi].isspace():
        hi += 1
    return text[lo:hi].strip()


def _leet_classes(word: str) -> list[str]:
    """One regex atom per letter of `word`, tolerant of leetspeak, masking (after the first letter) and repeats."""
    atoms = []
    for index, char in enumerate(word.lower()):
        if char == " ":
            atoms.append(r"[\s_.-]*")
            continue
        variants = _LEET.get(char, char) + (_MASK if index else "")
        atoms.append("[" + re.escape(variants) + "]+")
    return atoms


def _trie_pattern(words: list[list[str]]) -> str:
    """An alternation of atom sequences with shared prefixes factored out (much faster to scan)."""
    groups: dict[str, list[list[str]]] = {}
    ends = False
    for atoms in words:
        if not atoms:
            ends = True
        else:
            groups.setdefault(atoms[0], []).append(atoms[1:])
    branches = [head + _trie_pattern(rest) for head, rest in groups.items()]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and not ends else "(?:" + "|".join(branches) + ")"
    return body + ("?" if ends and branches else "")


def obfuscated_words(words: Iterable[str]) -> str:
    """A regex for whole `words` that also matches masked or leetspeak spellings (f*ck, sh!t, a$$hole, fuuuck)."""
    return r"(?<![\w@#$*])" + _trie_pattern([_leet_classes(w) for w in words]) + _SUFFIX + r"(?![\w*])"


def _lowered_pattern(pattern: str) -> str | None:
    """`pattern` with its letters lower-cased (escapes kept), to scan lower-cased text without
    re.IGNORECASE, which is several times faster; None when a part of it is case-sensitive."""
    if "(?-i" in pattern:
        return None
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index:index + 2])
            index += 2
            continue
        out.append(char.lower())
        index += 1
    return "".join(out)


@lru_cache(maxsize=8192)
def lowered(text: str) -> str | None:
    """`text` lower-cased when that keeps every offset, else None."""
    low = text.lower()
    return low if len(low) == len(text) else None


def compile_any(patterns: Iterable[str], label: str) -> re.Pattern | None:
    """One case-insensitive regex matching any of `patterns`, or None when there are none."""
    patterns = [p for p in patterns if p]
    if not patterns:
        return None
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            from schoolaudit.config import ConfigError  # late: schoolaudit.config imports auditors.base
            raise ConfigError(f"{label}: bad pattern {pattern!r}: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@dataclass
class Rule:
    id: str
    explanation: str
    terms: re.Pattern
    fast_terms: re.Pattern | None = None  # the same, lower-cased, for lower-cased text
    unless: re.Pattern | None = None
    unless_near: re.Pattern | None = None
    unless_before: re.Pattern | None = None
    requires: re.Pattern | None = None
    requires_near: re.Pattern | None = None
    unless_post: re.Pattern | None = None
    requires_post: re.Pattern | None = None
    near: int = DEFAULT_NEAR
    read: str = "all"
    severity: str | None = None
    requires_check: str | None = None
    unless_check: str | None = None


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def compile_rules(category: str, rules: dict) -> tuple[list[Rule], re.Pattern | None, re.Pattern | None]:
    """The rules of one category's TOML table, plus its category-wide sentence and post exceptions."""
    label = f"rules/{category}.toml"
    default_near = int(rules.get("near", DEFAULT_NEAR))
    compiled = []
    for index, entry in enumerate(rules.get("rules", [])):
        rule_id = entry.get("id", f"rule {index + 1}")
        where = f"{label} [[rules]] {rule_id}"
        words = _as_list(entry.get("words"))
        terms = _as_list(entry.get("terms")) + ([obfuscated_words(words)] if words else [])
        pattern = compile_any(terms, where)
        if pattern is None or not entry.get("explanation"):
            from schoolaudit.config import ConfigError
            raise ConfigError(f"{where}: needs `terms` or `words`, and an `explanation`")
        kwargs = {key: compile_any(_as_list(entry.get(key)), where)
                  for key in ("unless", "unless_near", "unless_before", "requires", "requires_near", "unless_post", "requires_post")}
        fast = [_lowered_pattern(t) for t in terms]
        compiled.append(Rule(
            id=rule_id, explanation=entry["explanation"], terms=pattern,
            fast_terms=re.compile("|".join(f"(?:{t})" for t in fast)) if None not in fast else None, near=int(entry.get("near", default_near)),
            read=entry.get("read", "all"), severity=entry.get("severity"),
            requires_check=entry.get("requires_check"), unless_check=entry.get("unless_check"), **kwargs))
    return (compiled, compile_any(_as_list(rules.get("exceptions")), label),
            compile_any(_as_list(rules.get("post_exceptions")), label))


class RuleAuditor:
    """An auditor for one category whose rules come from config/rules/<category>.toml.

    Subclasses set `name` and `category`, and may define sentence checks as methods
    `check_<name>(sentence) -> bool` for what a word list cannot say; a rule names one with
    `requires_check = "<name>"` or `unless_check = "<name>"`.
    """

    name = "text"
    category = ""

    def __init__(self, policy):
        self.categories = (self.category,)
        self.policy = policy
        self.rules, self.exceptions, self.post_exceptions = compile_rules(self.category, policy[self.category].rules)
        for rule in self.rules:
            for check in filter(None, (rule.requires_check, rule.unless_check)):
                if not hasattr(self, f"check_{check}"):
                    from schoolaudit.config import ConfigError
                    raise ConfigError(f"rules/{self.category}.toml [[rules]] {rule.id}: unknown check {check!r}")

    def audit(self, post: Post, context: AuditContext) -> list[Finding]:
        texts = post_texts(post)
        if not texts:
            return []
        whole = "\n".join(text for _, text in texts)
        if self.post_exceptions and self.post_exceptions.search(whole):
            return []
        findings, seen = [], set()
        for where, text in texts:
            kind = "alt" if where.startswith("alt") else "text"
            low = lowered(text)
            for rule in self.rules:
                if rule.read not in ("all", kind):
                    continue
                scan = rule.fast_terms.finditer(low) if rule.fast_terms and low is not None else rule.terms.finditer(text)
                for match in scan:
                    sentence = sentence_at(text, match.start())
                    if (where, sentence) in seen:
                        continue
                    if not self._applies(rule, text, sentence, match, whole):
                        continue
                    seen.add((where, sentence))
                    extra = {"severity": rule.severity} if rule.severity else {}
                    findings.append(context.finding(
                        self.category, evidence_span(text, sentence, match.span()),
                        rule.explanation.format(term=text[match.start():match.end()].strip()), self.name,
                        where=where, **extra))
                    break  # one finding per rule and text: the first sentence that breaks it
        return findings

    def _applies(self, rule: Rule, text: str, sentence: tuple[int, int], match: re.Match, whole: str) -> bool:
        said = text[sentence[0]:sentence[1]]
        around = text[max(sentence[0], match.start() - rule.near):min(sentence[1], match.end() + rule.near)]
        if rule.unless and rule.unless.search(said):
            return False
        if self.exceptions and self.exceptions.search(said):
            return False
        if rule.unless_near and rule.unless_near.search(around):
            return False
        if rule.unless_before and rule.unless_before.search(text, max(sentence[0], match.start() - rule.near), match.start()):
            return False
        if rule.requires and not rule.requires.search(said):
            return False
        if rule.requires_near and not rule.requires_near.search(around):
            return False
        if rule.unless_post and rule.unless_post.search(whole):
            return False
        if rule.requires_post and not rule.requires_post.search(whole):
            return False
        if rule.requires_check and not getattr(self, f"check_{rule.requires_check}")(said):
            return False
        if rule.unless_check and getattr(self, f"check_{rule.unless_check}")(said):
            return False
        return True
