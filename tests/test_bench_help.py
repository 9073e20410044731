"""Every bench script with options answers --help with an example line, as the schoolaudit commands do."""
from __future__ import annotations

import sys
from importlib import import_module

import pytest

from conftest import REPO

SCRIPTS = sorted(path.stem for path in (REPO / "bench").glob("*.py")
                 if "argparse.ArgumentParser(" in path.read_text(encoding="utf-8"))


def test_the_bench_scripts_with_options_are_found():
    assert {"eval_text", "findings_diff", "night"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_bench_script_help_has_an_example(script, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(REPO / "bench"))  # as when run as a script: some import their neighbours
    module = import_module(f"bench.{script}")  # its parser is built in main(); --help exits before any work
    monkeypatch.setattr(sys, "argv", [f"bench/{script}.py", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "Example: " in help_text and f"bench/{script}.py" in help_text.split("Example: ", 1)[1], help_text
