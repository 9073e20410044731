"""`schoolaudit classify FILE.jsonl`: JSON lines out, bad lines reported with file and line, no database."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from schoolaudit.cli import main
from schoolaudit.config import DEFAULT_CONFIG_DIR
from schoolaudit.corpus import RecordError, record_to_post

GOOD = {"id": "t-1", "platform": "x", "account": {"name": "Riverbend PS", "kind": "school"},
        "text": "Staff social at the brewery on Friday, first round on us! 🍻", "image_alt": ["Students smiling at the camera"],
        "repost_of": {"handle": "@SomeBrand", "external": True}}


def classify_file(tmp_path, capsys, lines: list[str]) -> tuple[int, list[dict], str]:
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["--config", str(DEFAULT_CONFIG_DIR), "classify", str(path)])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_prints_one_json_object_per_post_with_labels_in_category_order(tmp_path, capsys):
    code, rows, err = classify_file(tmp_path, capsys, [json.dumps(GOOD)])
    assert code == 0 and err == ""
    assert rows[0]["id"] == "t-1"
    assert rows[0]["labels"] == ["student_photo", "endorsement_repost", "substances"]
    for finding in rows[0]["findings"]:
        assert set(finding) == {"category", "severity", "evidence", "explanation", "clause", "where"}
    wheres = {f["category"]: f["where"] for f in rows[0]["findings"]}
    assert wheres == {"student_photo": "alt:0", "endorsement_repost": "repost", "substances": "text"}


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_carry_on(tmp_path, capsys):
    clean = dict(GOOD, id="t-2", text="Winter concert Thursday at 7.", image_alt=[], repost_of=None)
    code, rows, err = classify_file(tmp_path, capsys, [
        json.dumps(GOOD), "{not json", json.dumps({"id": "t-3", "image_alt": []}), "", json.dumps(clean)])
    assert [r["id"] for r in rows] == ["t-1", "t-2"]
    assert rows[1]["labels"] == [] and rows[1]["findings"] == []
    errors = err.strip().splitlines()
    assert len(errors) == 2
    assert "posts.jsonl:2:" in errors[0] and "JSON" in errors[0]
    assert "posts.jsonl:3:" in errors[1] and "text" in errors[1]
    assert code == 1


def test_answers_in_the_record_are_never_read(tmp_path, capsys):
    record = dict(GOOD, text="Winter concert Thursday at 7.", image_alt=[], repost_of=None,
                  labels=["hostile"], note="vote for the Liberals, f*ck", difficulty="hard")
    _, rows, _ = classify_file(tmp_path, capsys, [json.dumps(record)])
    assert rows[0]["labels"] == []


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    code = main(["--config", str(DEFAULT_CONFIG_DIR), "classify", str(tmp_path / "nope.jsonl")])
    assert code == 2 and "nope.jsonl" in capsys.readouterr().err


def test_posts_read_before_a_read_error_are_still_printed(tmp_path, capsys, monkeypatch):
    """Posts are classified in batches: a disk error in the middle of the file loses none of the posts read before it."""
    from schoolaudit.commands import classify
    from schoolaudit.corpus import read_posts

    def failing(path):
        lines = read_posts(path)
        yield next(lines)
        yield next(lines)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(classify, "read_posts", failing)
    clean = dict(GOOD, id="t-2", text="Winter concert Thursday at 7.", image_alt=[], repost_of=None)
    code, rows, err = classify_file(tmp_path, capsys, [json.dumps(GOOD), json.dumps(clean), json.dumps(dict(clean, id="t-3"))])
    assert [r["id"] for r in rows] == ["t-1", "t-2"]
    assert code == 2 and "cannot read" in err and "Input/output error" in err


def test_record_to_post_maps_alt_text_and_repost():
    post, account = record_to_post(GOOD)
    assert account.kind == "school" and post.platform_id == "t-1"
    assert [m.alt for m in post.media] == ["Students smiling at the camera"]
    assert post.repost_of.handle == "@SomeBrand" and post.repost_of.external is True
    with pytest.raises(RecordError, match="kind"):
        record_to_post(dict(GOOD, account={"name": "x", "kind": "church"}))
    with pytest.raises(RecordError, match="image_alt"):
        record_to_post(dict(GOOD, image_alt="a photo"))


#: What the image auditors bring in (the models' runtimes and the modules that hold them): `classify`
#: reads alt texts only, so none of it may load; `--help` needs neither these nor the text machinery.
IMAGE_MODULES = ("auditors.image_auditors", "auditors.image_analysis", "auditors.faces", "auditors.image_text",
                 "onnxruntime", "rapidocr", "PIL")
START_UP_MODULES = ("importlib.metadata", "apscheduler")


def modules_loaded_by(args: list[str], cwd: Path) -> set[str]:
    """The modules a fresh `schoolaudit ARGS` process has imported when it ends, its caches filled by
    the same command before (the first start after an installation changes reads the entry points)."""
    code = ("import sys\ntry:\n    from schoolaudit.cli import main\n    sys.exit(main(sys.argv[1:]))\n"
            "finally:\n    print('\\n'.join(sys.modules), file=sys.stderr)\n")  # --help ends in SystemExit
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


def test_classify_imports_no_image_machinery_nor_the_start_up_heavyweights(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    loaded = modules_loaded_by(["--config", str(DEFAULT_CONFIG_DIR), "classify", str(path)], tmp_path)
    assert "auditors.text_model" in loaded  # the modules really are listed
    assert loaded.isdisjoint(IMAGE_MODULES + START_UP_MODULES), loaded & set(IMAGE_MODULES + START_UP_MODULES)


def test_help_imports_no_auditor(tmp_path):
    loaded = modules_loaded_by(["--help"], tmp_path)
    assert "argparse" in loaded and "auditors.plugins" in loaded  # the plugin commands are listed too
    assert loaded.isdisjoint(("auditors.base", "auditors.registry", "schoolaudit.config", "numpy", *START_UP_MODULES))


def test_an_error_writing_the_findings_is_not_called_a_read_error(tmp_path, capsys, monkeypatch):
    """Printing to a full disk or a closed pipe is not the posts file's fault, and nothing is printed twice."""
    class FullDisk:
        def write(self, text):
            raise OSError(28, "No space left on device")

        def flush(self):
            pass

    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", FullDisk())
    with pytest.raises(OSError, match="No space left"):
        main(["--config", str(DEFAULT_CONFIG_DIR), "classify", str(path)])
    assert "cannot read" not in capsys.readouterr().err
