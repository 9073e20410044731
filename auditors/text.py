"""Shared machinery of the text auditors: which texts of a post to read, sentences, and rules.

The words live in config/rules/<category>.toml; this module holds the method that every text
auditor shares:

* `post_texts` - the texts an auditor reads: the account's own title and body as `where="text"`,
  the reposted or quoted post's text as `where="repost"`, each image's alt text as `where="alt:N"`,
  the text read in each image as `where="image_text:N"`.
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

    id, explanation, terms, words, spaced, unless, unless_near, unless_before, unless_after, near, requires, requires_near,
    unless_post, requires_post, about, read ("text" | "alt" | "all"), severity, requires_check, unless_check,
    check_scope ("sentence" | "post"), firm (true: the text model neither vetoes nor lowers its findings)

Category keys around the rules: `exceptions` (sentence patterns that cancel every rule),
`post_exceptions` (post patterns that cancel every rule; a rule with `about` only when the framing
they match names what the rule is about, or stands in the term's own sentence), `near` (default
window in characters), `patterns` (named patterns: `(?&name)` stands for the one of that name, before anything is
compiled or given to the prefilter, in the named patterns below it, `exceptions`, `post_exceptions` and a rule's
`terms` and context keys (`expand_named_patterns`); not in `words` or `spaced`, literal words, where it is an error,
nor in the other patterns of a file (privacy's `named_child`, student_photo's `first_name_action` and
`image.context`), plain patterns that re refuses with it).
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterable

from auditors import cache, prefilter
from auditors.base import AuditContext, RulesError
from records.model import Finding, Post

#: Longest evidence quoted from one sentence; a longer sentence is cut around the term.
MAX_EVIDENCE = 220
#: Default distance in characters, either side of a term, that `unless_near`/`requires_near` look at.
DEFAULT_NEAR = 30

# A sentence ends at . ! ? … or a line break, unless the dot closes an abbreviation or a number.
# Possessive, and only from the first mark of a run: a long run of marks not followed by a space
# ("((((" or "....x") costs one pass, not one pass per mark. Each branch begins with a character (the
# look-behind follows the first mark), so the engine skips ahead to the next candidate character.
_BOUNDARY = re.compile(r"[.!?…](?<![.!?…].)[.!?…]*+[\"'”»)]*+(?=\s|$)|\n+|\s[•|·]\s")
#: A character for which str.isalnum() is true (re's \w is exactly that or "_").
_ALNUM = re.compile(r"[^\W_]")
_ABBREVIATION = re.compile(
    r"(?:\b(?:mr|mrs|ms|mme|mlle|dr|st|ste|sr|jr|no|vs|etc|ave|rd|blvd|cres|hwy|approx|dept|gr|ex|e\.g|i\.e"
    r"|a\.m|p\.m|[a-z])\.$)", re.IGNORECASE)

_LEET = {
    "a": "a@4", "b": "b8", "c": "c(", "e": "e3€", "g": "g9", "i": "i1!|", "l": "l1|", "o": "o0",
    "s": "s$5", "t": "t7+", "u": "uv",
}
_MASK = "*#%_"
#: Most repeats after a letter ("fuuuck") or masks after the last one that an obfuscated word takes.
MAX_REPEATS = 16
_SUFFIX = r"(?:s|es|ed|er|ers|ing|in|in'|y|ies)?"
#: Most answers of `RuleAuditor._rules_per_text` kept per auditor (a post's candidates are a few rules, and
#: the same sets come again).
MAX_CHOSEN = 4096


def reposted_text(post: Post) -> str:
    """What the reposted or quoted post says, when the source gave it ("" otherwise)."""
    return (post.repost_of.text or "").strip() if post.repost_of else ""


def own_text(post: Post) -> str:
    """The account's own title and body: without the reposted or quoted text, which sources fold into
    the body as a reader sees it ("own words\n\n> quoted") and which is read apart as "repost"."""
    text, quoted = post.full_text, reposted_text(post)
    at = text.find(quoted) if quoted else -1
    if at < 0:
        return text
    before = text[:at].rstrip().removesuffix(">").rstrip()
    after = text[at + len(quoted):].strip()
    return "\n".join(part for part in (before, after) if part)


def repost_explanation(post: Post, explanation: str) -> str:
    """A finding's explanation, saying that what it quotes is the reposted (or quoted) post's content."""
    ref = post.repost_of
    what = "the post it quotes" if ref.kind == "quote" else "the post it reposts"
    return f"In {what} (by {ref.handle}), not its own words: {explanation[:1].lower()}{explanation[1:]}"


def post_texts(post: Post, read: str = "all", policy=None) -> list[tuple[str, str]]:
    """(where, text) pairs: the account's own title and body as "text", the reposted or quoted post's
    text as "repost" (audited like the account's own), each alt text as "alt:N"; with a `policy`,
    also the text read in each downloaded image as "image_text:N" (read like "text")."""
    if read == "all":
        return list(_reading(post, policy).texts)
    return _read_texts(post, read, policy)


def text_state(post: Post) -> tuple:
    """What the texts of a post are read from: a post object changed since it was read is read anew."""
    media = post.media
    return post.title, post.text, post.repost_of and post.repost_of.text, [(m.alt, m.path) for m in media] if media else []


def whole_text(texts: list[str]) -> str:
    """A post's texts as one, as the post-level context patterns read it."""
    return "\n".join(texts)


class Reading:
    """The texts of one post (`post_texts(post, policy=policy)`) and what the prefilter says of them, each
    worked out at its first question: the text auditors of a post (rules and model) ask in turn. Each
    answer is kept with the prefilter it came from, so that another prefilter's question is answered anew.

    The prefilter reads the post's whole text, once: a relaxed pattern has no anchor, so one that can match
    one of the post's texts (or one of its sentences) can match the whole, which holds that text. The whole's
    candidates serve each text and the post-level context patterns; a rule they name runs on each text and
    finds what it finds there (reading each text apart, and the whole again, cost one pass more per text)."""

    __slots__ = ("texts", "_whole", "_answer", "_kinds")

    def __init__(self, texts: list[tuple[str, str]]):
        self.texts = texts
        self._whole = None
        self._answer = (None, None)
        self._kinds = None

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kind of each text, as rules' `read` names them: "alt" for an alt text, else "text" (a repost's too)."""
        if self._kinds is None:
            self._kinds = tuple("alt" if where.startswith("alt") else "text" for where, _ in self.texts)
        return self._kinds

    @property
    def whole(self) -> str:
        if self._whole is None:
            self._whole = whole_text([text for _, text in self.texts])
        return self._whole

    def candidates(self, rules: prefilter.Prefilter) -> tuple[int, ...] | None:
        """The candidate ids of the post in increasing order, or None when any pattern may match."""
        answer = self._answer  # one read: another thread may replace it meanwhile
        if answer[0] is not rules:
            answer = self._answer = (rules, rules.candidates(self.whole))
        return answer[1]


#: The last post read (`_reading`): (post, policy, its text_state, Reading). The text auditors of one
#: post ask in turn; each would otherwise read its texts and ask the prefilter again.
_last_reading: tuple = (None, None, None, None)

#: (prefilter, posts, {id(post): (post, its text_state, Reading)}) of the last `RuleAuditor.prepare`: what it
#: read of posts without downloaded images, which the text auditors need not read again.
_read_ahead: tuple = (None, None, {})


def _reading(post: Post, policy) -> Reading:
    """The Reading of `post_texts(post, policy=policy)`: the last post's, one read ahead, or a new one."""
    global _last_reading
    read_now = text_state(post)
    last = _last_reading  # one read: another thread may replace it meanwhile
    if last[0] is post and last[2] == read_now \
            and (last[1] is policy or not any(media.path for media in post.media)):  # else image texts may differ
        return last[3]
    ahead = _read_ahead[2].get(id(post))
    if ahead is not None and ahead[0] is post and ahead[1] == read_now:  # read ahead: no downloaded image
        reading = ahead[2]
    else:
        reading = Reading(_read_texts(post, "all", policy))
    _last_reading = (post, policy, read_now, reading)
    return reading


