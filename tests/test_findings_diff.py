"""bench/findings_diff.py: a saved run compares with another checkout's, and --show never prints a measurement file."""
from __future__ import annotations

import shutil

import pytest

from bench import findings_diff
from conftest import REPO
from schoolaudit.corpus import is_measurement

POSTS = REPO / "tests" / "fixtures" / "text" / "explicit.jsonl"


def _checkout(folder, *names):
    """A folder that git would call a checkout, holding a copy of the fixture posts under each of `names`."""
    (folder / ".git").mkdir(parents=True)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(POSTS, folder / name)
    return folder


def test_a_file_is_known_by_its_path_in_its_checkout_so_two_checkouts_compare(tmp_path, capsys):
    before = _checkout(tmp_path / "base", "bench/data/train_a_posts.jsonl")
    after = _checkout(tmp_path / "work", "bench/data/train_a_posts.jsonl", "bench/data/train_b_posts.jsonl")
    saved = tmp_path / "before.json"
    assert findings_diff.main(["--save", str(saved), str(before / "bench/data/train_a_posts.jsonl")]) == 0
    assert findings_diff.main(["--against", str(saved), str(after / "bench/data/train_a_posts.jsonl"),
                               str(after / "bench/data/train_b_posts.jsonl")]) == 0
    posts = sum(1 for line in POSTS.read_text(encoding="utf-8").splitlines() if line.strip())
    assert capsys.readouterr().out.splitlines() == [
        "bench/data/train_a_posts.jsonl:", f"  0 of {posts} posts changed",
        "bench/data/train_b_posts.jsonl: not in the saved run", "total: 0 posts changed"]


def test_a_file_outside_a_checkout_is_known_by_its_name(tmp_path):
    assert findings_diff.run_key(tmp_path / "x" / "posts.jsonl") == "posts.jsonl"


@pytest.mark.parametrize("path", ["bench/data/heldout2_posts.jsonl", "bench/data/heldout5_posts.jsonl",
                                  "bench/data/heldout17_posts.jsonl", "bench/data/heldout23_posts.jsonl",
                                  "bench/data/heldout35_posts.jsonl", "../blind3/posts.jsonl"])
def test_show_refuses_a_measurement_file_before_reading_anything(path, capsys, monkeypatch):
    monkeypatch.setattr(findings_diff, "load", lambda config: pytest.fail("loaded the rules"))
    with pytest.raises(SystemExit) as exit_info:
        findings_diff.main(["--against", "/nonexistent.json", "--show", path])
    assert exit_info.value.code == 2
    assert "is a measurement: --show would print its posts" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["heldout_posts.jsonl", "heldout3_posts.jsonl", "train_spent_heldout6_posts.jsonl",
                                  "train_a_posts.jsonl", "untrained_w1_posts.jsonl", "heldout12_posts.jsonl"])
def test_files_one_may_read_are_not_measurements(name):
    assert not is_measurement(REPO / "bench" / "data" / name)
