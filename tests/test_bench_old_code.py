"""bench/old_code.py: another revision's image analysis in a child process, for before-and-after benches."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.flyers import draw_flyer

REPO = Path(__file__).resolve().parent.parent


def _in_a_git_checkout() -> bool:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _in_a_git_checkout(), reason="needs the project as a git checkout (git archive)")
def test_a_path_relative_to_the_bench_is_read_by_the_child_in_its_own_folder(tmp_path, monkeypatch):
    from auditors.image_analysis import ImageSettings, analyse_bytes
    from bench.old_code import OldAnalyser

    draw_flyer(tmp_path / "flyer.jpg", ["Wine and cheese night", "Tickets $20 at the office"])
    monkeypatch.chdir(tmp_path)  # as `eval_images.py ../shared/images` passes its photos
    with OldAnalyser("HEAD") as old:
        found, timings = old.analyse(Path("flyer.jpg"))
    assert found["text"] == analyse_bytes(Path("flyer.jpg").read_bytes(), ImageSettings()).to_dict()["text"]
    assert "Wine and cheese night" in found["text"] and timings