def _read_texts(post: Post, read: str, policy) -> list[tuple[str, str]]:
    texts = []
    if read in ("all", "text"):
        own, quoted = own_text(post), reposted_text(post)
        texts += [(where, text) for where, text in (("text", own), ("repost", quoted)) if text.strip()]
    if read in ("all", "alt"):
        texts.extend((f"alt:{index}", media.alt) for index, media in enumerate(post.media) if media.alt.strip())
    if read in ("all", "text") and policy is not None and any(media.path for media in post.media):
        from auditors.image_auditors import image_texts  # imported only for posts with downloaded images

        texts.extend(image_texts(post, policy))
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
        part = text[begin:end]
        kept = part.strip()  # str.strip() drops what str.isspace() calls white space
        if kept:
            begin += len(part) - len(part.lstrip())
            end = begin + len(kept)
            if result and not _ALNUM.search(text, begin, end):
                result[-1] = (result[-1][0], end)  # a trailing emoji or "!!!" belongs to the sentence it reacts to
            else:
                result.append((begin, end))
    return tuple(result)


@lru_cache(maxsize=8192)
def _sentence_starts(text: str) -> tuple[int, ...]:
    return tuple(begin for begin, _ in sentence_spans(text))


def sentence_at(text: str, position: int) -> tuple[int, int]:
    """The sentence holding `position` (found by bisection: a post may have thousands of sentences)."""
    index = bisect_right(_sentence_starts(text), position) - 1
    if index >= 0:
        begin, end = sentence_spans(text)[index]
        if position < end:
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


def _mixed_case(text: str) -> bool:
    """Whether `text` holds an upper-case and a lower-case character (str.isupper, str.islower)."""
    if text.isascii():  # an ASCII letter changes case exactly where it is of the other case
        return text != text.lower() and text != text.upper()
    return any(c.isupper() for c in text) and any(c.islower() for c in text)


