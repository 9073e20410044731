"""`schoolaudit scan-image`: one JSON object per image, errors on stderr, non-zero exit at the end."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from flyers import draw_flyer
from schoolaudit.cli import main

ASTRONAUT = Path(__file__).resolve().parent / "fixtures" / "images" / "astronaut.jpg"


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_output_schema_errors_and_exit_status(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), (250, 250, 250)).save(blank)
    sky = tmp_path / "sky.png"  # colour but no skin: scored all the same (the contract's score 0..1)
    Image.new("RGB", (300, 200), (90, 150, 230)).save(sky)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not an image")
    flyer = draw_flyer(tmp_path / "flyer.jpg", ["Wine & cheese night", "Tickets $20 at the door"])
    status = main(["scan-image", str(ASTRONAUT), str(broken), str(blank), str(sky), str(flyer), "--workers", "2"])
    captured = capsys.readouterr()
    assert status == 1
    objects = _lines(captured.out)
    assert [o["path"] for o in objects] == [str(ASTRONAUT), str(blank), str(sky), str(flyer)]
    for obj in objects:
        assert set(obj) == {"path", "faces", "explicit", "labels", "text"}
        assert 0.0 <= obj["explicit"] <= 1.0
        for face in obj["faces"]:
            assert set(face) == {"box", "score"}
            assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
            assert 0.0 < face["score"] <= 1.0
    astronaut, empty, _, poster = objects
    assert len(astronaut["faces"]) == 1 and astronaut["labels"] == ["student_photo"]
    assert empty["faces"] == [] and empty["labels"] == [] and empty["text"] == ""
    assert poster["text"] == "Wine & cheese night\nTickets $20 at the door" and poster["faces"] == []
    errors = [line for line in captured.err.splitlines() if str(broken) in line]
    assert len(errors) == 1 and "not a readable image" in errors[0]


def test_all_readable_exits_zero_and_folders_expand(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(ASTRONAUT.read_bytes())
    Image.new("RGB", (64, 64)).save(folder / "b.png")
    (folder / "notes.txt").write_text("not an image, not listed")
    assert main(["scan-image", str(folder), "--workers", "1"]) == 0
    objects = _lines(capsys.readouterr().out)
    assert [Path(o["path"]).name for o in objects] == ["a.jpg", "b.png"]


def test_missing_file_is_named(tmp_path, capsys):
    missing = tmp_path / "gone.jpg"
    assert main(["scan-image", str(missing), str(ASTRONAUT), "--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert f"{missing}: cannot read file" in captured.err
    assert len(_lines(captured.out)) == 1


def test_cache_file_is_used(tmp_path, capsys):
    cache = tmp_path / "cache.sqlite"
    assert main(["scan-image", str(ASTRONAUT), "--cache", str(cache), "--workers", "1"]) == 0
    first = _lines(capsys.readouterr().out)
    assert cache.exists()
    assert main(["scan-image", str(ASTRONAUT), "--cache", str(cache), "--workers", "1"]) == 0
    assert _lines(capsys.readouterr().out) == first


def test_hundreds_of_long_paths_on_the_command_line(tmp_path):
    # onnxruntime crashes on import in a process whose command line is over ~32 KiB (exit 139)
    folder = tmp_path / ("d" * 120)
    folder.mkdir()
    image = folder / "blank.png"
    Image.new("RGB", (64, 64), (250, 250, 250)).save(image)
    paths = [str(image)] * 400  # one image, analysed once: the length of the command line is the point
    done = subprocess.run([sys.executable, "-m", "schoolaudit.cli", "scan-image", *paths, "--workers", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [o["path"] for o in _lines(done.stdout)] == paths


def test_paths_read_from_stdin_and_from_a_file(tmp_path, capsys, monkeypatch):
    listed = tmp_path / "paths.txt"
    listed.write_text(f"{ASTRONAUT}\n\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{ASTRONAUT}\n"))
    assert main(["scan-image", "-", "--from", str(listed), "--workers", "1"]) == 0
    assert [o["path"] for o in _lines(capsys.readouterr().out)] == [str(ASTRONAUT)] * 2


def test_unreadable_path_list_is_one_line(tmp_path, capsys):
    assert main(["scan-image", "--from", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.txt" in err[0]
    assert main(["scan-image"]) == 2
    assert "no image paths given" in capsys.readouterr().err
