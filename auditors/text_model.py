"""A statistical text model behind the rules: one logistic regression per category.

The rules (auditors/text.py and config/rules/<category>.toml) are precise but miss wordings they were
not written for. This auditor reads the same post as one document (`text || alt 1 | alt 2`), turns it
into TF-IDF features - word 1-2-grams and character 3-5-grams inside words (sklearn's `char_wb`) -
and scores each category with a logistic regression trained on the project's own labelled posts
(auditors/models/train_text_model.py; the model is auditors/models/text-lr.json.gz, see NOTICE).

Inference is numpy and plain Python: the transform reproduces scikit-learn's `TfidfVectorizer`
(lower-case; word tokens `(?u)\\b\\w\\w+\\b`; each whitespace-separated word padded with one space
for the character n-grams; sublinear tf `1 + log(tf)`; times idf; each vectorizer's vector
L2-normalised on its own; the two concatenated), so scikit-learn is not needed at run time. The
character n-grams of a word never depend on its neighbours, so each word's feature indices are
computed once and cached.

`TextModelAuditor` flags a category whose probability reaches its threshold (config/rules/
text_model.toml) and quotes the sentence (or alt text) that scores highest for it. It is a
*supplement*: the registry runs it after the rules and keeps its findings only for categories no
other auditor found on the post, and its severity is one step below the policy's, because a
statistical guess is less certain than a rule.
"""
from __future__ import annotations

import base64
import gzip
import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

from auditors.base import AuditContext, Disabled, RulesError
from auditors.text import own_text, post_texts, repost_explanation, reposted_text, sentence_spans
from records.model import Finding, Post

MODEL_PATH = Path(__file__).resolve().parent / "models" / "text-lr.json.gz"
RULES_FILE = "text_model"
#: The categories the model knows; `endorsement_repost` is mechanical and stays with its auditor.
CATEGORIES = ("student_photo", "endorsement_commercial", "endorsement_political", "religion_promotion",
              "substances", "explicit", "hostile", "privacy")
LOWER = {"high": "medium", "medium": "low", "low": "low"}
WHAT = {
    "student_photo": "a description of identifiable students in a photo",
    "endorsement_commercial": "a commercial endorsement",
    "endorsement_political": "a political endorsement",
    "religion_promotion": "promotion of a religion",
    "substances": "promotion of alcohol, drugs or tobacco",
    "explicit": "explicit content",
    "hostile": "hostile or disrespectful language",
    "privacy": "a disclosure of personal information",
}
_WORD_CACHE = 1 << 16


def document(text: str, alts: Iterable[str]) -> str:
    """The one string the model reads for a post: its text, then its alt texts."""
    return text + " || " + " | ".join(alts)


def post_document(post: Post) -> str:
    """The document of a post: its own text, the reposted or quoted text, then its alt texts."""
    text = "\n".join(part for part in (own_text(post), reposted_text(post)) if part)
    return document(text, [media.alt for media in post.media])


def _floats(encoded: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(encoded), dtype="<f4").astype(np.float64)