@lru_cache(maxsize=8192)
def restored_case(text: str) -> str:
    """`text` as the case-sensitive parts of the rules expect it. A post written all in lower case or
    ALL IN CAPITALS carries no capital that marks a name, so each word gets one (title case); a post
    in mixed case is returned as it is. Offsets are kept (else the text is returned unchanged)."""
    if not _mixed_case(text):
        titled = text.title()
        if len(titled) == len(text):
            return titled
    return text


def _leet_set(char: str) -> str:
    return _LEET.get(char, char)


def _leet_classes(word: str) -> list[str]:
    """One regex atom per letter (a doubled letter is one atom) of `word`, tolerant of leetspeak,
    masking (after the first letter) and repeats.

    Each masked or written letter is exactly one character, followed by a possessive tail of up to
    MAX_REPEATS repeats ("fuuuck") that leaves alone what the next letter accepts; the last letter's
    tail also takes masks ("f****", "f***k"). No atom can give characters back to another, and none
    reads more than MAX_REPEATS + 1 characters, so trying a match costs a bounded number of steps,
    not a search over every way to share a run of "*" or "(" or "1!1!" between letters."""
    letters = [(char, len(run)) for char, run in ((m.group(1), m.group()) for m in re.finditer(r"(.)\1*", word.lower()))]
    atoms = []
    for index, (char, count) in enumerate(letters):
        if char == " ":
            atoms.append(r"[\s_.-]*")
            continue
        variants = _leet_set(char)
        following = _leet_set(letters[index + 1][0]) if index + 1 < len(letters) else ""
        last = index + 1 == len(letters)
        one = variants + (_MASK if index else "")
        tail = "".join(c for c in variants if c not in following) + (_MASK if last else "")
        atoms.append("[" + re.escape(one) + "]"
                     + (f"{{{count}}}" if count > 1 else "") + (f"[{re.escape(tail)}]{{0,{MAX_REPEATS}}}+" if tail else ""))
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


def forget_texts() -> None:
    """Drop the per-text caches (shared by the auditors of one post). The speed benchmark calls it
    between rounds, so that repeating a corpus measures new texts, as a crawl sees them; an audit worker after
    each account, which then keeps no post or reading of it (`prepare`'s read-ahead included)."""
    global _read_ahead
    for cached in (sentence_spans, _sentence_starts, lowered, restored_case):
        cached.cache_clear()
    _read_ahead = (None, None, {})
    prefilter.forget_texts()


_CAPITALISED = re.compile(r"(?<![\w@#])([A-ZÀ-Ý][a-zà-ÿ]+(?:[-'’][A-ZÀ-Ýa-zà-ÿ]+)?)(?:['’]s)?(?![\w@])")


def _word_before(text: str, position: int) -> str:
    """The word before `position`, trailing dots dropped ("Dr." -> "Dr"); read backwards from
    `position`, so that looking at every capitalised pair of a long text stays linear."""
    end = position
    while end and text[end - 1].isspace():
        end -= 1
    while end and text[end - 1] == ".":
        end -= 1
    while end and text[end - 1].isspace():
        end -= 1
    begin = end
    while begin and not text[begin - 1].isspace():
        begin -= 1
    return text[begin:end]


class FullNames:
    """Finds a person named by first and last name ("Jordan Ellis"), not a staff member named with a
    title ("Ms. Rivera", "Coach Dave Miller"), and not part of a longer proper noun ("Long Point DSB",
    "Grand River Public School"). `not_names` and `titles` are lower-case words from the rules."""

    def __init__(self, not_names, titles):
        self.not_names = frozenset(w.lower() for w in not_names)
        self.titles = frozenset(w.lower().rstrip(".") for w in titles)

    def __call__(self, text: str) -> bool:
        cased = restored_case(text)
        if cased != text:  # by value: the cache hands back the first equal string it saw, not `text`
            return self._in_titled(cased)
        words = list(_CAPITALISED.finditer(text))
        for index, (first, last) in enumerate(zip(words, words[1:])):
            if text[first.end():last.start()] != " ":
                continue
            if first.group(1).lower() in self.not_names or last.group(1).lower() in self.not_names:
                continue
            before = _word_before(text, first.start())
            if before and (before.lower() in self.titles or before[:1].isupper() and before[-1:].isalpha()
                           and before.lower() not in self.not_names):
                continue  # a title, or the tail of a longer proper noun
            after = text[last.end():last.end() + 12]
            if re.match(r" (?:[A-Z]{2,}\b|[A-Z][a-z]+ (?:[A-Z]|of\b))", after) or re.match(r" [A-Z]{2,}\b", after):
                continue  # the head of a longer proper noun ("Long Point DSB", "Grand River Public School")
            return True
        return False


    def _in_titled(self, text: str) -> bool:
        """In a post without case (title-cased by `restored_case`) every word looks like a name: a pair
        counts only right after a word that introduces a person ("congrats to jordan ellis")."""
        words = list(_CAPITALISED.finditer(text))
        for before, first, last in zip(words, words[1:], words[2:]):
            if text[before.end():first.start()] != " " or text[first.end():last.start()] != " ":
                continue
            pair = (first.group(1).lower(), last.group(1).lower())
            if before.group(1).lower() in _INTRODUCERS and not any(w in self.not_names or w in self.titles for w in pair):
                return True
        return False


