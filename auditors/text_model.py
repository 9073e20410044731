"""A statistical text model behind the rules: one linear classifier per category (a linear SVM, Platt-calibrated).

The rules (auditors/text.py and config/rules/<category>.toml) are precise but miss wordings they were
not written for. This auditor reads the same post as one document (`text || alt 1 | alt 2`), turns it
into TF-IDF features - word 1-2-grams and character 3-5-grams inside words (sklearn's `char_wb`) -
and scores each category with a linear SVM trained on the project's own labelled posts
(auditors/models/train_text_model.py; the model is auditors/models/text-lr.json.gz, see NOTICE).

Inference is numpy and plain Python: the transform reproduces scikit-learn's `TfidfVectorizer`
(lower-case; word tokens by the model file's pattern, words of two letters or more and each emoji;
each whitespace-separated word padded with one space for the character n-grams; sublinear tf
`1 + log(tf)`; times idf; each vectorizer's vector L2-normalised on its own; the two concatenated),
so scikit-learn is not needed at run time. The character n-grams of a word never depend on its neighbours, so each word's feature indices are
computed once and cached.

`TextModelAuditor` flags a category whose probability reaches its threshold (config/rules/
text_model.toml) and quotes the sentence (or alt text) that scores highest for it. It is a
*supplement*: the registry runs it after the rules and keeps its findings only for categories no
other auditor found on the post, and its severity is one step below the policy's, because a
statistical guess is less certain than a rule.
"""
from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import io
import itertools
import json
import math
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from auditors import cache
from auditors.base import AuditContext, Disabled, RulesError
from auditors.text import own_text, post_texts, repost_explanation, reposted_text, sentence_spans, text_state
from records.model import Finding, Post

MODEL_PATH = Path(__file__).resolve().parent / "models" / "text-lr.json.gz"
EMBEDDING_PATH = Path(__file__).resolve().parent / "models" / "minilm-static.npz"
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
#: Where a quoted sentence splits into clauses, each judged apart: a long innocent tail must not outweigh
#: the clause that broke a rule.
_CLAUSE = re.compile(r"\s*[:;,–—]\s+|\s+-\s+")


def document(text: str, alts: Iterable[str]) -> str:
    """The one string the model reads for a post: its text, then its alt texts."""
    return text + " || " + " | ".join(alts)


def post_document(post: Post) -> str:
    """The document of a post: its own text, the reposted or quoted text, then its alt texts."""
    text = "\n".join(part for part in (own_text(post), reposted_text(post)) if part)
    return document(text, [media.alt for media in post.media])


def _floats(encoded: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(encoded), dtype="<f4").astype(np.float64)


def _is_punctuation(char: str) -> bool:
    """BERT's punctuation: every ASCII non-alphanumeric symbol, and Unicode's P* categories."""
    code = ord(char)
    return 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 \
        or unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF \
        or 0x2A700 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F


def basic_words(chunk: str) -> list[str]:
    """BERT-uncased's basic tokenizer on one whitespace-free chunk of text: control characters
    dropped, CJK characters apart, lower case, accents stripped, punctuation (and, unlike BERT,
    emoji and other symbols) split off: the words that WordPiece then cuts."""
    words, current = [], []
    for char in unicodedata.normalize("NFD", chunk.lower()):
        code, kind = ord(char), unicodedata.category(char)
        if code in (0, 0xFFFD) or kind in ("Cc", "Cf", "Mn"):
            continue
        if _is_cjk(code) or _is_punctuation(char) or kind == "So":  # an emoji stands apart, unlike in BERT
            if current:
                words.append("".join(current))
                current = []
            words.append(char)
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


