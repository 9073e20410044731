"""The one way schoolaudit opens an ONNX model: an onnxruntime CPU session that keeps little memory between runs.

onnxruntime's defaults suit one model on a machine of its own: its memory arena keeps the largest
activations any image needed (a worker grew to 530 MB after 30 photos; without it, it goes back to
about 180 MB between images, for the same CPU), memory patterns plan buffers for shapes that differ
from one image to the next, and idle pool threads spin on cores that other processes share.

Without an arena each tensor is a malloc of its own, and for the face detector (tensors of 10 to
50 MB, many passes an image) that leaves the C heap full of holes whose pages stay resident: on the
64 shared photos it peaked 97 to 112 MB above its loaded size, for 41 MB of live tensors. Its session
(`arena=True`) allocates a run's tensors from an arena that gives them all back when the run ends
(`_SHRINK_ARENA`): 60 MB above, and 10 to 15% less CPU. The text detector's session does the same: its
run at 640 x 640 px (a worker's peak is that run) rose 110 to 125 MB above its loaded size, nearly all of it
still resident after the run; now 59 to 68 MB, 3 to 21 MB after, and no more CPU. Those two sessions share
one arena of the process (`session.use_env_allocators`) that grows by the size each tensor asks for
(kSameAsRequested; onnxruntime's default arena doubles each new region, and with it on the text reader and
the explicit scorer a worker's peak rose from 338 to 447 MB). The recogniser and the explicit scorer go
without. Only the heavy runs (below) empty the arena: a lighter run's tensors (a face pass at 640 px, the text
gate at 320) stay there for the next one, whose pages are then not faulted in afresh. A 200-account night took 3
to 8 % less CPU (sys 35-37 -> 29 s), the peak the same within the noise (421-438 against 410-428 MB); an arena
never emptied took 7 % less and peaked at 502 MB.

A worker's image threads share the sessions, and its peak was two threads each at an image's peak at
once (finding text lines at 640 px: +100 MB; a face pass at 1280 px: +40 MB, +70 MB for the pass).
Runs on inputs a session marks heavy (`heavy_from`) take turns in the process, while its other runs
(the text gate, passes at 640 px and less, the explicit score) go on beside them: on the 64 shared
photos three times over, two threads peaked at 377 MB instead of 431, for the same CPU (38.7 s, 38.2 s).
A heavy run first gives the C heap's free pages back to the system (`c_heap.release_free_pages`): freed in an
image's steps (the recogniser's tensors, the other thread's), they stayed resident until the account's trim, and
the run's large tensors, mapped apart, came on top of them (the text detector's run at 640 px, a worker's
peak, stood 160 MB above its level). Two threads on the 64 shared photos three times over (accounts of 7, a
trim after each), peak 340-361 MB -> 297-307 MB, CPU per image 156-163 -> 151-156 ms.

The int8 models (faces, explicit) multiply uint8 activations by int8 weights. On an x86 CPU without VNNI,
onnxruntime's u8s8 kernels add products in pairs into int16, which saturates, so the same photo scored
otherwise there than on a VNNI CPU (exact int32 sums): the bench was tuned on one, a CI machine ran the
other. `session.x64quantprecision` turns the weights to uint8 on such CPUs (u8u8 kernels: exact), and
changes no output on a VNNI CPU. Under qemu (Skylake-Client: AVX2, no VNNI) the face model's 4,200 scores
of a 320 px image differed from an AVX-512 VNNI CPU's in 191 places by up to 8/255; with it, in 2 by
1/255, both at 0 or 1/255 (its fp32 stages: AVX2 kernels sum in another order, 3e-7 apart).
It is asked for only where /proc/cpuinfo lists neither `avx512_vnni` nor `avx_vnni` (without AVX-512): on an
AVX-512 VNNI CPU it gave the same outputs to the bit (faces at 1280 px on 23 bench photos, open_nsfw) but ran the
u8u8 kernels there too, at 1.7 to 2 times the CPU (the face model at 1280 x 960: 88-110 against 49-50 ms;
open_nsfw 17 against 9 ms). A CPU with AVX-VNNI and no AVX-512 (Intel's desktops from Alder Lake on) gets
onnxruntime's AVX-VNNI kernels for the same products (its CPU dispatch; the wheel holds their VEX-encoded
vpdpbusd(s)), which sum in int32 as the AVX-512 ones do, and the depthwise kernels this CPU runs; qemu 7.2 cannot
emulate AVX-VNNI, so that is read from onnxruntime, not run here. An AVX-512 CPU without its VNNI runs
saturating AVX-512 kernels whatever else it lists. Elsewhere (no such flag, or no /proc/cpuinfo) the option is
asked for: exact first.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path

from auditors.c_heap import release_free_pages

#: onnxruntime's run option that frees the arena's unused memory after a run ("cpu:0": the CPU's arena)
_SHRINK_ARENA = ("memory.enable_memory_arena_shrinkage", "cpu:0")


#: onnxruntime's session option for exact int8 products on x86 CPUs without VNNI (see above)
_EXACT_INT8 = ("session.x64quantprecision", "1")
#: where the CPU's flags are listed
_CPUINFO = Path("/proc/cpuinfo")


@functools.lru_cache(maxsize=1)
def exact_int8_option_needed(cpuinfo: Path = _CPUINFO) -> bool:
    """Whether sessions must ask for `_EXACT_INT8`: unless `cpuinfo`'s flags show onnxruntime's exact u8s8 kernels
    will run, AVX-512 VNNI's or, on a CPU without AVX-512, AVX-VNNI's (see above)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return True
    lines = [set(line.partition(":")[2].split()) for line in text.splitlines() if line.startswith("flags")]
    return not lines or not all("avx512_vnni" in flags or ("avx_vnni" in flags and "avx512bw" not in flags)
                                for flags in lines)


