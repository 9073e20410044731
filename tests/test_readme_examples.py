"""The README's ```console examples, run as written and compared with what the README shows.

Each `$ schoolaudit ...` line of a ```console block is run (in order, in one empty folder that stands
for the user's home, /home/it in the README) and its output (stderr, then stdout) must be the lines
below it. What changes from run to run is replaced on both sides: the folder, the demo's password
and port, dates and times. The ```csv accounts.csv block is written as Excel in a French locale saves it.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex

from schoolaudit.cli import main

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
HOME = "/home/it"
VARYING = [(re.compile(r"(with password )\S+"), r"\1…"),
           (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:8737"),  # another port when 8737 is taken
           (re.compile(r"\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d)?(?: ?[A-Z]{3,4}|[+-]\d\d:\d\d)?)?"), "DATE")]


def examples(readme: str) -> list[tuple[str, str]]:
    """(command line, expected output) for each `$ ` line of the README's ```console blocks."""
    pairs = []
    for block in re.findall(r"^```console\n(.*?)^```", readme, re.MULTILINE | re.DOTALL):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            pairs.append((command, output))
    return pairs


def normalise(text: str, home: str) -> str:
    text = text.replace(home, HOME)
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def run_example(command: str) -> str:
    """What the user sees: stderr (the configuration line comes first), then stdout."""
    argv = shlex.split(command)
    assert argv[0] == "schoolaudit", command
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(argv[1:])
    return err.getvalue() + out.getvalue()


def test_readme_examples_print_what_the_readme_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    sheet = re.search(r"^```csv accounts.csv\n(.*?)^```", README, re.MULTILINE | re.DOTALL).group(1)
    (tmp_path / "accounts.csv").write_bytes(sheet.replace("\n", "\r\n").encode("cp1252"))
    pairs = examples(README)
    assert [c.split()[:2] for c, _ in pairs][:1] == [["schoolaudit", "demo"]] and len(pairs) >= 4
    for command, expected in pairs:
        actual = normalise(run_example(command), str(tmp_path))
        assert actual == normalise(expected, HOME), f"README example `{command}` printed:\n{actual}"
