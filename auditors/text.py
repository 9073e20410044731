"""Shared machinery of the text auditors: which texts of a post to read, sentences, and rules.

The words live in config/rules/<category>.toml; this module holds the method that every text
auditor shares:

* `post_texts` - the texts an auditor reads: title and body as `where="text"`, each image's alt
  text as `where="alt:N"`.
* `sentence_spans` - sentence (clause) boundaries, so that context words only count when they
  stand in the same sentence as the term they qualify.
* `spaced_words` - literal words spelled with a space or dot between the letters ("F U C K").
* `NamedChild` - a child named in full, or by first name with a class, grade or relation.
* `obfuscated_words` - literal words made tolerant of masking and leetspeak (f*ck, sh!t, a$$).
* `RuleAuditor` - a category's rules compiled from its TOML table. One rule says which terms
  flag, which context in the same sentence, near the term or anywhere in the post cancels or is
  required, and the one-sentence explanation. Each finding quotes the sentence it found,
  verbatim, as its evidence.

Rule keys (each optional except `explanation` and one of `terms`/`words`):

    id, explanation, terms, words, spaced, unless, unless_near, unless_before, near, requires, requires_near,
    unless_post, requires_post, read ("text" | "alt" | "all"), severity, requires_check, unless_check,
    check_scope ("sentence" | "post")

Category keys around the rules: `exceptions` (sentence patterns that cancel every rule),
`post_exceptions` (post patterns that cancel every rule), `near` (default window in characters).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as sre_c, _parser as sre_parse
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
            if result and not any(c.isalnum() for c in text[begin:end]):
                result[-1] = (result[-1][0], end)  # a trailing emoji or "!!!" belongs to the sentence it reacts to
            else:
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


def spaced_words(words: Iterable[str]) -> str:
    """A regex for whole `words` written with a space, dot or dash between every letter ("F U C K", "s.h.i.t")."""
    sep = r"[ .*_-]{1,2}"
    spelled = ["".join(("" if i == 0 else sep) + "[" + re.escape(_LEET.get(c, c)) + "]" for i, c in enumerate(w.lower()))
               for w in words if len(w) >= 4 and w.isalpha()]
    return r"(?<![\w.*-])(?:" + "|".join(spelled) + r")(?![\w*])"


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


# --- A sound prefilter: the character trigrams any match of a rule must start with -----------------

_GATE_WIDTH = 5
_UNKNOWN = None
_MAX_PREFIXES = 4000


def _node_prefixes(op, av, room: int, wide: bool = False):
    """(open, closed) prefix sets of one regex node, at most `room` long; None when unknown.
    Open strings may be continued by what follows the node; closed ones are final. `wide` also
    lists `\\d` as the ASCII digits (sound only on texts without `_EXOTIC` characters) and refuses
    characters that case-fold unusually under re.IGNORECASE."""
    if op is sre_c.LITERAL:
        char = chr(av).lower()
        if wide:
            return _UNKNOWN if _EXOTIC.search(char + chr(av)) else ({char.translate(_ZERO_DIGITS)}, set())
        return {char}, set()
    if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
        return {""}, set()
    if op is sre_c.IN:
        chars = set()
        for item_op, item_av in av:
            if item_op is sre_c.LITERAL:
                chars.add(chr(item_av).lower())
                if wide and _EXOTIC.search(chr(item_av)):
                    return _UNKNOWN
            elif item_op is sre_c.RANGE and item_av[1] - item_av[0] < 40:
                chars.update(chr(c).lower() for c in range(item_av[0], item_av[1] + 1))
                if wide and _EXOTIC.search("".join(map(chr, range(item_av[0], item_av[1] + 1)))):
                    return _UNKNOWN
            elif wide and item_op is sre_c.CATEGORY and item_av is sre_c.CATEGORY_DIGIT:
                chars.add("0")
            else:
                return _UNKNOWN
        if wide:
            if any(_EXOTIC.search(c) for c in chars):
                return _UNKNOWN
            chars = {c.translate(_ZERO_DIGITS) for c in chars}
        return chars, set()
    if op in (sre_c.SUBPATTERN, sre_c.ATOMIC_GROUP):
        return _seq_prefixes(av[-1] if op is sre_c.SUBPATTERN else av, room, wide)
    if op is sre_c.BRANCH:
        opened, closed = set(), set()
        for branch in av[1]:
            result = _seq_prefixes(branch, room, wide)
            if result is _UNKNOWN:
                return _UNKNOWN
            opened |= result[0]
            closed |= result[1]
        return opened, closed
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        low, high, body = av
        if wide and low >= 1:  # x{2,3} as x x x?: the first `low` repetitions are certain
            optional = high - low if high - low <= 2 and low + high <= room + 2 else 0
            count = min(low, room)
            unrolled = list(body) * count + [(sre_c.MAX_REPEAT, (0, 1, body))] * optional
            result = _seq_prefixes(unrolled, room, wide)
            if result is not _UNKNOWN:
                opened, closed = result
                if high != low + optional or count < low:
                    opened, closed = set(), closed | opened
                return opened, closed
        result = _seq_prefixes(body, room, wide)
        if result is _UNKNOWN:
            return _UNKNOWN
        opened, closed = result
        if high != 1:  # a second repetition may follow: stop there
            opened, closed = set(), closed | opened
        if low == 0:
            opened = opened | {""}
        return opened, closed
    return _UNKNOWN


def _seq_prefixes(items, room: int, wide: bool = False):
    opened, closed = {""}, set()
    for op, av in items:
        before = opened, set(closed)
        following = set()
        for prefix in opened:
            result = _node_prefixes(op, av, room - len(prefix), wide)
            if result is _UNKNOWN:
                closed.add(prefix)
                continue
            for tail in result[0]:
                (closed if len(prefix + tail) >= room else following).add((prefix + tail)[:room])
            closed.update((prefix + tail)[:room] for tail in result[1])
        opened = following
        if len(opened) + len(closed) > _MAX_PREFIXES:
            if wide and len(before[0]) + len(before[1]) <= _MAX_PREFIXES:
                return set(), before[1] | before[0]  # too many ways on: stop before this node
            return _UNKNOWN
        if not opened:
            break
    return opened, closed


def match_prefixes(pattern: str) -> frozenset[str] | None:
    """Lower-case strings (up to 3 characters) one of which starts every match of `pattern`, or None
    when that cannot be told. A rule whose prefixes are all absent from a text cannot match it."""
    try:
        result = _seq_prefixes(list(sre_parse.parse(pattern, re.IGNORECASE)), _GATE_WIDTH)
    except Exception:  # an unusual construct: no gate, scan as usual
        return None
    if result is _UNKNOWN:
        return None
    prefixes = result[0] | result[1]
    return None if "" in prefixes or len(prefixes) > _MAX_PREFIXES else frozenset(prefixes)


# Characters on which the gates below are not sound, found once per text: non-ASCII digits
# (`\\d` is listed as 0-9), characters whose lower case is not one character or not what
# re.IGNORECASE folds them to, whose word-ness changes with case, or that re.IGNORECASE takes for
# another letter (ſ, ı, µ, the Greek sigmas...). A text holding one is scanned by every rule.
# tests/test_text_machinery.py recomputes this class from the Unicode tables.
_EXOTIC = re.compile("[\u00b5\u00df\u0130-\u0131\u0149\u017f\u01f0\u0345\u0390\u03a3\u03b0\u03b2\u03b5\u03b8-\u03ba\u03bc\u03c0-\u03c3\u03c6\u03d0-\u03d1\u03d5-\u03d6\u03f0-\u03f1\u03f5\u0432\u0434\u043e\u0441-\u0442\u044a\u0463\u0587\u0660-\u0669\u06f0-\u06f9\u07c0-\u07c9\u0966-\u096f\u09e6-\u09ef\u0a66-\u0a6f\u0ae6-\u0aef\u0b66-\u0b6f\u0be6-\u0bef\u0c66-\u0c6f\u0ce6-\u0cef\u0d66-\u0d6f\u0de6-\u0def\u0e50-\u0e59\u0ed0-\u0ed9\u0f20-\u0f29\u1040-\u1049\u1090-\u1099\u17e0-\u17e9\u1810-\u1819\u1946-\u194f\u19d0-\u19d9\u1a80-\u1a89\u1a90-\u1a99\u1b50-\u1b59\u1bb0-\u1bb9\u1c40-\u1c49\u1c50-\u1c59\u1c80-\u1c88\u1e61\u1e96-\u1e9b\u1e9e\u1f50\u1f52\u1f54\u1f56\u1f80-\u1faf\u1fb2-\u1fb4\u1fb6-\u1fb7\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fc7\u1fcc\u1fd2-\u1fd3\u1fd6-\u1fd7\u1fe2-\u1fe4\u1fe6-\u1fe7\u1ff2-\u1ff4\u1ff6-\u1ff7\u1ffc\ua620-\ua629\ua64b\ua8d0-\ua8d9\ua900-\ua909\ua9d0-\ua9d9\ua9f0-\ua9f9\uaa50-\uaa59\uabf0-\uabf9\ufb00-\ufb06\ufb13-\ufb17\uff10-\uff19\U000104a0-\U000104a9\U00010d30-\U00010d39\U00011066-\U0001106f\U000110f0-\U000110f9\U00011136-\U0001113f\U000111d0-\U000111d9\U000112f0-\U000112f9\U00011450-\U00011459\U000114d0-\U000114d9\U00011650-\U00011659\U000116c0-\U000116c9\U00011730-\U00011739\U000118e0-\U000118e9\U00011950-\U00011959\U00011c50-\U00011c59\U00011d50-\U00011d59\U00011da0-\U00011da9\U00016a60-\U00016a69\U00016ac0-\U00016ac9\U00016b50-\U00016b59\U0001d7ce-\U0001d7ff\U0001e140-\U0001e149\U0001e2f0-\U0001e2f9\U0001e950-\U0001e959\U0001fbf0-\U0001fbf9]")

#: Rough chance that a string of this length occurs in a post, to pick the most selective gate.
_CHANCE = {0: 1.0, 1: 1.0, 2: 0.5, 3: 0.2, 4: 0.06}


def _is_anchor(op, av) -> bool:
    """`\\b`, or a look-behind that no word character may precede: before a word character, a
    match of what follows starts at a word start."""
    if op is sre_c.AT:
        return av is sre_c.AT_BOUNDARY
    if op is sre_c.ASSERT_NOT and av[0] == -1 and len(av[1]) == 1:
        item_op, item_av = list(av[1])[0]
        return item_op is sre_c.IN and (sre_c.CATEGORY, sre_c.CATEGORY_WORD) in item_av
    return False


#: Pieces of common words: a 5-character string holding one is likely in any post.
_COMMON = re.compile(r"(?:^|\W)(?:the|and|a|an|to|of|in|on|is|it|for|you|your|our|we|at|be|are|de|la|le|les|et|un|une|du|des|en|à)(?:\W|$)")


def _cost(needed) -> float:
    return sum((0.1 if _COMMON.search(s) else 0.01) if len(s) >= _GATE_WIDTH else _CHANCE[len(s)]
               * (0.3 if anchored else 1.0) for s, anchored in needed)


def _seq_needed(items):
    """A set of (string, word_start) pairs, one of which occurs in every match of the sequence
    `items` (at a word start when `word_start`), picked as the rarest; None when none is known.
    Unlike `match_prefixes`, the strings may begin anywhere in the match."""
    items = list(items)
    best, best_cost = None, None
    for index in range(len(items)):
        candidates = []
        result = _seq_prefixes(items[index:], _GATE_WIDTH, True)
        if result is not _UNKNOWN:
            strings = result[0] | result[1]
            if strings and "" not in strings and len(strings) <= _MAX_PREFIXES:
                anchored = index > 0 and _is_anchor(*items[index - 1])
                candidates.append({(s, anchored and len(s) < _GATE_WIDTH and bool(_WORD.match(s))) for s in strings})
        inner = _node_needed(*items[index])
        if inner is not None:
            candidates.append(inner)
        for candidate in candidates:
            cost = _cost(candidate)
            if best is None or cost < best_cost:
                best, best_cost = candidate, cost
    return best


def _node_needed(op, av):
    if op is sre_c.SUBPATTERN:
        return _seq_needed(av[-1])
    if op is sre_c.ATOMIC_GROUP:
        return _seq_needed(av)
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT) and av[0] >= 1:
        return _seq_needed(av[2])
    if op is sre_c.BRANCH:
        union = set()
        for branch in av[1]:
            needed = _seq_needed(branch)
            if needed is None:
                return None
            union |= needed
        return union
    return None


_WORD = re.compile(r"\w")


def _start_needed(items):
    """(string, word_start) pairs one of which starts every match of the sequence `items`."""
    items = list(items)
    if len(items) == 1 and items[0][0] is sre_c.BRANCH:
        union = set()
        for branch in items[0][1][1]:
            needed = _start_needed(branch)
            if needed is None:
                return None
            union |= needed
        return union
    if len(items) == 1 and items[0][0] is sre_c.SUBPATTERN:
        return _start_needed(items[0][1][-1])
    for room in range(_GATE_WIDTH, 1, -1):  # shorter strings when there are too many ways to go on
        result = _seq_prefixes(items, room, True)
        strings = result[0] | result[1] if result is not _UNKNOWN else None
        if strings and "" not in strings and len(strings) <= _MAX_PREFIXES:
            break
    else:
        return None
    anchored = bool(items) and _is_anchor(*items[0])
    return {(s, anchored and len(s) < _GATE_WIDTH and bool(_WORD.match(s))) for s in strings}


def match_starts(pattern: str) -> frozenset[tuple[str, bool]] | None:
    """(string, word_start) pairs, lower-case and up to 5 characters, one of which starts every
    match of `pattern` in a text without `_EXOTIC` characters (at a word start when `word_start`);
    None when that cannot be told."""
    try:
        needed = _start_needed(sre_parse.parse(pattern, re.IGNORECASE))
    except Exception:  # an unusual construct: no gate, scan as usual
        return None
    return frozenset(needed) if needed else None


def match_needed(pattern: str) -> frozenset[tuple[str, bool]] | None:
    """(string, word_start) pairs, lower-case and up to 5 characters, one of which occurs in every
    match of `pattern` in a text without `_EXOTIC` characters (at a word start when `word_start`);
    None when that cannot be told. Sound like `match_prefixes`, and usually far more selective."""
    try:
        needed = _seq_needed(sre_parse.parse(pattern, re.IGNORECASE))
    except Exception:  # an unusual construct: no gate, scan as usual
        return None
    return frozenset(needed) if needed else None


def forget_texts() -> None:
    """Drop the per-text caches (shared by the auditors of one post). The speed benchmark calls it
    between rounds, so that repeating a corpus measures new texts, as a crawl sees them."""
    for cached in (sentence_spans, lowered, trigrams, text_facts):
        cached.cache_clear()


#: The gates read texts with every ASCII digit written 0 (and the rules' digits likewise).
_ZERO_DIGITS = str.maketrans("123456789", "000000000")
_WORD_HEADS = re.compile(r"\b(?=(\w[\s\S]{0,3}))")


@lru_cache(maxsize=8192)
def text_facts(text: str) -> tuple[str | None, str, set[str] | None, set[str] | None]:
    """`lowered(text)`; the text lower-cased with its digits written 0 (its shape); the 5-character
    strings of the shape; and the 1- to 4-character strings that start a word in it (both None
    when the text holds an `_EXOTIC` character, on which the rule gates are not sound)."""
    folded = text.lower()
    low = folded if len(folded) == len(text) else None
    if not text.isascii() and _EXOTIC.search(text):
        return low, folded, None, None
    shape = folded.translate(_ZERO_DIGITS)
    words = set()
    for head in _WORD_HEADS.findall(shape):
        words.update((head[:1], head[:2], head[:3], head))
    return low, shape, {shape[i:i + _GATE_WIDTH] for i in range(len(shape) - _GATE_WIDTH + 1)}, words


@lru_cache(maxsize=8192)
def trigrams(low: str) -> frozenset[str]:
    return frozenset(low[i:i + _GATE_WIDTH] for i in range(len(low) - _GATE_WIDTH + 1))


def _config_error(message: str) -> Exception:
    from schoolaudit.config import ConfigError  # late: schoolaudit.config imports auditors.base
    return ConfigError(message)


def compile_any(patterns: Iterable[str], label: str) -> re.Pattern | None:
    """One case-insensitive regex matching any of `patterns`, or None when there are none."""
    patterns = [p for p in patterns if p]
    if not patterns:
        return None
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _config_error(f"{label}: bad pattern {pattern!r}: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_CAPITALISED = re.compile(r"(?<![\w@#])([A-ZÀ-Ý][a-zà-ÿ]+(?:[-'’][A-ZÀ-Ýa-zà-ÿ]+)?)(?:['’]s)?(?![\w@])")


class FullNames:
    """Finds a person named by first and last name ("Jordan Ellis"), not a staff member named with a
    title ("Ms. Rivera", "Coach Dave Miller"), and not part of a longer proper noun ("Long Point DSB",
    "Grand River Public School"). `not_names` and `titles` are lower-case words from the rules."""

    def __init__(self, not_names, titles):
        self.not_names = frozenset(w.lower() for w in not_names)
        self.titles = frozenset(w.lower().rstrip(".") for w in titles)

    def __call__(self, text: str) -> bool:
        words = list(_CAPITALISED.finditer(text))
        for index, (first, last) in enumerate(zip(words, words[1:])):
            if text[first.end():last.start()] != " ":
                continue
            if first.group(1).lower() in self.not_names or last.group(1).lower() in self.not_names:
                continue
            before = text[:first.start()].rstrip().rstrip(".").split()
            if before and (before[-1].lower() in self.titles or before[-1][:1].isupper() and before[-1][-1:].isalpha()
                           and before[-1].lower() not in self.not_names):
                continue  # a title, or the tail of a longer proper noun
            after = text[last.end():last.end() + 12]
            if re.match(r" (?:[A-Z]{2,}\b|[A-Z][a-z]+ (?:[A-Z]|of\b))", after) or re.match(r" [A-Z]{2,}\b", after):
                continue  # the head of a longer proper noun ("Long Point DSB", "Grand River Public School")
            return True
        return False


class NamedChild:
    """Finds a child named in full (`FullNames`), or by first name with what places them in the school:
    a class or grade ("Maya in Grade 4", "Liam (3B)", "Léo de 3e année") or a relation ("your son Liam",
    "student Maya"). `patterns` come from config/rules/privacy.toml `named_child`; each captures the
    first name as the group `name`, which must not be one of the `not_names`."""

    def __init__(self, full_names: FullNames, patterns, not_names):
        self.full_names = full_names
        self.not_names = frozenset(w.lower() for w in not_names)
        self.pattern = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    def __call__(self, text: str) -> bool:
        if self.full_names(text):
            return True
        if self.pattern is None:
            return False
        for match in self.pattern.finditer(text):
            name = next((g for g in match.groups() if g), None)
            if name and name.lower() not in self.not_names:
                return True
        return False


@dataclass
class Rule:
    id: str
    explanation: str
    terms: re.Pattern
    fast_terms: re.Pattern | None = None  # the same, lower-cased, for lower-cased text
    gate: frozenset[str] | None = None  # trigrams one of which starts every match (None: always scan)
    short: tuple[str, ...] = ()  # shorter match starts, looked up as substrings
    short_re: re.Pattern | None = None  # the same as one pattern (one scan instead of one per prefix)
    short_words: frozenset[str] = frozenset()  # shorter match starts that can only start a word
    inner_gate: frozenset[str] | None = None  # 5-character strings one of which is in every match
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
    check_scope: str = "sentence"  # sentence | post: what `requires_check` / `unless_check` read


def _trie(strings) -> str:
    """An alternation of literal `strings` with shared prefixes factored out."""
    groups: dict[str, list[str]] = {}
    for string in strings:
        groups.setdefault(string[:1], []).append(string[1:])
    ends = "" in groups
    branches = [re.escape(head) + _trie(rest) for head, rest in sorted(groups.items()) if head]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and not ends else "(?:" + "|".join(branches) + ")"
    return body + ("?" if ends else "")


def _strings_pattern(strings) -> re.Pattern | None:
    """One pattern finding any of `strings`, or None when there are none."""
    strings = list(strings)
    return re.compile(_trie(strings)) if strings else None


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
        spaced = _as_list(entry.get("spaced"))
        terms = _as_list(entry.get("terms")) + ([obfuscated_words(words)] if words else []) \
            + ([spaced_words(spaced)] if spaced else [])
        pattern = compile_any(terms, where)
        if pattern is None or not entry.get("explanation"):
            raise _config_error(f"{where}: needs `terms` or `words`, and an `explanation`")
        kwargs = {key: compile_any(_as_list(entry.get(key)), where)
                  for key in ("unless", "unless_near", "unless_before", "requires", "requires_near", "unless_post", "requires_post")}
        fast = [_lowered_pattern(t) for t in terms]
        starts = [match_starts(t) for t in terms]
        gate = None if None in starts else frozenset().union(*starts)
        shorts = {(p, start) for p, start in gate or () if len(p) < _GATE_WIDTH}
        needed = [match_needed(t) for t in terms]
        inner = None if None in needed else frozenset().union(*needed)
        inner = frozenset(p for p, _ in inner) if inner and all(len(p) == _GATE_WIDTH for p, _ in inner) else None
        compiled.append(Rule(
            gate=frozenset(p for p, _ in gate if len(p) == _GATE_WIDTH) if gate is not None else None,
            short=tuple(sorted({p for p, _ in shorts})),
            short_re=_strings_pattern(p for p, start in shorts if not start),
            short_words=frozenset(p for p, start in shorts if start),
            inner_gate=inner if inner != (frozenset(p for p, _ in gate) if gate is not None else None) else None,
            id=rule_id, explanation=entry["explanation"], terms=pattern,
            fast_terms=re.compile("|".join(f"(?:{t})" for t in fast)) if None not in fast else None, near=int(entry.get("near", default_near)),
            read=entry.get("read", "all"), severity=entry.get("severity"),
            requires_check=entry.get("requires_check"), unless_check=entry.get("unless_check"),
            check_scope=entry.get("check_scope", "sentence"), **kwargs))
    return (compiled, compile_any(_as_list(rules.get("exceptions")), label),
            compile_any(_as_list(rules.get("post_exceptions")), label))


class RuleAuditor:
    """An auditor for one category whose rules come from config/rules/<category>.toml.

    Subclasses set `name` and `category`, and may define sentence checks as methods
    `check_<name>(sentence) -> bool` for what a word list cannot say; a rule names one with
    `requires_check = "<name>"` or `unless_check = "<name>"`. Every auditor has `full_name` and
    `named_child`, built from the `not_names`, `titles` and `named_child` lists of config/rules/privacy.toml.
    """

    name = "text"
    category = ""

    def __init__(self, policy):
        self.categories = (self.category,)
        self.policy = policy
        names = policy["privacy"].rules
        self.check_full_name = FullNames(names.get("not_names", []), names.get("titles", []))
        self.check_named_child = NamedChild(self.check_full_name, names.get("named_child", []), names.get("not_names", []))
        self.rules, self.exceptions, self.post_exceptions = compile_rules(self.category, policy[self.category].rules)
        self._text_rules = tuple(rule for rule in self.rules if rule.read in ("all", "text"))
        self._alt_rules = tuple(rule for rule in self.rules if rule.read in ("all", "alt"))
        for rule in self.rules:
            for check in filter(None, (rule.requires_check, rule.unless_check)):
                if not hasattr(self, f"check_{check}"):
                    raise _config_error(f"rules/{self.category}.toml [[rules]] {rule.id}: unknown check {check!r}")

    def audit(self, post: Post, context: AuditContext) -> list[Finding]:
        texts = post_texts(post)
        if not texts:
            return []
        whole = "\n".join(text for _, text in texts)
        if self.post_exceptions and self.post_exceptions.search(whole):
            return []
        findings, seen = [], set()
        for where, text in texts:
            alt = where.startswith("alt")
            low, shape, grams, words = text_facts(text)
            for rule in self._alt_rules if alt else self._text_rules:
                gate = rule.gate
                if gate is not None and grams is not None:
                    if grams.isdisjoint(gate) and not (rule.short and (not words.isdisjoint(rule.short_words) or (
                            rule.short_re is not None and rule.short_re.search(shape)))):
                        continue  # no match can start anywhere in this text
                    if rule.inner_gate is not None and grams.isdisjoint(rule.inner_gate):
                        continue  # no match can hold any of the strings every match holds
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
        checked = whole if rule.check_scope == "post" else said
        if rule.requires_check and not getattr(self, f"check_{rule.requires_check}")(checked):
            return False
        if rule.unless_check and getattr(self, f"check_{rule.unless_check}")(checked):
            return False
        return True
