"""Measure a text model trained with `train_text_model.py --contextual` on a labelled JSONL file (experiment).

    /tmp/ml/bin/python bench/eval_contextual.py /tmp/b.json.gz /tmp/contextual.npz POSTS.jsonl [--config DIR]

The runtime (auditors/text_model.py) reads the static embedding only. This script has the text model
auditor load auditors/models/contextual_embeddings.ContextualTextModel instead, which adds the model's
contextual block (each document's vector looked up by text in the .npz, computed when missing), then runs
bench/eval_text.py unchanged on the rest: the same classify path, combine code and scores. Its speed
figures leave out the contextual forward pass (`contextual_embeddings.py --time` measures that).
A model trained without --contextual is scored as the runtime scores it (a baseline read the same way).
Needs numpy and scipy (the forward pass): the scikit-learn venv of train_text_model.py has both.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import auditors.text_model  # noqa: E402
from auditors.models.contextual_embeddings import ContextualTextModel, ContextualVectors  # noqa: E402
from bench import eval_text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    vectors = ContextualVectors(Path(argv[1]))
    model = ContextualTextModel(Path(argv[0]), vectors)
    auditors.text_model.load_model = lambda path=None: model  # the auditor reads the model through this
    status = eval_text.main(argv[2:])
    vectors.save()  # the sentences' and quotes' vectors computed meanwhile, for the next run
    return status


if __name__ == "__main__":
    sys.exit(main())
