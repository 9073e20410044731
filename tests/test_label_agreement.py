"""bench/label_agreement.py: a second reader's labels scored against a labelled file's."""
from __future__ import annotations

import json

import pytest

from bench import label_agreement


def _write(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.fixture
def labelled(tmp_path):
    return _write(tmp_path / "gold_posts.jsonl", [
        {"id": "p1", "text": "Cold beer at the staff social!", "labels": ["substances"]},
        {"id": "p2", "text": "Picture day is Tuesday.", "labels": []},
        {"id": "p3", "text": "Nice try, parents who cannot read a calendar.", "labels": ["hostile"]},
    ])


def test_a_reader_is_scored_per_category_against_the_labels(tmp_path, labelled, capsys):
    reader = _write(tmp_path / "reader.jsonl", [{"id": "p1", "labels": ["substances"]},
                                                 {"id": "p2", "labels": ["hostile"]},
                                                 {"id": "p3", "labels": []}])
    assert label_agreement.main([str(reader), str(labelled)]) == 0
    out = capsys.readouterr().out
    hostile = next(line for line in out.splitlines() if line.startswith("hostile"))
    assert hostile.split()[1:] == ["0.00", "0.00", "0.00", "1", "1", "1"]  # P R F1 n fp fn
    assert "macro-F1                 0.500" in out and "clean posts flagged      100.0%" in out


def test_a_post_the_reader_did_not_label_is_named(tmp_path, labelled, capsys):
    reader = _write(tmp_path / "reader.jsonl", [{"id": "p1", "labels": []}])
    with pytest.raises(SystemExit):
        label_agreement.main([str(reader), str(labelled)])
    assert "no labels for 2 post(s)" in capsys.readouterr().err


def test_a_line_that_is_not_a_labelled_post_is_named_with_its_line(tmp_path, labelled):
    reader = tmp_path / "reader.jsonl"
    reader.write_text('{"id": "p1", "labels": []}\n{"id": "p2"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"reader.jsonl:2: not a labelled post"):
        label_agreement.main([str(reader), str(labelled)])


def test_a_misspelt_label_is_named_with_its_line(tmp_path, labelled):
    reader = _write(tmp_path / "reader.jsonl", [{"id": "p1", "labels": ["substances"]}, {"id": "p2", "labels": ["hostle"]}])
    with pytest.raises(SystemExit, match=r"reader.jsonl:2: not a labelled post \(unknown label 'hostle'\)"):
        label_agreement.main([str(reader), str(labelled)])