#: onnxruntime's arena extend strategy kSameAsRequested: a region the size asked for, where the default
#: (kNextPowerOfTwo) rounds each region up to twice the last one
_SAME_AS_REQUESTED = 1


@functools.lru_cache(maxsize=1)
def _register_process_arena() -> None:
    """One CPU arena for this process's `arena` sessions, growing by the size each tensor asks for."""
    import onnxruntime as ort

    memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(memory, ort.OrtArenaCfg(0, _SAME_AS_REQUESTED, -1, -1))


#: Held by a run on an input of its session's `heavy_from` values or more: one such run at a time per process
_HEAVY_RUN = threading.Lock()


def lean_session(model: str | Path, threads: int = 1, arena: bool = False, heavy_from: int | None = None):
    """An `onnxruntime.InferenceSession` on the CPU for `model`, running on `threads` threads that
    sleep when idle, without memory patterns; with `arena`, each run's tensors come from the process's one
    arena (`_register_process_arena`: shared by every session made with `arena`, growing by what each tensor
    asks for), emptied when the run ends, else each is allocated on its own. A run on an input of `heavy_from`
    values or more waits for any other such run in this process (of any session) to end, then starts on a
    trimmed C heap; with `heavy_from`, only such runs empty the arena (a lighter run's regions stay for the next)."""
    import onnxruntime as ort  # imported on use: a start-up without images never pays for it

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = arena
    options.enable_mem_pattern = False
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if exact_int8_option_needed():
        options.add_session_config_entry(*_EXACT_INT8)
    if arena:
        _register_process_arena()
        options.add_session_config_entry("session.use_env_allocators", "1")
    session = _session_class()(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    if arena:
        session.default_run_options = ort.RunOptions()
        session.default_run_options.add_run_config_entry(*_SHRINK_ARENA)
    session.heavy_from = heavy_from
    return session


@functools.lru_cache(maxsize=1)
def _session_class():
    """`onnxruntime.InferenceSession` whose runs use `default_run_options` (the shrinking arena's) when
    the caller gives none; defined on first use, when onnxruntime is imported."""
    import onnxruntime as ort

    class LeanSession(ort.InferenceSession):
        default_run_options = None
        heavy_from: int | None = None

        def run(self, output_names, input_feed, run_options=None):
            emptying = run_options or self.default_run_options
            if self.heavy_from is None:
                return super().run(output_names, input_feed, emptying)
            if max(value.size for value in input_feed.values()) < self.heavy_from:
                return super().run(output_names, input_feed, run_options)  # its tensors stay for the next run
            with _HEAVY_RUN:
                release_free_pages()  # see the module's docstring
                return super().run(output_names, input_feed, emptying)

    return LeanSession
