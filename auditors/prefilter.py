"""One pass over a text that tells which text rules can possibly match it.

Every rule of every category registers its term patterns here. Each pattern is *relaxed* into a
pattern that matches wherever the original can (lookarounds dropped, possessive and atomic parts
made plain, letters lower-cased with the case folds of re.IGNORECASE, word classes widened to
every non-ASCII character); all of them are compiled into one Hyperscan database that reads a
lower-cased text once and names the rules worth running. A rule it does not name cannot match, so
findings are those of running every rule (tests/test_prefilter.py compares both on the corpora).

Compiling the database takes seconds: it is kept on disk in the user cache folder under the hash
of the rules' patterns (a changed rule gets a new hash, so a stale database is never read). Where
Hyperscan has no wheel, the character 5-grams that any match must start with answer instead.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import sys
import threading
import weakref
from functools import lru_cache
from pathlib import Path
from re import _casefix, _constants as sre_c, _parser as sre_parse

from auditors.cache import cache_dir, prune, read_cache, write_cache

log = logging.getLogger(__name__)

#: Hyperscan reads the lower-cased text as UTF-8 bytes, without its UTF-8 mode (whose automata for
#: Unicode classes take minutes to compile). One character is one *unit*: an ASCII byte, the bytes
#: of a listed non-ASCII character, or a run of non-ASCII bytes where a class holds every
#: non-ASCII character (Python's \w, \s, \d, [^...]). Wider than the original, never narrower.
_WIDE = r"[\x80-\xff]+"
_EVERY_CHAR = r"(?:[\x00-\x7f]|" + _WIDE + ")"
#: The ASCII part of Python's Unicode classes (each also takes every non-ASCII character).
_CATEGORY = {
    sre_c.CATEGORY_WORD: r"\w", sre_c.CATEGORY_SPACE: r"\s\x1c-\x1f", sre_c.CATEGORY_DIGIT: "0-9",
    sre_c.CATEGORY_NOT_WORD: r"\W", sre_c.CATEGORY_NOT_SPACE: r"\S", sre_c.CATEGORY_NOT_DIGIT: r"\D",
}
#: Classes whose non-ASCII characters are listed rather than widened to all: Python's \d (Unicode's
#: Nd, 650 characters), so that an emoji does not pass for a digit (a licence plate's "ABCD 123" was a
#: candidate in every post with an emoji). \s stays wide: its open-ended repeats mark where a
#: sequence is split into the parts Hyperscan reads (see _GAP), which a listed \s would move.
_LISTED = {sre_c.CATEGORY_DIGIT: str.isdecimal}
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _bytes(code: int) -> str:
    return "".join(f"\\x{byte:02x}" for byte in chr(code).encode("utf-8", "surrogatepass"))


def _byte_class(values: list[int]) -> str:
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    if len(runs) == 1 and runs[0][0] == runs[0][1]:
        return f"\\x{values[0]:02x}"
    return "[" + "".join(f"\\x{a:02x}" if a == b else f"\\x{a:02x}-\\x{b:02x}" for a, b in runs) + "]"


def _byte_trie(sequences: set[bytes]) -> str:
    """A regex matching exactly the byte strings `sequences` (none a prefix of another), shared
    prefixes factored out and bytes with the same continuation merged into one class: the UTF-8
    encodings of the 650 non-ASCII digits take 750 characters, not 8,000."""
    if sequences == {b""}:
        return ""
    heads: dict[int, set[bytes]] = {}
    for sequence in sequences:
        heads.setdefault(sequence[0], set()).add(sequence[1:])
    by_tail: dict[str, list[int]] = {}
    for head, tails in heads.items():
        by_tail.setdefault(_byte_trie(tails), []).append(head)
    choices = sorted(_byte_class(bytes_) + tail for tail, bytes_ in by_tail.items())
    return choices[0] if len(choices) == 1 else "(?:" + "|".join(choices) + ")"


def _case_folds(code: int) -> set[int]:
    """The lower-cased characters that `code` matches under re.IGNORECASE."""
    low = ord(chr(code).lower()) if len(chr(code).lower()) == 1 else code
    return {low, *(ord(chr(c).lower()) for c in _casefix._EXTRA_CASES.get(low, ()) if len(chr(c).lower()) == 1)}


#: The non-ASCII characters that re.IGNORECASE reads as an ASCII letter ("ſ" as s, "ı" as i): the
#: scanned text holds the letter in their place, so a pattern's s or i is one byte, not a choice of
#: byte strings. Besides smaller automata, this avoids a miss of Hyperscan 5.4 (python-hyperscan 0.9.1):
#: "(?:'|’)(?:s|ſ) (birthday )?(party|sleepover|playdate|pool party)" in UTF-8 bytes did not match
#: "ethan's party" after thirteen other characters (tests/test_prefilter.py keeps that case).
_AS_ASCII = {c: a for a in range(128) for c in _case_folds(a) if c >= 128}
#: (character, its ASCII letter) of _AS_ASCII: two pairs, each replaced much faster than str.translate maps.
_TO_ASCII = tuple((chr(c), chr(a)) for c, a in _AS_ASCII.items())


def _folds(code: int) -> set[int]:
    """The characters that `code` matches under re.IGNORECASE in the scanned text (see _AS_ASCII)."""
    return {_AS_ASCII.get(c, c) for c in _case_folds(code)}


def scanned_text(text: str) -> str:
    """`text` as the engines read it: lower-cased, the characters of _AS_ASCII as their ASCII letter."""
    low = text.lower()
    if not low.isascii():
        for char, letter in _TO_ASCII:
            low = low.replace(char, letter)
    return low


@lru_cache(maxsize=None)
def _listed(category) -> frozenset[int]:
    """The non-ASCII characters of a category of _LISTED (read once, when a database is compiled)."""
    return frozenset(c for c in range(128, sys.maxunicode + 1) if _LISTED[category](chr(c)))


def _unit(ascii_part: str, others: set[int], wide: bool) -> str:
    """One character: from the class body `ascii_part`, one of `others`, or (`wide`) any non-ASCII."""
    choices = [f"[{ascii_part}]"] if ascii_part else []
    choices += [_WIDE] if wide else [_byte_trie({chr(c).encode("utf-8", "surrogatepass") for c in others})] if others else []
    return choices[0] if len(choices) == 1 else "(?:" + "|".join(choices) + ")"


def _class(items) -> str:
    ascii_part, others, wide = [], set(), False
    for op, av in items:
        if op is sre_c.NEGATE:
            return _EVERY_CHAR  # a negated class in lower-cased text: wider is always safe
        if op is sre_c.LITERAL:
            codes = _folds(av)
        elif op is sre_c.RANGE:
            if av[1] - av[0] > 300:
                return _EVERY_CHAR
            codes = {f for c in range(av[0], av[1] + 1) for f in _folds(c)}
        elif op is sre_c.CATEGORY and av in _CATEGORY:
            ascii_part.append(_CATEGORY[av])
            if av in _LISTED:
                others |= _listed(av)
            else:
                wide = True
            continue
        else:
            raise _Unknown(op)
        ascii_part.extend(_bytes(c) for c in codes if c < 128)
        others.update(c for c in codes if c >= 128)
    return _unit("".join(sorted(set(ascii_part))), others, wide)


def _starts_ascii_word(node) -> bool:
    """True when the node can only match an ASCII word character (with the case folds, in the
    scanned text: "k" also matches "K", the Kelvin sign, and "ſ" is read as "s")."""
    op, av = node
    if op is sre_c.LITERAL:
        codes = _folds(av)
    elif op is sre_c.IN and all(o in (sre_c.LITERAL, sre_c.RANGE) for o, _ in av):
        codes = {f for o, a in av for c in ((a,) if o is sre_c.LITERAL else range(a[0], a[1] + 1)) for f in _folds(c)}
    else:
        return False
    return all(chr(c) in _ASCII_WORD for c in codes)


def _edge_ascii_word(node, last: bool) -> bool:
    """True when every match of the node starts (`last`: ends) with an ASCII word character, as
    _starts_ascii_word tells of one character: "(wtf|ffs|af)" both starts and ends with one."""
    op, av = node
    if op in (sre_c.SUBPATTERN, sre_c.ATOMIC_GROUP):
        return _sequence_edge(av[-1] if op is sre_c.SUBPATTERN else av, last)
    if op is sre_c.BRANCH:
        return all(_sequence_edge(branch, last) for branch in av[1])
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        return av[0] >= 1 and _sequence_edge(av[2], last)
    return _starts_ascii_word(node)


def _sequence_edge(items, last: bool) -> bool:
    items = list(items)
    return bool(items) and _edge_ascii_word(items[-1] if last else items[0], last)


@lru_cache(maxsize=None)
def _read_before() -> dict[str, frozenset[int]]:
    """For each ASCII character, the characters that leave it last in the scanned text (read once, when a
    database is compiled): "k" for "k", "K" and the Kelvin sign."""
    before: dict[str, set[int]] = {chr(c): set() for c in range(128)}
    for code in range(sys.maxunicode + 1):
        last = scanned_text(chr(code))[-1:]
        if last in before:
            before[last].add(code)
    return {char: frozenset(codes) for char, codes in before.items()}


def _lookbehind(node, state) -> str:
    """A run's leading "(?<![...])" (one character not of a class) as the character Hyperscan reads before
    the match instead, or the text's start: "(?<![\\w@#$*])ass" is not "class". Wider than the original: every
    non-ASCII byte, and white space (a text's or a sentence's start is one in the post's whole text)."""
    op, av = node
    if op is not sre_c.ASSERT_NOT or av[0] != -1 or sre_parse.SubPattern(state, list(av[1])).getwidth() != (1, 1):
        return ""
    inside = re._compiler.compile(sre_parse.SubPattern(state, list(av[1])), state.flags)
    allowed = [char for char, codes in _read_before().items()
               if char.isspace() or any(not inside.match(chr(code)) for code in codes)]
    return "(?:^|[" + "".join(_bytes(ord(char)) for char in allowed) + r"\x80-\xff])"


def _sequence(items) -> str:
    items = list(items)
    out = []
    for index, (op, av) in enumerate(items):
        if op is sre_c.AT:
            # \b stays only beside an ASCII word character: there Python's Unicode boundary implies
            # Hyperscan's ASCII one, so the relaxed pattern still matches wherever the original does.
            before = index > 0 and _edge_ascii_word(items[index - 1], last=True)
            after = index + 1 < len(items) and _edge_ascii_word(items[index + 1], last=False)
            if av is sre_c.AT_BOUNDARY and (before or after):
                out.append(r"\b")
            continue  # other anchors: dropped (wider)
        out.append(_node(op, av))
    return "".join(out)


def _node(op, av) -> str:
    if op is sre_c.LITERAL:
        return _class([(op, av)])
    if op in (sre_c.NOT_LITERAL, sre_c.ANY):
        return _EVERY_CHAR
    if op is sre_c.IN:
        return _class(av)
    if op is sre_c.CATEGORY and av in _CATEGORY:
        return _class([(op, av)])
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return ""
    if op is sre_c.SUBPATTERN:
        return "(?:" + _sequence(av[-1]) + ")"
    if op is sre_c.ATOMIC_GROUP:
        return "(?:" + _sequence(av) + ")"
    if op is sre_c.BRANCH:
        return "(?:" + "|".join(_sequence(branch) for branch in av[1]) + ")"
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        low, high, body = av
        upper = "" if high is sre_c.MAXREPEAT or high > 4 else str(high)  # open-ended: wider, and compiles faster
        return "(?:" + _sequence(body) + ")" + ("{%d,%s}" % (low, upper) if (low, upper) != (0, "1") else "?")
    raise _Unknown(op)


#: Longest pattern given to Hyperscan (it refuses much longer ones); a longer one is split at a branch.
MAX_PATTERN = 6000
#: Most open-ended repeats in a pattern of the main database. The masked and leetspeak spellings of
#: `words` have one after every letter: with the others, Hyperscan takes minutes to compile them; in
#: a database of their own, seconds (once: it is kept on disk).
MAX_LOOPS = 12
#: Most open-ended repeats in a pattern at all; a rule with a longer one is always run.
MAX_LOOPS_APART = 80
#: A long or open-ended repeat of a class holding every non-ASCII character ("[^.!?]{0,60}", "\\w*"):
#: it says little and makes Hyperscan's automaton much larger.
_GAP = re.compile(re.escape(_WIDE) + r"\)+\{\d+,\}")


class _Unknown(Exception):
    """A construct the relaxation does not handle: the rule is then always run."""


def relaxed_patterns(pattern: str) -> list[str] | None:
    """Hyperscan patterns over lower-cased text, one of which matches wherever `pattern` (read with
    re.IGNORECASE) matches; None when that cannot be written or it may match an empty string.

    A match holds a match of any contiguous part of the pattern's sequence, so a sequence with gaps
    ("rally [^.!?]{0,60} queen's park") is relaxed to its most telling part without a gap ("rally",
    see _telling);
    a branch holding a gap, or too long for Hyperscan, is split into one pattern per alternative."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
        return _split(list(parsed), parsed.state)
    except (_Unknown, re.error, RecursionError):
        return None


def _split(items: list, state) -> list[str]:
    for index, (op, av) in enumerate(items):
        node = "" if op is sre_c.AT else _node(op, av)
        if op is sre_c.SUBPATTERN and (_GAP.search(node) or len(node) > MAX_PATTERN):
            return _split(items[:index] + list(av[-1]) + items[index + 1:], state)
        if op is sre_c.BRANCH and (_GAP.search(node) or len(node) > MAX_PATTERN):
            return [part for branch in av[1] for part in _split(items[:index] + list(branch) + items[index + 1:], state)]
    runs, run = [], []
    for item in items:
        if item[0] is not sre_c.AT and _GAP.search(_node(*item)):
            runs.append(run)
            run = []
        else:
            run.append(item)
    runs.append(run)
    # on a tie, the last part: a rule's trigger word comes first, what makes it a finding after ("join us ... for prayer")
    widest = max(reversed(runs), key=lambda r: (_telling(r), sre_parse.SubPattern(state, r).getwidth()[0]))
    if sre_parse.SubPattern(state, widest).getwidth()[0] == 0:
        raise _Unknown("matches an empty string")
    relaxed = _lookbehind(widest[0], state) + _sequence(widest)
    if len(relaxed) > MAX_PATTERN:
        raise _Unknown("too long")
    if relaxed.count(",}") > MAX_LOOPS_APART:
        raise _Unknown("too many loops")
    return [relaxed]


#: What a space and any digit tell of a text beside a given letter: spaces are frequent, so " in " is a weaker
#: gate than "best"; digits are frequent in posts (times, dates, counts: "7 pm", "3 teams"), so a street's
#: " st" is a stronger gate than "12 [a-z]" (3% of posts against 32% on bench/data).
_SPACE_WEIGHT = 0.5
_DIGIT_WEIGHT = 1.0


def _telling(items) -> float:
    """How rarely a sequence's shortest match can occur, counted in letters: a literal counts 1 (a space
    _SPACE_WEIGHT), a digit _DIGIT_WEIGHT, a class of n characters 1/n, a wide class nothing. Among the parts of a pattern that
    each match wherever it matches, the rarest makes the narrowest gate ("best" before " in [a-z]")."""
    total = 0.0
    for op, av in items:
        if op is sre_c.LITERAL:
            total += _SPACE_WEIGHT if chr(av).isspace() else 1.0
        elif op is sre_c.IN and all(o in (sre_c.LITERAL, sre_c.RANGE) for o, _ in av):
            size = sum(1 if o is sre_c.LITERAL else a[1] - a[0] + 1 for o, a in av)
            total += 1.0 / max(size, 1)
        elif op is sre_c.IN and av == [(sre_c.CATEGORY, sre_c.CATEGORY_DIGIT)]:
            total += _DIGIT_WEIGHT
        elif op is sre_c.SUBPATTERN:
            total += _telling(av[-1])
        elif op is sre_c.ATOMIC_GROUP:
            total += _telling(av)
        elif op is sre_c.BRANCH:
            total += min(_telling(branch) for branch in av[1])
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
            total += av[0] * _telling(av[2])
    return total


#: Compiled databases kept (a few MB each): one per rules version in use, and the tests' own.
KEPT_DATABASES = 8


def _say_compiling() -> None:
    """Long work shows progress: the compile takes seconds, once per rules version."""
    message = f"Preparing the text rules for fast matching (once per rules version; kept in {cache_dir()})"
    log.info(message)
    if sys.stderr.isatty():
        print(message + "...", file=sys.stderr, flush=True)


# --- The engines ---------------------------------------------------------------------------------

class HyperscanEngine:
    """Every rule's relaxed patterns in Hyperscan databases (those with many loops apart, see
    MAX_LOOPS); a text is read once by each."""

    def __init__(self, rules: list[tuple[str, ...]]):
        import hyperscan

        self.hs = hyperscan
        # This module's own text is part of the key: a database relaxed another way is never read.
        digest = hashlib.sha256(json.dumps([hyperscan.__version__, rules]).encode() + Path(__file__).read_bytes())
        self.cache_name = f"prefilter-{digest.hexdigest()[:32]}.hsdb"
        cached = read_cache(self.cache_name)
        if cached is not None:
            try:
                header, blob = cached.split(b"\n", 1)
                header = json.loads(header)
                blobs = [blob[start:start + size] for start, size in zip([0, *itertools.accumulate(header["sizes"])],
                                                                         header["sizes"])]
                self.databases = [(hyperscan.loadb(b, hyperscan.HS_MODE_BLOCK), ids) for b, ids in zip(blobs, header["ids"])]
                self.always = frozenset(header["always"])
            except (ValueError, KeyError, hyperscan.error):
                cached = None  # damaged or from another build: compile again
        if cached is None:
            _say_compiling()
            self._compile(rules)
            blobs = [hyperscan.dumpb(database) for database, _ in self.databases]
            header = json.dumps({"ids": [ids for _, ids in self.databases], "sizes": [len(b) for b in blobs],
                                 "always": sorted(self.always)}).encode()
            write_cache(self.cache_name, header + b"\n" + b"".join(blobs))
            prune("prefilter-*.hsdb", KEPT_DATABASES)
        self.scratches = threading.local()  # a scratch space serves one scan at a time

    def _compile(self, rules: list[tuple[str, ...]]) -> None:
        groups = ([], [])  # (expression, rule index) with few loops, and with many
        always = set()
        for index, terms in enumerate(rules):
            relaxed = [relaxed_patterns(term) for term in terms]
            if None in relaxed:
                always.add(index)
            else:
                for part in (part for parts in relaxed for part in parts):
                    groups[part.count(",}") > MAX_LOOPS].append((part.encode(), index))
        self.databases = []
        for group in groups:
            expressions, ids = [e for e, _ in group], [i for _, i in group]
            try:
                database = self._database(expressions)
            except self.hs.error:  # Hyperscan refuses one of them: find it, and run its rule always
                kept = [i for i, e in enumerate(expressions) if self._compiles(e)]
                always |= {ids[i] for i in range(len(expressions)) if i not in kept}
                expressions, ids = [expressions[i] for i in kept], [ids[i] for i in kept]
                database = self._database(expressions)
            if expressions:
                self.databases.append((database, ids))
        self.always = frozenset(always)

    def _database(self, expressions: list[bytes]):
        database = self.hs.Database()
        if expressions:
            database.compile(expressions=expressions, ids=list(range(len(expressions))),
                             flags=[self.hs.HS_FLAG_SINGLEMATCH] * len(expressions))
        return database

    def _compiles(self, expression: bytes) -> bool:
        try:
            self._database([expression])
        except self.hs.error:
            return False
        return True

    def candidates(self, text: str) -> frozenset[int] | None:
        try:
            data = scanned_text(text).encode("utf-8", "surrogatepass")
        except UnicodeEncodeError:
            return None
        found = set(self.always)
        scratches = getattr(self.scratches, "each", None)
        if scratches is None:
            scratches = self.scratches.each = [self.hs.Scratch(database) for database, _ in self.databases]
        for (database, ids), scratch in zip(self.databases, scratches):
            database.scan(data, match_event_handler=lambda expression, *_: found.add(ids[expression]), scratch=scratch)
        return frozenset(found)


_GATE_WIDTH = 5
_MAX_PREFIXES = 4000


class GramEngine:
    """Without Hyperscan: a rule runs only when the text holds one of the 5-character strings (or a
    shorter whole match) that every match of its terms starts with."""

    def __init__(self, rules: list[tuple[str, ...]]):
        self.always, self.by_gram, self.short = set(), {}, []
        for index, terms in enumerate(rules):
            starts = [match_prefixes(term) for term in terms]
            if None in starts:
                self.always.add(index)
                continue
            prefixes = frozenset().union(*starts)
            for gram in prefixes:
                if len(gram) == _GATE_WIDTH:
                    self.by_gram.setdefault(gram, set()).add(index)
            short = sorted((p for p in prefixes if len(p) < _GATE_WIDTH), key=len)
            if short:
                self.short.append((index, re.compile("|".join(map(re.escape, short)))))

    def candidates(self, text: str) -> frozenset[int]:
        low = text.lower()
        found = set(self.always)
        by_gram = self.by_gram
        for gram in {low[i:i + _GATE_WIDTH] for i in range(len(low) - _GATE_WIDTH + 1)}:
            found.update(by_gram.get(gram, ()))
        found.update(index for index, short in self.short if index not in found and short.search(low))
        return frozenset(found)


def _node_prefixes(op, av, room: int):
    """(open, closed) prefix sets of one regex node, at most `room` long; None when unknown.
    Open strings may be continued by what follows the node; closed ones are final."""
    if op is sre_c.LITERAL:
        return {chr(av).lower()}, set()
    if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
        return {""}, set()
    if op is sre_c.IN:
        chars = set()
        for item_op, item_av in av:
            if item_op is sre_c.LITERAL:
                chars.add(chr(item_av).lower())
            elif item_op is sre_c.RANGE and item_av[1] - item_av[0] < 40:
                chars.update(chr(c).lower() for c in range(item_av[0], item_av[1] + 1))
            else:
                return None
        return chars, set()
    if op in (sre_c.SUBPATTERN, sre_c.ATOMIC_GROUP):
        return _seq_prefixes(av[-1] if op is sre_c.SUBPATTERN else av, room)
    if op is sre_c.BRANCH:
        opened, closed = set(), set()
        for branch in av[1]:
            result = _seq_prefixes(branch, room)
            if result is None:
                return None
            opened |= result[0]
            closed |= result[1]
        return opened, closed
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        low, high, body = av
        result = _seq_prefixes(body, room)
        if result is None:
            return None
        opened, closed = result
        if high != 1:  # a second repetition may follow: stop there
            opened, closed = set(), closed | opened
        if low == 0:
            opened = opened | {""}
        return opened, closed
    return None


def _seq_prefixes(items, room: int):
    opened, closed = {""}, set()
    for op, av in items:
        following = set()
        for prefix in opened:
            result = _node_prefixes(op, av, room - len(prefix))
            if result is None:
                closed.add(prefix)
                continue
            for tail in result[0]:
                (closed if len(prefix + tail) >= room else following).add((prefix + tail)[:room])
            closed.update((prefix + tail)[:room] for tail in result[1])
        opened = following
        if len(opened) + len(closed) > _MAX_PREFIXES:
            return None
        if not opened:
            break
    return opened, closed


def match_prefixes(pattern: str) -> frozenset[str] | None:
    """Lower-case strings (up to 5 characters) one of which starts every match of `pattern`, or None
    when that cannot be told. A rule whose prefixes are all absent from a text cannot match it."""
    try:
        result = _seq_prefixes(list(sre_parse.parse(pattern, re.IGNORECASE)), _GATE_WIDTH)
    except Exception:  # an unusual construct: no gate, scan as usual
        return None
    if result is None:
        return None
    prefixes = result[0] | result[1]
    return None if "" in prefixes or len(prefixes) > _MAX_PREFIXES else frozenset(prefixes)


def _engine_class():
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return GramEngine
    return HyperscanEngine


class Prefilter:
    """The rules of every text auditor of one policy, registered by `register`; `candidates(text)` says
    which of them can match `text` (None: all of them). The engine is built at the first question."""

    def __init__(self, engine: type | None = None):
        self.rules: list[tuple[str, ...]] = []
        self.engine_class = engine
        self._engine = None
        self._registered: dict[tuple, list[int]] = {}

    def register(self, owner: str, rules: list[tuple[str, ...]]) -> list[int]:
        """The ids of `owner`'s rules (each a tuple of terms). An auditor built again on the same policy
        (each run of a long-lived scheduler loads its auditors anew) gets the same ids: no rule twice."""
        key = (owner, tuple(tuple(terms) for terms in rules))
        if key not in self._registered:
            start = len(self.rules)
            self.rules.extend(key[1])
            self._engine = None  # rules added after the first scan: build again, with them
            self._registered[key] = list(range(start, len(self.rules)))
        return self._registered[key]

    @property
    def engine(self):
        if self._engine is None:
            self._engine = (self.engine_class or _engine_class())(self.rules)
        return self._engine

    def candidates(self, text: str) -> tuple[int, ...] | None:
        """The ids of the rules that can match `text`, in increasing order (an auditor's are a range)."""
        return _candidates(self.engine, text)


@lru_cache(maxsize=8192)
def _candidates(engine, text: str) -> tuple[int, ...] | None:
    found = engine.candidates(text)
    return None if found is None else tuple(sorted(found))


def forget_texts() -> None:
    _candidates.cache_clear()


_SHARED: dict[int, Prefilter] = {}


def shared_prefilter(policy) -> Prefilter:
    """The one prefilter of all the text rules read under `policy` (kept while the policy lives)."""
    key = id(policy)
    if key not in _SHARED:
        _SHARED[key] = Prefilter()
        weakref.finalize(policy, _SHARED.pop, key, None)
    return _SHARED[key]
