"""What the int8 models of this folder are built with (offline build tools, not used at run time).

quantize_retinaface.py, quantize_open_nsfw.py and quantize_ppocr.py each upgrade an fp32 graph to opset 17
(`opset17`), run onnxruntime's pre-processing (`pre_processed`), quantise it statically with the same choices
(`quantize`: QDQ, uint8 activations asymmetric, int8 weights symmetric, MinMax calibration on the feeds given)
and print what they built (`built`). Needs `onnx` (a scratch venv: see each script).
"""
from __future__ import annotations

import hashlib
from pathlib import Path


def opset17(source: Path, target: Path) -> None:
    """`source` upgraded to opset 17 (per-channel DequantizeLinear needs 13) and written to `target`; the fp32
    maths unchanged."""
    import onnx
    from onnx import version_converter

    model = version_converter.convert_version(onnx.load(str(source)), 17)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def pre_processed(source: Path, target: Path) -> None:
    """onnxruntime's `quant_pre_process` (shape inference and its basic fusions) of `source`, to `target`."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(source), str(target), skip_symbolic_shape=True)


def quantize(source: Path, target: Path, feeds: list[dict], per_channel: bool, extra_options: dict | None = None,
             **options) -> None:
    """Static QDQ quantisation of `source` to `target`, calibrated on `feeds` (input name -> batch);
    `options`: quantize_static's others (nodes_to_exclude, op_types_to_quantize), `extra_options` beside
    the asymmetric activations and symmetric weights."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Feeds(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(feeds)

        def get_next(self):
            return next(self.feeds, None)

    quantize_static(str(source), str(target), calibration_data_reader=Feeds(), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True, **(extra_options or {})},
                    **options)


def built(target: Path) -> str:
    """The line a build script prints: the file, its size and its SHA-256 (the digest its reader checks)."""
    return f"{target.name}: {target.stat().st_size} bytes, sha256 {hashlib.sha256(target.read_bytes()).hexdigest()}"
