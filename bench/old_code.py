"""The image analysis of another git revision, in a child process: before and after in the same run.

`OldAnalyser(ref)` extracts `auditors/` and `records/` of `ref` (`git archive`) into a temporary
folder and starts a Python there, on the cores this process is pinned to; `analyse(path)` has it
analyse one image file with that revision's default settings and returns (the analysis as a dict,
{stage: ms}). Its stopwatch reads the CPU clock of its process, as ours does, whichever clock that
revision's stopwatch read. The child runs as that revision's workers ran: with glibc's huge pages only when that
revision asks for them (`auditors.c_heap.huge_pages_for_new_processes`), whatever this process has.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from auditors.c_heap import without_huge_pages

REPO = Path(__file__).resolve().parent.parent
CHILD = r"""
import inspect, json, os, sys, time, types
import auditors.image_analysis as analysis
assert analysis.__file__.startswith(os.getcwd()), analysis.__file__  # that revision's, not the installed one
analysis.time = types.SimpleNamespace(perf_counter=time.process_time, process_time=time.process_time)
settings = analysis.ImageSettings()
if "timings" in inspect.signature(analysis.analyse_bytes).parameters:
    def analyse(data):
        timings = {}
        return analysis.analyse_bytes(data, settings, timings=timings), timings
else:  # a revision from before analyse_bytes timed its stages (issue 13's start, ed11cb3^)
    def analyse(data):
        return analysis.timed_analyse(data, settings)
for line in sys.stdin:
    with open(line.rstrip("\n"), "rb") as file:
        found, timings = analyse(file.read())
    print(json.dumps([found.to_dict(), timings]), flush=True)
"""


class OldAnalyser:
    def __init__(self, ref: str):
        self.ref = ref
        self._folder = tempfile.TemporaryDirectory(prefix="eval-images-old-")
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "auditors", "records"],
                                 capture_output=True, check=False)
        if archive.returncode:
            self._folder.cleanup()
            raise ValueError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", self._folder.name], input=archive.stdout, check=True)
        self._child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=self._folder.name, text=True,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       env=revision_environment(Path(self._folder.name)))

    def analyse(self, path: Path) -> tuple[dict, dict[str, float]]:
        self._child.stdin.write(f"{Path(path).resolve()}\n")  # the child works in its own folder
        self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the analysis of {self.ref} stopped on {path}")
        found, timings = json.loads(line)
        return found, timings

    def close(self) -> None:
        if self._child.stdin.closed:  # closed already (eval_images closes it early, and at exit in any case)
            return
        self._child.stdin.close()
        self._child.wait()
        self._folder.cleanup()

    def __enter__(self) -> "OldAnalyser":
        return self

    def __exit__(self, *_) -> None:
        self.close()


def revision_environment(folder: Path) -> dict[str, str]:
    """This process's environment for the revision extracted in `folder`, without glibc's huge pages when
    that revision's workers did not ask for them."""
    heap = folder / "auditors" / "c_heap.py"
    if heap.is_file() and "huge_pages_for_new_processes" in heap.read_text():
        return dict(os.environ)
    return without_huge_pages(os.environ)
