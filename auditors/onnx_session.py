"""The one way schoolaudit opens an ONNX model: an onnxruntime CPU session that keeps no memory between runs
(unless asked: the face detector on one thread, see auditors/faces.py).

onnxruntime's defaults suit one model on a machine of its own: its memory arena keeps the largest
activations any image needed (a worker grew to 530 MB after 30 photos; without it, it goes back to
about 180 MB between images, for the same CPU: 257 against 289 ms on those photos), memory patterns
plan buffers for shapes that differ from one image to the next, and idle pool threads spin on cores
that other processes share. The face detector, the explicit scorer and the text reader all open
their models here.
"""
from __future__ import annotations

from pathlib import Path


def lean_session(model: str | Path, threads: int = 1, arena: bool = False):
    """An `onnxruntime.InferenceSession` on the CPU for `model`, running on `threads` threads that
    sleep when idle, without memory patterns, and without memory arena unless `arena`."""
    import onnxruntime as ort  # imported on use: a start-up without images never pays for it

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = arena
    options.enable_mem_pattern = False
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