class StaticEmbedding:
    """Static sentence embeddings distilled from all-MiniLM-L6-v2 (auditors/models/minilm-static.npz,
    built by distill_static_embeddings.py, see NOTICE): one vector per WordPiece token; a text's
    vector is the mean of its known tokens' vectors, L2-normalised."""

    MAX_WORD = 100  # BERT's longest word; a longer one is unknown

    def __init__(self, path: Path = EMBEDDING_PATH, vectors: np.ndarray | None = None):
        """`vectors`: the file's vectors as float32, when the caller has them already (`_checked_embedding`)."""
        with np.load(path, allow_pickle=False) as data:  # each member is read when asked for
            self.vectors = data["vectors"].astype(np.float32) if vectors is None else vectors
            vocab = data["vocab"].tobytes().decode("utf-8").split("\n")
        if len(vocab) != len(self.vectors):
            raise ValueError(f"{path}: {len(vocab)} tokens for {len(self.vectors)} vectors")
        self.index = {token: i for i, token in enumerate(vocab)}
        self.dims = self.vectors.shape[1]
        self.rows = self.vectors.view(np.ndarray)  # the same memory without np.memmap's cost per operation
        self._chunk_ids = lru_cache(maxsize=_WORD_CACHE)(self.chunk_token_ids)

    def chunk_token_ids(self, chunk: str) -> list[int]:
        """The WordPiece ids of the known words of one whitespace-free chunk of text."""
        return [i for word in basic_words(chunk) for i in self._pieces(word)]

    def _pieces(self, word: str) -> tuple[int, ...]:
        """WordPiece: the longest known prefix, then `##` pieces; a word that cannot be cut is unknown (no ids)."""
        if len(word) > self.MAX_WORD:
            return ()
        ids, start, index = [], 0, self.index
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in index:
                    ids.append(index[piece])
                    break
                end -= 1
            else:
                return ()
            start = end
        return tuple(ids)

    def token_ids(self, text: str) -> list[int]:
        """The WordPiece ids of the text's known words (an unknown word is left out, not `[UNK]`)."""
        return [i for chunk in text.split() for i in self._chunk_ids(chunk)]

    def vector(self, text: str) -> np.ndarray:
        """The text's unit-length vector (zeros when no token is known)."""
        return self.unit(self.rows.take(self.token_ids(text), axis=0))

    def unit(self, rows: np.ndarray) -> np.ndarray:
        """The unit-length mean direction of the vectors `rows` (one per token), as float64; zeros for none."""
        if not len(rows):
            return np.zeros(self.dims, dtype=np.float64)
        total = rows.sum(axis=0)  # the mean's direction
        norm = math.sqrt(float(total @ total))
        return (total / norm if norm else total).astype(np.float64)