class TextModel:
    """The exported model: vocabularies, idf, and per-category coefficients and intercepts."""

    def __init__(self, path: Path = MODEL_PATH):
        data = json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8"))
        if data.get("format") not in (1, 2):
            raise ValueError(f"{path}: unknown model format {data.get('format')!r}")
        self.categories: tuple[str, ...] = tuple(data["categories"])
        word, char = data["vectorizers"]
        if (word["analyzer"], tuple(word["ngram_range"]), char["analyzer"], tuple(char["ngram_range"])) \
                != ("word", (1, 2), "char_wb", (3, 5)):
            raise ValueError(f"{path}: unexpected vectorizers")
        self.token = re.compile(word["token_pattern"])
        self.word_index = {t: i for i, t in enumerate(word["terms"].split("\n"))}
        self.char_index = {t: i for i, t in enumerate(char["terms"].split("\n"))}
        self.char_lo, self.char_hi = char["ngram_range"]
        self.word_idf, self.char_idf = _floats(word["idf"]), _floats(char["idf"])
        n_cat = len(self.categories)
        coef = _floats(data["coef"]).reshape(len(self.word_index) + len(self.char_index), n_cat)
        self.intercept = np.array(data["intercept"], dtype=np.float64)
        # Platt scaling fitted on out-of-fold decisions (format 2): probability = sigmoid(a * decision + b)
        scale = np.array(data.get("calibration") or [[1.0, 0.0]] * n_cat, dtype=np.float64)
        self.scale_a, self.scale_b = scale[:, 0], scale[:, 1]
        # one feature space, words then characters: tf-idf . coef = tf . (idf x coef)
        self.n_word = len(self.word_index)
        idf = np.concatenate([self.word_idf, self.char_idf])
        self.weighted = np.ascontiguousarray(idf[:, None] * coef)
        self.idf_sq = idf * idf
        self._char_ids = lru_cache(maxsize=_WORD_CACHE)(self._char_ids_of)

    # --- the transform -------------------------------------------------------------------------------

    def _char_ids_of(self, word: str) -> np.ndarray:
        """Indices of the known character n-grams of one (lower-case) word, padded with spaces,
        with repeats, by sklearn's `char_wb` rule (a padded word shorter than n counts once)."""
        padded = " " + word + " "
        length, index, ids, base = len(padded), self.char_index, [], len(self.word_index)
        for n in range(self.char_lo, self.char_hi + 1):
            offset = 0
            gram = index.get(padded[0:n])
            if gram is not None:
                ids.append(base + gram)
            while offset + n < length:
                offset += 1
                gram = index.get(padded[offset:offset + n])
                if gram is not None:
                    ids.append(base + gram)
            if offset == 0:
                break
        return np.array(ids, dtype=np.intp)

    def decision(self, doc: str) -> np.ndarray:
        """The logistic regressions' decision values (log-odds), one per category."""
        low = doc.lower()
        tokens = self.token.findall(low)
        index = self.word_index
        ids = [i for i in map(index.get, tokens) if i is not None]
        ids += [i for i in map(index.get, map(" ".join, zip(tokens, tokens[1:]))) if i is not None]
        n_word = len(ids)
        ids = np.concatenate([np.array(ids, dtype=np.intp), *map(self._char_ids, low.split())])
        n = len(ids)
        if not n:
            return self.intercept.copy()
        # word ids come first, char ids (offset by the word vocabulary) after: one sort counts both
        ids.sort()
        bounds = np.empty(n + 1, dtype=bool)
        bounds[0] = bounds[n] = True
        np.not_equal(ids[1:], ids[:-1], out=bounds[1:n])
        edges = bounds.nonzero()[0]
        unique = ids[edges[:-1]]
        tf = np.log(edges[1:] - edges[:-1]) + 1.0  # sublinear tf
        squares = tf * tf * self.idf_sq[unique]
        split = int(np.searchsorted(unique, self.n_word))  # words | chars: each L2-normalised apart
        word_norm = math.sqrt(squares[:split].sum()) if split else 1.0
        char_norm = math.sqrt(squares[split:].sum()) if split < len(unique) else 1.0
        tf[:split] /= word_norm
        tf[split:] /= char_norm
        return tf @ self.weighted[unique] + self.intercept

    def calibrated(self, decision: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from decision values: on posts the model was not trained on, about
        that share of the posts scored p belong to the category."""
        return 1.0 / (1.0 + np.exp(-(self.scale_a * decision + self.scale_b)))

    def probabilities(self, doc: str) -> dict[str, float]:
        """{category: probability} for one document."""
        return dict(zip(self.categories, self.calibrated(self.decision(doc)).tolist()))


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> TextModel:
    """The model, read once per process."""
    return TextModel(path)


# --- the auditor ---------------------------------------------------------------------------------------


def model_settings(policy) -> dict:
    """rules/text_model.toml of the policy's configuration folder (defaults when absent), checked."""
    rules = dict(policy.rule_files.get(RULES_FILE, {})) if policy is not None else {}
    label = f"rules/{RULES_FILE}.toml"
    threshold = rules.get("threshold", 0.5)
    per_category = rules.get("thresholds", {})
    categories = rules.get("categories", list(CATEGORIES))
    unknown = set(categories) - set(CATEGORIES) | set(per_category) - set(CATEGORIES)
    if unknown:
        raise RulesError(f"{label}: unknown categories {', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})")
    for value in [threshold, *per_category.values()]:
        if not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
            raise RulesError(f"{label}: a threshold must be a number in (0, 1], not {value!r}")
    return {"enabled": bool(rules.get("enabled", True)),
            "thresholds": {c: float(per_category.get(c, threshold)) for c in CATEGORIES if c in categories}}


class TextModelAuditor:
    """Findings for categories the text model scores at or above their threshold, where the rules found nothing."""

    name = "text_model"
    categories = CATEGORIES
    supplements = True  # the registry runs it last and keeps its findings only where the others found nothing

    def __init__(self, policy):
        settings = model_settings(policy)
        if not settings["enabled"]:
            raise Disabled(f"switched off in rules/{RULES_FILE}.toml")
        self.thresholds = {c: t for c, t in settings["thresholds"].items() if policy.enabled(c)}
        if not self.thresholds:
            raise Disabled(f"no category left to score (rules/{RULES_FILE}.toml `categories` and policy.toml)")
        try:
            self.model = load_model()
        except (OSError, ValueError, KeyError) as exc:
            raise Disabled(f"cannot read {MODEL_PATH.name}: {exc}") from None
        self._position = {c: i for i, c in enumerate(self.model.categories)}

    def audit(self, post: Post, context: AuditContext, found: frozenset[str] = frozenset()) -> list[Finding]:
        if not post_texts(post):
            return []
        probabilities = self.model.calibrated(self.model.decision(post_document(post)))
        flagged = []
        for category, threshold in self.thresholds.items():
            if category in found or not context.policy.enabled(category):
                continue
            probability = float(probabilities[self._position[category]])
            if probability >= threshold:
                flagged.append((category, probability))
        if not flagged:
            return []
        candidates = self._candidates(post)
        findings = []
        for category, probability in flagged:
            pool = [c for c in candidates if c[0].startswith("alt")] if category == "student_photo" else candidates
            if not pool:
                continue  # student_photo: no alt text to quote (the image auditor judges the pixels)
            column = self._position[category]
            where, evidence, _ = max(pool, key=lambda c: c[2][column])
            kind = "alt text" if where.startswith("alt") else "sentence"
            explanation = f"Reads like {WHAT[category]} (statistical model, {probability:.2f}); the quoted {kind} weighs most."
            findings.append(context.finding(
                category, evidence, repost_explanation(post, explanation) if where == "repost" else explanation,
                self.name, where=where, severity=LOWER[context.policy[category].severity]))
        return findings

    def _candidates(self, post: Post) -> list[tuple[str, str, np.ndarray]]:
        """(where, sentence, decision values) for each sentence of the text and each alt text."""
        out = []
        for where, text in post_texts(post):
            if not where.startswith("alt"):
                for begin, end in sentence_spans(text):
                    out.append((where, text[begin:end], self.model.decision(document(text[begin:end], ()))))
            else:
                out.append((where, text, self.model.decision(document("", (text,)))))
        return out