#: Words after which two title-cased words are read as a person's name in a post without case (a praise, a
#: welcome, or the one left out of it: "bravo à nos joueurs, sauf étienne lavoie").
_INTRODUCERS = frozenset({"to", "congrats", "congratulations", "welcome", "shoutout", "kudos", "bravo", "félicitations",
                          "student", "meet", "élève", "except", "sauf", "sees"})


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
        for match in self.pattern.finditer(restored_case(text)):
            name = next((g for g in match.groups() if g), None)
            if name and name.lower() not in self.not_names:
                return True
        return False


@dataclass(eq=False)
class Rule:
    """One rule of a rules file. Its patterns are compiled at their first use: most rules never run
    on a given post (the prefilter skips them), so a start-up compiles only what it reads."""

    id: str
    explanation: str
    sources: dict[str, tuple[str, ...]]  # "terms" and each of CONTEXT_KEYS -> its patterns
    near: int = DEFAULT_NEAR
    read: str = "all"
    severity: str | None = None
    requires_check: str | None = None
    unless_check: str | None = None
    check_scope: str = "sentence"  # sentence | post: what `requires_check` / `unless_check` read
    firm: bool = False  # its terms are never look-alikes: the text model neither vetoes nor lowers its findings

    def __post_init__(self):
        self._compiled: dict[str, re.Pattern | None] = {}
        self._scans: dict[tuple[tuple[int, ...], bool], re.Pattern] = {}
        self.every_term = tuple(range(len(self.sources["terms"])))

    def pattern(self, key: str) -> re.Pattern | None:
        """The compiled "terms" or context pattern `key` (None when the rule has none)."""
        if key not in self._compiled:
            self._compiled[key] = joined(self.sources.get(key, ()))
        return self._compiled[key]

    @cached_property
    def case_free(self) -> bool:
        """True when no part of the terms is case-sensitive: they can then read lower-cased text."""
        return None not in map(_lowered_pattern, self.sources["terms"])

    def scan(self, which: tuple[int, ...], lowered_text: bool) -> re.Pattern:
        """The terms `which` (indices) joined, for lower-cased text (`case_free` terms) or as written
        (case-insensitive). The prefilter names the terms that can match a text; joined without the
        others, they find the same matches in the same order (a term that cannot match takes no part),
        at a fraction of the cost of the whole alternation. Terms that refer to each other's groups
        are always joined whole."""
        if not self.terms_apart:
            which = self.every_term
        key = (which, lowered_text)
        if key not in self._scans:
            terms = [self.sources["terms"][i] for i in which]
            self._scans[key] = re.compile("|".join(f"(?:{_lowered_pattern(t)})" for t in terms)) if lowered_text \
                else joined(terms)
        return self._scans[key]

    @cached_property
    def terms_apart(self) -> bool:
        """False when a term refers to a group by number or name (`\\1`, `(?P=name)`): joined with fewer
        terms before it, it would refer to another group."""
        return not any(_BACKREFERENCE.search(term) for term in self.sources["terms"])


#: A reference to a group by number or name: joined with other patterns before it, it would refer to another group.
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


