"""The model sessions' memory-heavy runs take turns within a process (auditors/onnx_session.py)."""
from __future__ import annotations

import threading
from pathlib import Path

PHOTO = Path(__file__).parent.parent / "schoolaudit/demo/site/images/astronaut-visit.jpg"


def _started(work) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_reading_text_and_large_face_passes_wait_for_a_heavy_run_while_small_runs_go_on(tmp_path):
    """Two image threads each at their memory peak at once made a night's peak: face passes on large
    inputs and the text reader's line finding take turns; the text gate, small face passes and the
    explicit score do not wait for them."""
    from PIL import Image

    from auditors import onnx_session
    from auditors.explicit_image import ExplicitScorer
    from auditors.faces import FaceDetector
    from auditors.image_text import TextReader
    from flyers import draw_flyer

    photo = Image.open(PHOTO).convert("RGB")
    small = photo.resize((480, 480 * photo.height // photo.width))
    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", ["Bake sale Friday", "Gym doors open at noon"]))
    detector, scorer, reader = FaceDetector(), ExplicitScorer(), TextReader()
    # no face at 640 px: the flyer (1080 x 1350) is looked at 1280 px too
    expected = {"faces": detector.detect(flyer), "text": reader.read_all(flyer, 1280)}
    found = {}
    with onnx_session._HEAVY_RUN:  # as another thread's heavy run holds it
        light = {}  # in a thread: a light run that waited would fail the test, not hang it on this lock
        ran = _started(lambda: light.update(faces=detector.detect(small), score=scorer.score(small),
                                            gate=reader.gate_boxes(flyer)))
        ran.join(timeout=30)
        assert not ran.is_alive() and light["faces"]  # the astronaut, found at 480 px
        # (the reader's own lock, held by a read that waits here, would keep the gate waiting in this test)
        waiting = [_started(lambda: found.update(faces=detector.detect(flyer))),
                   _started(lambda: found.update(text=reader.read_all(flyer, 1280)))]
        for thread in waiting:
            thread.join(timeout=1.0)
        assert all(thread.is_alive() for thread in waiting) and not found
    for thread in waiting:
        thread.join(timeout=60)
    assert found == expected and "Bake sale" in expected["text"]


def test_a_heavy_run_starts_on_a_trimmed_c_heap_in_its_turn_and_light_runs_do_not_trim(monkeypatch, tmp_path):
    """Free heap pages left by an image's earlier steps stayed resident under a heavy run's tensors (a worker's
    peak): a heavy run gives them back first, holding its turn; the gate and the recogniser's lines do not pay for it."""
    from PIL import Image

    from auditors import onnx_session
    from auditors.image_text import TextReader
    from flyers import draw_flyer

    reader = TextReader()
    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", ["Bake sale Friday", "Gym doors open at noon"]))
    trims = []
    monkeypatch.setattr(onnx_session, "release_free_pages", lambda: trims.append(onnx_session._HEAVY_RUN.locked()))
    assert reader.gate_boxes(flyer) and trims == []
    assert "Bake sale" in reader.read_all(flyer, 1280)
    assert trims == [True]  # the lines found at 640 px: one heavy run, trimmed in its turn


def test_exact_int8_products_are_asked_for_unless_the_cpu_sums_them_exactly_itself(tmp_path):
    """onnxruntime's u8s8 kernels sum exactly on AVX-512 VNNI CPUs and on AVX-VNNI CPUs without AVX-512 (whose
    AVX-512 kernels would saturate); elsewhere, or where the flags cannot be read, sessions ask for exact
    products (u8u8 kernels, 1.7 to 2 times the CPU on a VNNI CPU)."""
    from auditors.onnx_session import exact_int8_option_needed

    def cpuinfo(flags: str) -> Path:
        path = tmp_path / f"cpuinfo-{len(list(tmp_path.iterdir()))}"
        path.write_text(f"processor\t: 0\nmodel name\t: a CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
        return path

    assert not exact_int8_option_needed(cpuinfo("fpu sse2 avx2 avx512f avx512bw avx512_vnni"))
    assert exact_int8_option_needed(cpuinfo("fpu sse2 avx2 avx512f avx512bw"))
    assert not exact_int8_option_needed(cpuinfo("fpu sse2 avx2 avx_vnni"))  # Alder Lake: AVX-VNNI kernels
    assert exact_int8_option_needed(cpuinfo("fpu sse2 avx2 avx512f avx512bw avx_vnni"))  # AVX-512's saturate
    assert exact_int8_option_needed(cpuinfo("fpu sse2 avx2"))
    assert exact_int8_option_needed(tmp_path / "missing")
    no_flags = tmp_path / "cpuinfo-no-flags"
    no_flags.write_text("processor\t: 0\nmodel name\t: a CPU\n")
    assert exact_int8_option_needed(no_flags)


def test_the_face_model_scores_to_the_bit_as_with_exact_int8_products():
    """Where the sessions do not ask for exact products (an AVX-512 VNNI CPU), the face model's outputs are
    those of a session that does, to the bit (elsewhere both ask for them)."""
    import numpy as np
    import onnxruntime as ort
    from PIL import Image

    from auditors import faces
    from auditors.onnx_session import _EXACT_INT8, lean_session

    photo = Image.open(PHOTO).convert("RGB").resize((640, 480))
    pixels = np.ascontiguousarray(np.asarray(photo)[:, :, ::-1].transpose(2, 0, 1)[None])
    options = ort.SessionOptions()
    options.add_session_config_entry(*_EXACT_INT8)
    exact = ort.InferenceSession(str(faces.MODEL_PATH), sess_options=options, providers=["CPUExecutionProvider"])
    ours = lean_session(faces.MODEL_PATH)
    name = exact.get_inputs()[0].name
    for expected, got in zip(exact.run(None, {name: pixels}), ours.run(None, {name: pixels})):
        assert np.array_equal(expected, got)
    assert exact.run(None, {name: pixels})[1][0, :, 1].max() > 0.9  # the astronaut: not an empty comparison