class TextModel:
    """The exported model: vocabularies, idf, and per-category coefficients and intercepts."""

    def __init__(self, path: Path = MODEL_PATH):
        data = json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8"))
        if data.get("format") != 3:
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
        self.embedding = _checked_embedding(Path(path).parent, data["embedding"])
        # the trainer folded the embedding features' shift and scale into these coefficients and the intercepts
        self.embedding_weighted = np.frombuffer(base64.b64decode(data["embedding"]["coef"]), dtype="<f8").reshape(
            self.embedding.dims, n_cat)
        self.intercept = np.array(data["intercept"], dtype=np.float64)
        # Platt scaling fitted on out-of-fold decisions (format 2): probability = sigmoid(a * decision + b)
        scale = np.array(data.get("calibration") or [[1.0, 0.0]] * n_cat, dtype=np.float64)
        self.scale_a, self.scale_b = scale[:, 0], scale[:, 1]
        # one feature space, words then characters: tf-idf . coef = tf . (idf x coef)
        self.n_word = len(self.word_index)
        idf = np.concatenate([self.word_idf, self.char_idf])
        self.weighted = np.ascontiguousarray(idf[:, None] * coef)
        self.idf_sq = idf * idf
        # the word pairs of the vocabulary as (first word, second word) ids, for looking them up in arrays
        words = dict.fromkeys(part for term in self.word_index for part in term.split(" "))
        self.token_id = {word: i for i, word in enumerate(words)}
        pairs = sorted((self.token_id[a] * len(words) + self.token_id[b], i) for (a, b), i in (
            (term.split(" "), i) for term, i in self.word_index.items() if " " in term))
        self.pair_keys = np.array([key for key, _ in pairs] or [-1], dtype=np.intp)
        self.pair_ids = np.array([i for _, i in pairs] or [0], dtype=np.intp)
        self._chunks = _ChunkPool(self._chunk_of, 3, _WORD_CACHE)

    # --- the transform -------------------------------------------------------------------------------

    def _char_ids_of(self, word: str) -> list[int]:
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
        return ids

    def _chunk_of(self, chunk: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What one whitespace-free chunk of a document contributes, computed once per chunk: the ids
        of its word tokens among the words that make the vocabulary's terms (-1 for another word), the
        feature ids of those words and of its character n-grams (with repeats), and its embedding token
        ids. Neither a word token nor an n-gram crosses white space, and lower-casing a chunk alone
        gives what lower-casing the document gives it (a final sigma is judged within its word), so a
        document's features are its chunks' features plus the word pairs across them."""
        low = chunk.lower()
        tokens = self.token.findall(low)
        ids = [i for i in map(self.word_index.get, tokens) if i is not None] + self._char_ids_of(low)
        return (np.array([self.token_id.get(token, -1) for token in tokens], dtype=np.intp),
                np.array(ids, dtype=np.intp), np.array(self.embedding.chunk_token_ids(chunk), dtype=np.intp))

    def _gathered(self, docs: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(values, document of each value) of each part of `_chunk_of` over the documents' chunks, in the
        documents' and their chunks' order. Each chunk's parts are computed once and kept in flat
        arrays (`_ChunkPool`); a batch takes them by array indexing, not by a loop per chunk."""
        split = [doc.split() for doc in docs]
        every = list(itertools.chain.from_iterable(split))
        doc_of_chunk = np.repeat(np.arange(len(docs), dtype=np.intp), [len(chunks) for chunks in split])
        with self._chunks.lock:
            self._chunks.make_room()
            order = np.fromiter(map(self._chunks.__getitem__, every), dtype=np.intp, count=len(every))
            return [(values, np.repeat(doc_of_chunk, lengths)) for values, lengths in self._chunks.gather(order)]

    def _pairs(self, tokens: np.ndarray, doc_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(feature id, document) of each known word pair: two tokens in a row of one document."""
        first, second = tokens[:-1], tokens[1:]
        adjacent = (doc_of[:-1] == doc_of[1:]) & (first >= 0) & (second >= 0)
        keys = first[adjacent] * len(self.token_id) + second[adjacent]
        at = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
        known = self.pair_keys.take(at) == keys
        return self.pair_ids.take(at[known]), doc_of[:-1][adjacent][known]

    def decisions(self, docs: list[str]) -> np.ndarray:
        """The linear models' decision values (margins, before calibration): one row per document, one
        column per category. The documents' features are gathered, sorted and counted together; each
        sum that makes one document's values is taken over that document's values alone, so a document's
        values do not depend on the others read with it."""
        (tokens, doc_of_tokens), (ids, doc_of_ids), embedded = self._gathered(docs)
        n_docs = len(docs)
        pairs, doc_of_pairs = self._pairs(tokens, doc_of_tokens)
        meaning = self._meanings(*embedded, n_docs)
        width = len(self.idf_sq)
        # each feature id keyed by its document (document x width + id), chunks' ids and word pairs' alike; in 32
        # bits where they fit (a batch's), which sort twice as fast
        key_type = np.int32 if n_docs * width < 2 ** 31 else np.intp
        keys = np.concatenate([doc_of_ids * width + ids, doc_of_pairs * width + pairs]).astype(key_type)
        keys.sort()
        n = len(keys)
        bounds = np.empty(n + 1, dtype=bool)
        bounds[0] = bounds[n] = True
        np.not_equal(keys[1:], keys[:-1], out=bounds[1:n])
        edges = bounds.nonzero()[0]
        unique_keys = keys.take(edges[:-1])  # take: several times faster than fancy indexing at these sizes
        unique = unique_keys % width
        tf = np.log(edges[1:] - edges[:-1]) + 1.0  # sublinear tf
        squares = tf * tf * self.idf_sq.take(unique)
        # each document's word features, then its character n-grams, among the unique ones: each part is
        # L2-normalised apart
        starts = np.searchsorted(unique_keys, np.arange(n_docs * 2, dtype=key_type) // 2 * width
                                 + np.tile(np.array([0, self.n_word], dtype=key_type), n_docs))
        sizes = np.diff(starts, append=len(unique_keys))
        norms = np.sqrt(_segment_sums(squares, starts, sizes))
        norms[sizes == 0] = 1.0  # an empty part stays zeros
        tf /= np.repeat(norms, sizes)
        terms = tf[:, None] * self.weighted.take(unique, axis=0)
        doc_starts, doc_sizes = starts[::2], sizes[::2] + sizes[1::2]
        return _segment_sums(terms, doc_starts, doc_sizes) + meaning

    def _meanings(self, ids: np.ndarray, doc_of: np.ndarray, n_docs: int) -> np.ndarray:
        """The embedding's term of each document's decision values: its unit mean vector
        (`StaticEmbedding.unit`) times the coefficients, plus the intercepts. Each document's values are
        those of the document alone: its token rows are added in token order (as `sum(axis=0)` adds them;
        np.add.reduceat does not), the k-th rows of every document in one step; each norm and product is
        one BLAS call per document (a stacked np.matmul makes one per item, as `@` does for one vector)."""
        sizes = np.bincount(doc_of, minlength=n_docs)
        totals = np.zeros((n_docs, self.embedding.dims), dtype=np.float32)
        if len(ids):
            order = np.argsort(-sizes, kind="stable")  # longest first: the documents with a k-th token lead
            ranked = sizes.take(order)
            # (k, rank) of each token, k-th tokens of all documents together: position-major
            position, rank = (ranked[None, :] > np.arange(ranked[0])[:, None]).nonzero()
            starts = np.cumsum(sizes) - sizes
            tokens = ids.take(starts.take(order).take(rank) + position)
            counts = np.bincount(position).tolist()
            # the k-th rows taken from the table at each step, not all rows first (megabytes written and read again)
            table = self.embedding.rows
            running = table.take(tokens[:counts[0]], axis=0)  # the first rows as they are, as reduce starts (a -0.0 stays)
            begin = counts[0]
            for count in counts[1:]:
                running[:count] += table.take(tokens[begin:begin + count], axis=0)
                begin += count
            totals[order[:counts[0]]] = running
        squares = np.matmul(totals[:, None, :], totals[:, :, None]).reshape(n_docs).astype(np.float64)
        norms = np.sqrt(squares)
        norms[norms == 0.0] = 1.0
        units = (totals / norms.astype(np.float32)[:, None]).astype(np.float64)
        return np.matmul(units[:, None, :], self.embedding_weighted).reshape(n_docs, len(self.categories)) + self.intercept

    def decision(self, doc: str) -> np.ndarray:
        """The decision values of one document."""
        return self.decisions([doc])[0]

    def calibrated(self, decision: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from decision values: on posts the model was not trained on, about
        that share of the posts scored p belong to the category."""
        return 1.0 / (1.0 + np.exp(-(self.scale_a * decision + self.scale_b)))

    def probabilities(self, doc: str) -> dict[str, float]:
        """{category: probability} for one document."""
        return dict(zip(self.categories, self.calibrated(self.decision(doc)).tolist()))


class _ChunkPool(dict):
    """Chunk -> its number, with the parts `compute(chunk)` gives (int arrays) kept in one flat array per
    part, so that the parts of many chunks are gathered by array indexing. Emptied when it holds more
    than `limit` chunks (`make_room`, between batches); `lock` guards it."""

    def __init__(self, compute: Callable[[str], tuple[np.ndarray, ...]], parts: int, limit: int):
        super().__init__()
        self.compute, self.parts, self.limit = compute, parts, limit
        self.lock = threading.Lock()
        self._empty()

    def _empty(self) -> None:
        self.clear()
        self.values = [np.zeros(1 << 12, dtype=np.intp) for _ in range(self.parts)]
        self.used = [0] * self.parts
        self.starts = np.zeros((1 << 10, self.parts), dtype=np.intp)
        self.lengths = np.zeros((1 << 10, self.parts), dtype=np.intp)

    def make_room(self) -> None:
        if len(self) > self.limit:
            self._empty()

    def __missing__(self, chunk: str) -> int:
        number = len(self)
        if number == len(self.starts):
            self.starts, self.lengths = (np.concatenate([a, np.zeros_like(a)]) for a in (self.starts, self.lengths))
        for part, array in enumerate(self.compute(chunk)):
            start = self.used[part]
            end = start + len(array)
            while end > len(self.values[part]):
                self.values[part] = np.concatenate([self.values[part], np.zeros_like(self.values[part])])
            self.values[part][start:end] = array
            self.starts[number, part], self.lengths[number, part], self.used[part] = start, len(array), end
        self[chunk] = number
        return number

    def gather(self, order: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each part: the values of the chunks numbered `order`, one after the other, and how many each has."""
        lengths = self.lengths.take(order, axis=0)
        ends = np.cumsum(lengths, axis=0)
        # each chunk's start in the flat array less the offset of its first value in the output
        shifts = self.starts.take(order, axis=0) - (ends - lengths)
        totals = ends[-1].tolist() if len(order) else [0] * self.parts
        return [(self.values[part].take(np.repeat(shifts[:, part], lengths[:, part]) + np.arange(totals[part], dtype=np.intp)),
                 lengths[:, part]) for part in range(self.parts)]


def _segment_sums(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The sum of each segment `values[start:start + size]` along the first axis (0 for an empty one),
    for segments that follow each other and cover `values`; each sum is over its own values only."""
    sums = np.zeros((len(starts), *values.shape[1:]), dtype=values.dtype)
    filled = sizes > 0
    if filled.any():
        sums[filled] = np.add.reduceat(values, starts[filled], axis=0)
    return sums


def _checked_embedding(folder: Path, spec: dict) -> StaticEmbedding:
    """The embedding file the model was trained with: another one would give other features. It is
    looked for beside the model, then among the bundled models (a model saved elsewhere, such as a
    trainer's `--output`, uses the bundled file when its checksum is the one the model names)."""
    path = folder / spec["file"]
    if not path.exists():
        path = EMBEDDING_PATH.parent / spec["file"]
    return StaticEmbedding(path, _checked_vectors(path, spec["sha256"]))


#: Float32 copies of embedding files kept in the cache folder (30 MB each), named by their content.
KEPT_VECTORS = 2
#: Files found to hold a given content (by path, size and time), each an empty marker.
KEPT_CHECKS = 16


def _checked_vectors(path: Path, sha256: str) -> np.ndarray:
    """The vectors of the embedding file at `path`, once its SHA-256 is found to be `sha256`. Checking
    the file and widening its float16 vectors take most of a start-up: the check is done once per
    version of the file (its path, size and time) and remembered by a marker; the float32 vectors are
    kept once per content (several checkouts or installs share them) and mapped, so that a process
    reads only the rows of the tokens it meets."""
    stat = path.stat()
    version = json.dumps([sha256, str(path.resolve()), stat.st_size, stat.st_mtime_ns]).encode()
    checked = f"embedding-checked-{hashlib.sha256(version).hexdigest()[:32]}"
    name = f"embedding-{sha256[:32]}.npy"
    if cache.read_cache(checked) is None:
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            raise ValueError(f"{path}: not the embedding file the model was trained with (SHA-256 differs)")
        cache.write_cache(checked, b"")
        cache.prune("embedding-checked-*", KEPT_CHECKS)
    if (mapped := _kept_vectors(name)) is not None:
        return mapped
    with np.load(path, allow_pickle=False) as data:
        vectors = data["vectors"].astype(np.float32)
    kept = io.BytesIO()
    np.save(kept, vectors)
    cache.write_cache(name, kept.getvalue())
    cache.prune("embedding-[0-9a-f]*.npy", KEPT_VECTORS)
    # mapped as at every later start: the widened copy held 30 MB in the first night's audit worker all night
    mapped = _kept_vectors(name)
    return vectors if mapped is None else mapped


def _kept_vectors(name: str) -> np.ndarray | None:
    """The vectors kept as `name` in the cache folder, mapped; None when not kept yet (or damaged)."""
    try:
        return np.load(cache.cache_dir() / name, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None


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
    vetoes = rules.get("vetoes", {})
    categories = rules.get("categories", list(CATEGORIES))
    unknown = set(categories) - set(CATEGORIES) | set(per_category) - set(CATEGORIES) | set(vetoes) - set(CATEGORIES)
    if unknown:
        raise RulesError(f"{label}: unknown categories {', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})")
    for value in [threshold, *per_category.values()]:
        if not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
            raise RulesError(f"{label}: a threshold must be a number in (0, 1], not {value!r}")
    thresholds = {c: float(per_category.get(c, threshold)) for c in CATEGORIES if c in categories}
    for category, value in vetoes.items():
        if not isinstance(value, (int, float)) or not 0.0 <= value < thresholds.get(category, 1.0):
            raise RulesError(f"{label}: [vetoes] {category} must be a number from 0 up to below its threshold, not {value!r}")
    return {"enabled": bool(rules.get("enabled", True)), "thresholds": thresholds,
            "vetoes": {c: float(v) for c, v in vetoes.items() if c in thresholds},
            "sentences": sentence_settings(rules.get("sentences", {}), thresholds, label)}


def sentence_settings(table: dict, thresholds: dict[str, float], label: str) -> dict[str, tuple[float, float]]:
    """[sentences] of rules/text_model.toml, checked: {category: (band, sentence threshold)}, a borderline
    post (probability from `band` up to below the category's threshold) flagged on its best sentence, which
    must score at least the band."""
    unknown = set(table) - set(CATEGORIES)
    if unknown:
        raise RulesError(f"{label}: [sentences] unknown categories {', '.join(sorted(unknown))}")
    out = {}
    for category, values in table.items():
        band, threshold = (values.get(k) for k in ("band", "threshold")) if isinstance(values, dict) else (None, None)
        if not all(isinstance(v, (int, float)) and 0.0 < v <= 1.0 for v in (band, threshold)) \
                or band >= thresholds.get(category, 1.0):
            raise RulesError(f"{label}: [sentences] {category} must be {{band = B, threshold = T}}, both in (0, 1], "
                             f"B under the category's threshold, not {values!r}")
        if threshold < band:  # a borderline post is flagged only on a sentence that is borderline itself
            raise RulesError(f"{label}: [sentences] {category}: threshold {threshold} is under band {band}; the "
                             f"sentence a borderline post is flagged on must score at least the band")
        if category in thresholds:
            out[category] = (float(band), float(threshold))
    return out


def single_weak_signal(findings: list[Finding]) -> bool:
    """One finding of a category, from words the model also reads (text, title, reposted text or alt
    text): one look-alike word can make it, and it is all the rules have. A firm rule's finding is
    never one: its words have no innocent reading for the model to weigh."""
    return len(findings) == 1 and not findings[0].firm \
        and (findings[0].where in ("text", "title", "repost") or findings[0].where.startswith("alt:"))


def reviewed(category: str, category_findings: list[Finding], thresholds: dict[str, float]) -> bool:
    """Whether the model has a word on a category's findings (`combine`): it scores the category and they rest
    on a single weak signal."""
    return category in thresholds and single_weak_signal(category_findings)


def combine(findings: list[Finding], probabilities: dict[str, float], thresholds: dict[str, float],
            vetoes: dict[str, float], quoted: Callable[[Finding], float] | None = None) -> list[Finding]:
    """The other auditors' findings after the model's word on each category it scores. Where a
    category rests on a single weak signal, the model vetoes it (probability under the category's
    veto: the word is a look-alike), or, under its threshold (nothing confirms it), a `high` finding
    becomes `medium`; a finding the model confirms, or one of several, stays as it is.
    `quoted(finding)`, when given, is the model's probability for the quoted evidence alone; before a
    veto, the larger of it and the post's counts, so a violating sentence in a long innocent post stands."""
    by_category: dict[str, list[Finding]] = {}
    for finding in findings:
        by_category.setdefault(finding.category, []).append(finding)
    kept = []
    for finding in findings:
        category = finding.category
        if reviewed(category, by_category[category], thresholds):
            probability = probabilities[category]
            if quoted is not None and probability < vetoes.get(category, 0.0):
                probability = max(probability, quoted(finding))
            if probability < vetoes.get(category, 0.0):
                continue
            if probability < thresholds[category] and finding.severity == "high":
                finding = dataclasses.replace(finding, severity="medium")
        kept.append(finding)
    return kept


def quoted_documents(finding: Finding) -> list[str]:
    """The documents the model reads for a finding's quoted evidence: the whole quote, then each of its
    clauses (an alt text's quote read as alt text)."""
    alt = finding.where.startswith("alt:")
    parts = dict.fromkeys(p for p in (finding.evidence, *_CLAUSE.split(finding.evidence)) if p.strip())
    return [document("", (part,)) if alt else document(part, ()) for part in parts]


def model_flags(probabilities: dict[str, float], thresholds: dict[str, float], found: frozenset[str],
                has_alt: bool, sentences: dict[str, tuple[float, float]] | None = None,
                best_sentence: Callable[[str], float] | None = None) -> list[tuple[str, float]]:
    """(category, probability) the model flags on its own: at or above threshold, not found by another
    auditor; student_photo only with an alt text to read (the image auditor judges the pixels). A
    borderline post (in the category's `sentences` band, under its threshold) is flagged when its best
    sentence alone (`best_sentence(category)`: its probability) reaches the sentence threshold (at least
    the band): one sentence can carry a violation that the rest of an innocent post dilutes. Its
    probability is then the larger of the post's and the sentence's."""
    flags = []
    for category, threshold in thresholds.items():
        if category in found or not (has_alt or category != "student_photo"):
            continue
        probability = probabilities[category]
        band, sentence_threshold = (sentences or {}).get(category, (threshold, 1.0))
        if best_sentence is not None and in_band(probability, band, threshold):
            sentence = best_sentence(category)
            if sentence >= sentence_threshold:
                flags.append((category, max(probability, sentence)))
        elif probability >= threshold:
            flags.append((category, probability))
    return flags


def in_band(probability: float, band: float, threshold: float) -> bool:
    """Whether a post's probability is borderline: from its category's band up to below its threshold."""
    return band <= probability < threshold


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
        self.vetoes = settings["vetoes"]
        self.sentences = {c: v for c, v in settings["sentences"].items() if c in self.thresholds}
        if not self.thresholds:
            raise Disabled(f"no category left to score (rules/{RULES_FILE}.toml `categories` and policy.toml)")
        try:
            self.model = load_model()
        except (OSError, ValueError, KeyError) as exc:
            raise Disabled(f"cannot read {MODEL_PATH.name} or its embedding: {exc}") from None
        self._position = {c: i for i, c in enumerate(self.model.categories)}
        # the probability from which each category may be flagged (`_considered`): its band's floor, else its threshold
        self._lowest = {c: self.sentences[c][0] if c in self.sentences else t for c, t in self.thresholds.items()}
        # What is known of a post: (post, its text_state, probabilities, candidate evidence or None, the
        # categories considered), of the posts shown to the last `prepare` by id, and of the last post asked
        # about otherwise
        self._by_post: dict[int, tuple] = {}
        self._last: tuple = (None, None, None, None, None)
        self._sentences: dict[str, np.ndarray] = {}  # document -> decision values, of their candidate evidence

    def prepare(self, posts: list[Post]) -> None:
        """Score the posts about to be audited in one call (auditors.registry.prepare): the model's fixed cost
        per call is shared by them, and each document's values are what it gets alone. The sentences it may
        quote are scored later, in one call for the posts that need them (`foresee`)."""
        documents = [post_document(post) for post in posts]
        unique = list(dict.fromkeys(documents))
        categories = self.model.categories
        rows = self.model.calibrated(self.model.decisions(unique)).tolist()
        scored = {doc: (probabilities, self._considered(probabilities))
                  for doc, probabilities in zip(unique, (dict(zip(categories, row)) for row in rows))}
        by_post = {}
        for post, doc in zip(posts, documents):
            probabilities, considered = scored[doc]
            by_post[id(post)] = (post, text_state(post), probabilities, None, considered)
        self._by_post = by_post

    def foresee(self, posts: list[Post], findings: list[list[Finding]]) -> None:
        """Score in one call what the posts' reviews and the model's own findings will read
        (auditors.registry.audit_posts), given the other auditors' findings on each post: the quoted evidence
        of each finding the model may veto, and, for each category it may flag (considered, and not found
        for sure by another auditor: a finding it may veto is not sure), the sentences among which it
        chooses the one it quotes."""
        wanted: dict[str, None] = {}
        for post, others in zip(posts, findings):
            if not post_texts(post):
                continue  # neither reviewed nor audited
            probabilities, considered = self._known(post)[2::2]
            doubted = [f for f in others if self._may_veto(f, others, probabilities)]
            for finding in doubted:
                wanted.update(dict.fromkeys(quoted_documents(finding)))
            open_categories = considered - ({f.category for f in others} - {f.category for f in doubted})
            if open_categories:
                candidates = self._candidates_of(post)
                for category in open_categories:
                    pool = self._pool(candidates, category)
                    if len(pool) > 1:  # the quoted sentence is chosen by these values
                        wanted.update((candidates[i][2], None) for i in pool)
        self._sentences = dict(zip(wanted, self.model.decisions(list(wanted)))) if wanted else {}

    def _may_veto(self, finding: Finding, findings: list[Finding], probabilities: dict[str, float]) -> bool:
        """Whether `combine` reads the finding's quoted evidence: a single weak signal under its category's veto."""
        category = finding.category
        return probabilities.get(category, 1.0) < self.vetoes.get(category, 0.0) \
            and reviewed(category, [f for f in findings if f.category == category], self.thresholds)

    def _considered(self, probabilities: dict[str, float]) -> set[str]:
        """The categories the model may flag on a post: at or above their threshold, or borderline (flagged
        or not by a sentence): those at or above `_lowest`, the band's floor being under the threshold."""
        return {c for c, lowest in self._lowest.items() if probabilities[c] >= lowest}

    def _known(self, post: Post) -> tuple:
        """(post, its text_state, probabilities, candidate evidence or None, the categories considered): kept
        if the post is unchanged since, else worked out now (the candidates when asked: `_candidates_of`)."""
        state = text_state(post)
        last = self._last  # one read: another thread may replace it meanwhile
        if last[0] is post and last[1] == state:
            return last
        kept = self._by_post.get(id(post))
        if kept is None or kept[0] is not post or kept[1] != state:
            probabilities = self.model.probabilities(post_document(post))
            kept = (post, state, probabilities, None, self._considered(probabilities))
        self._last = kept
        return kept

    def _candidates_of(self, post: Post) -> list[tuple[str, str, str]]:
        """The post's candidate evidence, worked out once: kept with what `prepare` knows of the post, if it does."""
        known = self._known(post)
        if known[3] is None:
            known = self._last = (*known[:3], self._candidates(post), known[4])
            if self._by_post.get(id(post), (None,))[0] is post:
                self._by_post[id(post)] = known
        return known[3]

    def _sentence_decisions(self, docs: list[str]) -> list[np.ndarray]:
        """Decision values of candidate or quoted evidence documents: those `foresee` scored, the others now."""
        missing = [doc for doc in dict.fromkeys(docs) if doc not in self._sentences]
        scored = dict(zip(missing, self.model.decisions(missing))) if missing else {}
        return [self._sentences[doc] if doc in self._sentences else scored[doc] for doc in docs]

    def probabilities(self, post: Post) -> dict[str, float]:
        """{category: calibrated probability} for the post, computed once per post object (or by `prepare`)."""
        return self._known(post)[2]

    def review(self, post: Post, context: AuditContext, findings: list[Finding]) -> list[Finding]:
        """The other auditors' findings, with those resting on one look-alike word vetoed or lowered (`combine`)."""
        if not any(f.category in self.thresholds for f in findings) or not post_texts(post):
            return findings

        def quoted(finding: Finding) -> float:
            """The model's probability for the quoted evidence, or for its likeliest clause."""
            decisions = np.array(self._sentence_decisions(quoted_documents(finding)))
            return float(self.model.calibrated(decisions)[:, self._position[finding.category]].max())

        return combine(findings, self.probabilities(post), self.thresholds, self.vetoes, quoted)

    def audit(self, post: Post, context: AuditContext, found: frozenset[str] = frozenset()) -> list[Finding]:
        if not post_texts(post):
            return []
        _, _, probabilities, _, considered = self._known(post)
        likely = considered - found  # another auditor's category is not the model's to flag
        if not likely:
            return []
        candidates = self._candidates_of(post)
        pools = {category: self._pool(candidates, category) for category in likely}
        weighed = sorted({i for pool in pools.values() if len(pool) > 1 for i in pool})  # a choice needs their values
        decisions = dict(zip(weighed, self._sentence_decisions([candidates[i][2] for i in weighed])))
        # per category, the candidate quoted: the likeliest (calibration keeps the decision values' order)
        best = {category: pool[0] if len(pool) == 1 else max(pool, key=lambda i: decisions[i][self._position[category]])
                for category, pool in pools.items() if pool}
        alone: dict[str, float] = {}

        def sentence_alone(category: str) -> float:
            """The probability of a borderline category's likeliest sentence alone (0 for a pool of one: the post
            is that sentence), which alone decides whether it is flagged."""
            pool = pools[category]
            alone[category] = 0.0 if len(pool) < 2 else \
                float(self.model.calibrated(decisions[best[category]])[self._position[category]])
            return alone[category]

        flagged = [(category, probability) for category, probability in model_flags(
            probabilities, {c: t for c, t in self.thresholds.items() if c in likely}, found,
            has_alt=any(m.alt.strip() for m in post.media), sentences=self.sentences, best_sentence=sentence_alone)
            if context.policy.enabled(category)]
        findings = []
        for category, probability in flagged:
            where, evidence, _ = candidates[best[category]]
            kind = "alt text" if where.startswith("alt") else "sentence"
            if probabilities[category] >= self.thresholds[category]:
                explanation = (f"Reads like {WHAT[category]} by a statistical model's estimate (probability "
                               f"{probability:.2f}); the quoted {kind} weighs most.")
            else:  # a borderline post, flagged for its likeliest sentence
                explanation = (f"Reads like {WHAT[category]} by a statistical model's estimate (probability "
                               f"{probability:.2f}): the post scores {probabilities[category]:.2f} and the quoted "
                               f"{kind} is its likeliest ({alone[category]:.2f} alone).")
            findings.append(context.finding(
                category, evidence, repost_explanation(post, explanation) if where == "repost" else explanation,
                self.name, where=where, severity=LOWER[context.policy[category].severity]))
        return findings

    @staticmethod
    def _pool(candidates: list[tuple[str, str, str]], category: str) -> list[int]:
        """The candidates (by index) that may be quoted for `category`: alt texts only for student_photo."""
        return [i for i, c in enumerate(candidates) if category != "student_photo" or c[0].startswith("alt")]

    @staticmethod
    def _candidates(post: Post) -> list[tuple[str, str, str]]:
        """(where, sentence, its document) for each sentence of the text and each alt text."""
        out = []
        for where, text in post_texts(post):
            if not where.startswith("alt"):
                out.extend((where, text[begin:end], document(text[begin:end], ())) for begin, end in sentence_spans(text))
            else:
                out.append((where, text, document("", (text,))))
        return out