#: A rule's context patterns (each a pattern or a list of them); schoolaudit.config checks rules files against these.
CONTEXT_KEYS = ("unless", "unless_near", "unless_before", "unless_after", "requires", "requires_near", "unless_post",
                "requires_post", "about")


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def joined(patterns: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive regex matching any of `patterns`, or None when there are none."""
    patterns = [p for p in patterns if p]
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


def _validate(patterns: Iterable[str], label: str, key_path: tuple) -> None:
    for pattern in patterns:
        error = cache.pattern_error(pattern)
        if error:
            raise RulesError(f"{label}: bad pattern {pattern!r}: {error}", key_path)


#: A use of a named pattern of the file's `[patterns]` table (PCRE's call of a named group: never valid in Python's re,
#: so no pattern meant literally can hold it). A name is a TOML bare key.
_NAMED_USE = re.compile(r"\(\?&([\w-]+)\)")


def expand_named_patterns(rules: dict, report) -> dict:
    """A rules file's table with each `(?&name)` in a pattern replaced by `(?:...)` around the pattern of that name in
    its `[patterns]` table (a named pattern may use names defined above it), so that a word list written once serves
    several rules; the named patterns come back expanded too. A name that cannot be used is told to
    `report(key_path, message)` and stands for a pattern that matches nothing, as does a use of a named pattern that
    does not compile (its definition is the one mistake to report), so that a checker reads on and says each mistake
    once."""
    table = rules.get("patterns")
    table = table if isinstance(table, dict) else {}
    named: dict[str, str] = {}

    def expand(pattern, key_path: tuple):
        if not isinstance(pattern, str):
            return [expand(p, key_path) for p in pattern] if isinstance(pattern, list) else pattern

        def use(match: re.Match) -> str:
            if match.group(1) in named:
                return "(?!)" if cache.pattern_error(named[match.group(1)]) else f"(?:{named[match.group(1)]})"
            problem = _unusable_name(match, table, key_path)
            if problem:
                report(key_path, problem)
            return "(?!)"
        return _NAMED_USE.sub(use, pattern)

    for name, pattern in table.items():
        if isinstance(pattern, str):  # else the schema says what it must be
            named[name] = expand(pattern, ("patterns", name))
    expanded = dict(rules)
    if table:
        expanded["patterns"] = {name: named.get(name, pattern) for name, pattern in table.items()}
    for key in EXCEPTION_KEYS:
        if key in rules:
            expanded[key] = expand(rules[key], (key,))
    if isinstance(rules.get("rules"), list):
        expanded["rules"] = [{key: expand(value, ("rules", index, key)) if key in ("terms", *CONTEXT_KEYS) else value
                              for key, value in entry.items()} if isinstance(entry, dict) else entry
                             for index, entry in enumerate(rules["rules"])]
        _refuse_names_in_words(rules["rules"], report)
    return expanded


def _refuse_names_in_words(entries: list, report) -> None:
    """`words` and `spaced` are literal words: a `(?&name)` there would be looked for as written, silently."""
    for index, entry in enumerate(entries):
        for key in ("words", "spaced"):
            value = entry.get(key) if isinstance(entry, dict) else None
            for word in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
                use = _NAMED_USE.search(word) if isinstance(word, str) else None  # else the schema says what it must be
                if use:
                    report(("rules", index, key), f"{use.group()!r} in {word!r}: `{key}` are literal words; a named "
                                                  f"pattern is read in `terms` and the context keys")


def _unusable_name(use: re.Match, table: dict, key_path: tuple) -> str | None:
    """Why `use`, a `(?&name)` at `key_path`, names no pattern defined before it, looked up in the raw `[patterns]`
    table; None when the name's value is not a string (the schema reports that at its definition)."""
    name, said = use.group(1), f"{use.group(1)!r} in {use.group()!r}"
    if name not in table:
        return f"unknown pattern name {said} " + (f"(named: {', '.join(table)})" if table else "(no [patterns] table)")
    if not isinstance(table[name], str):
        return None
    if key_path == ("patterns", name):
        return f"pattern {said} uses itself"
    return f"pattern {said} is used above its definition (define patterns.{name} higher in the table)"


def _rule_sources(entry: dict) -> dict[str, tuple[str, ...]]:
    words, spaced = _as_list(entry.get("words")), _as_list(entry.get("spaced"))
    terms = _as_list(entry.get("terms")) + ([obfuscated_words(words)] if words else []) \
        + ([spaced_words(spaced)] if spaced else [])
    return {"terms": tuple(t for t in terms if t),
            **{key: tuple(p for p in _as_list(entry.get(key)) if p) for key in CONTEXT_KEYS}}


def _rule_id(entry: dict, index: int) -> str:
    """How errors name the rule at `index` (0-based) of a rules file."""
    return entry.get("id", f"rule {index + 1}")


def _validate_rules(label: str, entries: list[dict], sources: list[dict]) -> None:
    """Every pattern of the rules compiles, else a RulesError naming the rule (patterns this Python
    compiled before are remembered in the cache folder: compiling them is most of a start-up)."""
    for index, (entry, rule) in enumerate(zip(entries, sources)):
        where = f"{label} [[rules]] {_rule_id(entry, index)}"
        for key, patterns in rule.items():
            _validate(patterns, where, ("rules", index, key))


def _validate_named(label: str, table) -> None:
    """Every named pattern is a string that compiles (its uses were left matching nothing, unreported)."""
    if not isinstance(table, dict):
        raise RulesError(f"{label}: patterns: must be a table of named patterns, not {table!r}", ("patterns",))
    for name, pattern in table.items():
        if not isinstance(pattern, str):
            raise RulesError(f"{label}: patterns.{name}: must be a pattern (a string), not {pattern!r}", ("patterns", name))
        _validate([pattern], f"{label}: patterns.{name}", ("patterns", name))


#: The category-wide context keys of a rules file: sentence patterns and post patterns that cancel every rule.
EXCEPTION_KEYS = ("exceptions", "post_exceptions")
#: A rule's context keys whose patterns are asked of the prefilter (those read in a sentence or the post, not near a term).
GATED_KEYS = ("unless", "requires", "unless_post", "requires_post")


def compile_rules(category: str, rules: dict) -> tuple[list[Rule], dict[str, tuple[str, ...]]]:
    """The rules of one category's TOML table, plus its category-wide sentence and post exceptions:
    {key: its patterns, each checked} for each of EXCEPTION_KEYS."""
    label = f"rules/{category}.toml"

    def refuse(key_path: tuple, message: str):
        where = f" [[rules]] {_rule_id(rules['rules'][key_path[1]], key_path[1])}" if key_path[0] == "rules" else ""
        raise RulesError(f"{label}{where}: {'.'.join(str(k) for k in key_path[2 if where else 0:])}: {message}", key_path)

    table = expand_named_patterns(rules, refuse)
    _validate_named(label, table.get("patterns", {}))
    default_near = int(table.get("near", DEFAULT_NEAR))
    entries = table.get("rules", [])
    sources = [_rule_sources(entry) for entry in entries]
    for index, (entry, rule) in enumerate(zip(entries, sources)):
        if not rule["terms"] or not entry.get("explanation"):
            raise RulesError(f"{label} [[rules]] {_rule_id(entry, index)}: needs `terms` or `words`, "
                             f"and an `explanation`", ("rules", index))
    _validate_rules(label, entries, sources)
    compiled = [Rule(id=_rule_id(entry, index), explanation=entry["explanation"], sources=rule,
                     near=int(entry.get("near", default_near)), read=entry.get("read", "all"),
                     severity=entry.get("severity"), requires_check=entry.get("requires_check"),
                     unless_check=entry.get("unless_check"), check_scope=entry.get("check_scope", "sentence"),
                     firm=bool(entry.get("firm", False)))
                for index, (entry, rule) in enumerate(zip(entries, sources))]
    exceptions = {key: tuple(p for p in _as_list(table.get(key)) if p) for key in EXCEPTION_KEYS}
    for key, patterns in exceptions.items():
        _validate(patterns, label, (key,))
    return compiled, exceptions


class RuleAuditor:
    """An auditor for one category whose rules come from config/rules/<category>.toml.

    Subclasses set `name` and `category`, and may define sentence checks as methods
    `check_<name>(sentence) -> bool` for what a word list cannot say; a rule names one with
    `requires_check = "<name>"` or `unless_check = "<name>"`. Every auditor has `full_name` and
    `named_child`, built from the `not_names`, `titles` and `named_child` lists of config/rules/privacy.toml.
    The rules of every such auditor of a policy share one prefilter (auditors.prefilter): a text is
    read once to learn which rules can match it, and only those run.
    """

    name = "text"
    category = ""
    categories: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.categories = (cls.category,)  # the contract's class attribute, read before construction

    @classmethod
    def known_checks(cls) -> tuple[str, ...]:
        """The names a rule may give as `requires_check` / `unless_check`."""
        own = (name.removeprefix("check_") for name in dir(cls) if name.startswith("check_"))
        return tuple(sorted({*own, "full_name", "named_child"}))  # the last two are built in __init__

    def __init__(self, policy):
        self.policy = policy
        names = policy["privacy"].rules
        self.check_full_name = FullNames(names.get("not_names", []), names.get("titles", []))
        self.check_named_child = NamedChild(self.check_full_name, names.get("named_child", []), names.get("not_names", []))
        self.rules, exceptions = compile_rules(self.category, policy[self.category].rules)
        self.restores_case = bool(policy[self.category].rules.get("restore_case", False))
        for index, rule in enumerate(self.rules):
            for check in filter(None, (rule.requires_check, rule.unless_check)):
                if not hasattr(self, f"check_{check}"):
                    raise RulesError(f"rules/{self.category}.toml [[rules]] {rule.id}: unknown check {check!r}",
                                     ("rules", index))
        self.prefilter: prefilter.Prefilter | None = prefilter.shared_prefilter(policy)  # None: every rule runs
        terms = [(rule, index) for rule in self.rules for index in rule.every_term]
        self.prefilter_ids = self.prefilter.register(self.category, [(rule.sources["terms"][index],) for rule, index in terms])
        self._term_of = dict(zip(self.prefilter_ids, terms))  # ids grow in the rules' and their terms' order
        self._id_range = (self.prefilter_ids[0], self.prefilter_ids[-1] + 1) if terms else (0, 0)
        self._rules_per_text = lru_cache(maxsize=MAX_CHOSEN)(self._rules_per_text)  # the same few questions come again
        # the context patterns, asked of the prefilter too, each apart: one it finds nowhere in a text is not
        # searched for in the text or its sentences (a sentence is bounded by white space or the text's ends, so
        # a context pattern that matches in a sentence can match in the text; see _context)
        gated = [(key, None, exceptions[key]) for key in EXCEPTION_KEYS]
        gated += [(key, rule, rule.sources[key]) for rule in self.rules for key in GATED_KEYS]
        gated = [(key, rule, patterns) for key, rule, patterns in gated if patterns]
        gate_ids = self.prefilter.register(f"{self.category} context", [(p,) for _, _, patterns in gated for p in patterns])
        # (key, rule) -> (its patterns, the prefilter's id of the first, of the last + 1, whether they may be joined
        # apart): the ids of one are a range, in the order registered; patterns that refer to a group by number or
        # name are always joined whole
        self._gate, at = {}, 0
        for key, rule, patterns in gated:
            self._gate[(key, rule)] = (patterns, gate_ids[at], gate_ids[at] + len(patterns),
                                       not any(_BACKREFERENCE.search(p) for p in patterns))
            at += len(patterns)
        self._joined_context = lru_cache(maxsize=MAX_CHOSEN)(self._joined_context)

    def prepare(self, posts: list[Post]) -> None:
        """Read the texts of the posts about to be audited with the prefilter, one after the other
        (auditors.registry.prepare; its answers are kept per text): its tables, megabytes large, then
        stay in the processor's caches, where one text read between other work finds them evicted. The
        text auditors of a policy share the prefilter: the first of them reads, for all."""
        global _read_ahead
        if self.prefilter is None or _read_ahead[0] is self.prefilter and _read_ahead[1] is posts:
            return
        readings = {}
        for post in posts:
            # as post_texts(post); text read in downloaded images is not read ahead
            reading = Reading(_read_texts(post, "all", None))
            reading.candidates(self.prefilter)
            if not any(media.path for media in post.media):
                readings[id(post)] = (post, text_state(post), reading)
        _read_ahead = (self.prefilter, posts, readings)

    def _rules_per_text(self, found: tuple[int, ...] | None, kinds: tuple[str, ...]) -> tuple | None:
        """For each text of a post (by its kind), the rules that read it and, by the prefilter's candidate term ids
        of this auditor `found` (None: any term may match), can match it, with those terms (`_choose`); None when
        no rule can match any text. Kept per question (see __init__)."""
        chosen = {kind: self._choose(found, kind) for kind in set(kinds)}
        rules = tuple(chosen[kind] for kind in kinds)
        return rules if any(rules) else None

    def _choose(self, found: tuple[int, ...] | None, kind: str) -> list[tuple[Rule, tuple[int, ...]]]:
        """(rule, its terms that can match) for the rules that read this kind of text and, by the prefilter's
        candidate term ids `found`, can match it; in the rules' order."""
        if found is None:
            rules = [(rule, rule.every_term) for rule in self.rules]
        else:
            grouped: dict[Rule, list[int]] = {}
            for i in found:
                rule, index = self._term_of[i]
                grouped.setdefault(rule, []).append(index)
            rules = [(rule, tuple(which)) for rule, which in grouped.items()]
        return [(rule, which) for rule, which in rules if rule.read in ("all", kind)]

    def audit(self, post: Post, context: AuditContext) -> list[Finding]:
        reading = _reading(post, self.policy)
        every = reading.candidates(self.prefilter) if self.prefilter is not None else None
        mine = None
        if every is not None:
            first, end = self._id_range
            low, high = bisect_left(every, first), bisect_left(every, end)
            if low == high:
                return []  # no rule of this auditor can match a text of the post
            mine = every[low:high]
        rules_per_text = self._rules_per_text(mine, reading.kinds)
        if rules_per_text is None:
            return []  # nothing can match: what would cancel a finding need not be read
        candidates = [(where, text, rules) for (where, text), rules in zip(reading.texts, rules_per_text)]
        whole = reading.whole
        post_exceptions = self._context(every, "post_exceptions")
        framings = [m.group() for m in post_exceptions.finditer(whole)] if post_exceptions else []
        if framings and not any(rule.sources["about"] for rule in self.rules):
            return []
        findings, seen, post_verdicts = [], set(), {}
        for where, text, rules in candidates:
            low = lowered(text)
            cased = restored_case(text) if self.restores_case else text  # same offsets: evidence is quoted from `text`
            for rule, which in rules:
                found = self._first_finding(rule, which, where, text, cased, low, (whole, framings, every), seen,
                                            post_verdicts)
                if found:
                    sentence, match = found
                    seen.add((where, sentence))
                    extra = {"severity": rule.severity} if rule.severity else {}
                    explanation = rule.explanation.format(term=text[match.start():match.end()].strip())
                    findings.append(context.finding(
                        self.category, evidence_span(text, sentence, match.span()),
                        repost_explanation(post, explanation) if where == "repost" else explanation, self.name,
                        where=where, firm=rule.firm, **extra))
        return findings

    def _first_finding(self, rule: Rule, which: tuple[int, ...], where: str, text: str, cased: str, low: str | None,
                       post: tuple[str, list[str], tuple[int, ...] | None], seen: set,
                       post_verdicts: dict) -> tuple[tuple[int, int], re.Match] | None:
        """(sentence, match) of `rule` (its terms `which`) on the first sentence of `text` that breaks it and has no
        finding yet (`seen`: (where, sentence) pairs), or None. `post` is the whole post's text, the
        post exceptions it holds (`framings`) and the prefilter's candidate ids for it, which serve `text`'s
        sentences too (Reading; None: any pattern may match). `cased` is `text` in restored case
        (same offsets), which the patterns read; the checks read the original, whose case they judge.
        What a sentence or the post says is judged once per rule, not once per match in it, so that
        a long sentence with many matches costs its length once."""
        sentence_verdicts = {}
        fast = low is not None and rule.case_free
        scan = rule.scan(which, True).finditer(low) if fast else rule.scan(which, False).finditer(cased)
        for match in scan:
            sentence = sentence_at(text, match.start())
            if (where, sentence) in seen:
                continue
            if sentence not in sentence_verdicts:
                if id(rule) not in post_verdicts:
                    post_verdicts[id(rule)] = self._post_allows(rule, *post)
                sentence_verdicts[sentence] = post_verdicts[id(rule)] and self._sentence_allows(
                    rule, cased[sentence[0]:sentence[1]], text[sentence[0]:sentence[1]], post[2])
            if sentence_verdicts[sentence] and self._near_allows(rule, cased, sentence, match):
                return sentence, match
        return None

    def _post_allows(self, rule: Rule, whole: str, framings: list[str], every: tuple[int, ...] | None = None) -> bool:
        if self._framed(rule, framings):
            return False
        unless_post = self._context(every, "unless_post", rule)
        if unless_post and unless_post.search(whole):
            return False
        if rule.sources["requires_post"] and not self._context_search(every, "requires_post", rule, whole):
            return False
        return rule.check_scope != "post" or self._checks_allow(rule, whole)

    @staticmethod
    def _framed(rule: Rule, framings: list[str]) -> bool:
        """True when a post exception (prevention framing) cancels `rule` in the whole post: for a rule
        with `about`, only a framing about the same thing ("vaping awareness" for vaping, not for a
        beer garden); for one without, any framing."""
        about = rule.pattern("about")
        if about is None:
            return bool(framings)
        terms = rule.pattern("terms")
        return any(about.search(framing) or terms.search(framing) for framing in framings)

    def _sentence_allows(self, rule: Rule, said: str, original: str, every: tuple[int, ...] | None = None) -> bool:
        if self._context_search(every, "post_exceptions", None, said):
            return False  # a framing in the term's own sentence is about it
        if self._context_search(every, "unless", rule, said) or self._context_search(every, "exceptions", None, said):
            return False
        if rule.sources["requires"] and not self._context_search(every, "requires", rule, said):
            return False
        return rule.check_scope == "post" or self._checks_allow(rule, original)

    def _context_search(self, every: tuple[int, ...] | None, key: str, rule: Rule | None, text: str) -> bool:
        """Whether the context patterns `key` (of `rule`, or of the category) match in `text`, a text of the
        post or one of its sentences (`every`: the post's candidate ids, see `_context`)."""
        pattern = self._context(every, key, rule)
        return pattern is not None and pattern.search(text) is not None

    def _context(self, every: tuple[int, ...] | None, key: str, rule: Rule | None = None) -> re.Pattern | None:
        """The context patterns `key` (of `rule`, or of the category) that can match the post, joined as
        `joined` joins them all; None when there are none, or the prefilter found that none can match (`every`:
        the post's candidate ids; None: any may). A sentence starts and ends at white space or at an end of its
        text, and its stray one-character span (`sentence_at`) holds no word character, so a pattern's relaxed
        form, without lookarounds and anchors, matches the post's text wherever the pattern matches one of its
        texts or sentences. A pattern that cannot match anywhere in a text takes no part in a match of the
        alternation, so the others, in their order, find the same matches (a search, or each match of
        `finditer`), at a fraction of the cost of the whole alternation."""
        gate = self._gate.get((key, rule))
        if gate is None:
            return None
        _, first, end, apart = gate
        if every is None:
            return self._joined_context(key, rule, None)
        which = every[bisect_left(every, first):bisect_left(every, end)]
        if not which:
            return None
        return self._joined_context(key, rule, which if apart and len(which) < end - first else None)

    def _joined_context(self, key: str, rule: Rule | None, which: tuple[int, ...] | None) -> re.Pattern:
        """`_context`'s pattern: the patterns of (key, rule) with the prefilter ids `which` (None: all), kept
        per question (see __init__)."""
        patterns, first, _, _ = self._gate[(key, rule)]
        return joined(patterns if which is None else (patterns[i - first] for i in which))

    def _checks_allow(self, rule: Rule, checked: str) -> bool:
        if rule.requires_check and not getattr(self, f"check_{rule.requires_check}")(checked):
            return False
        return not (rule.unless_check and getattr(self, f"check_{rule.unless_check}")(checked))

    @staticmethod
    def _near_allows(rule: Rule, text: str, sentence: tuple[int, int], match: re.Match) -> bool:
        start, end = max(sentence[0], match.start() - rule.near), min(sentence[1], match.end() + rule.near)
        around = text[start:end]
        unless_near, requires_near = rule.pattern("unless_near"), rule.pattern("requires_near")
        unless_before, unless_after = rule.pattern("unless_before"), rule.pattern("unless_after")
        if unless_near and unless_near.search(around):
            return False
        if unless_before and unless_before.search(text, start, match.start()):
            return False
        if unless_after and unless_after.match(text, match.end(), end):
            return False
        return not (requires_near and not requires_near.search(around))
