"""The README documents every command and every setting; every command's --help has an example."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import import_module

import pytest

from schoolaudit.cli import main
from schoolaudit.commands import COMMANDS
from schoolaudit.config import DEFAULT_CONFIG_DIR

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_a_readme_section(command):
    assert re.search(rf"^### `?{re.escape(command)}\b", README, re.MULTILINE), f"README has no '### {command}' section"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_help_has_an_example(command, capsys):
    module = import_module(COMMANDS[command])
    assert module.EXAMPLE.startswith(f"schoolaudit ")
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"Example: {module.EXAMPLE}" in capsys.readouterr().out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_command_list_reads_each_commands_own_help_line(command):
    """`--help` reads HELP from the source without importing it; it must read what the module says."""
    from schoolaudit.cli import _summary

    assert _summary(COMMANDS[command]) == import_module(COMMANDS[command]).HELP != ""



@pytest.mark.parametrize("layout", [
    'HELP = "one line"\n',
    'HELP = (\n    "one "\n    "line"\n)\nEXAMPLE = "x"\n',
    'HELP = "one " \\\n    "line"  # why\n\nEXAMPLE = "x"\n',
    'EXAMPLE = "x"\nHELP = "one line"',  # the file's last line, without a newline
])
def test_the_help_line_is_read_in_any_layout_python_allows(layout, tmp_path, monkeypatch):
    from schoolaudit.cli import _summary

    (tmp_path / "laid_out_command.py").write_text(layout, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _summary("laid_out_command") == "one line"


def _keys(table: dict, prefix: str = ""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


@pytest.mark.parametrize("key", list(_keys(tomllib.loads((DEFAULT_CONFIG_DIR / "settings.toml").read_text()))))
def test_every_setting_is_documented(key):
    assert f"`{key}`" in README, f"README does not document the setting `{key}`"


@pytest.mark.parametrize("key", ["id", "name", "kind", "school", "platform", "url", "handle", "contacts", "api_base"])
def test_every_account_key_is_documented(key):
    section = README.split("### accounts.toml", 1)[1].split("\n### ", 1)[0]
    assert f"`{key}`" in section


def test_help_lists_every_command_without_importing_the_heavy_libraries():
    # `schoolaudit --help` is the first thing a person types: it reads each command's HELP from the
    # source and imports none of the libraries a run needs.
    probe = ("import sys, contextlib, io\nfrom schoolaudit.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n    main(['--help'])\n"
             "heavy = [m for m in ('sqlite_utils', 'httpx', 'numpy', 'onnxruntime', 'argon2', 'apscheduler', "
             "'auditors.text', 'starlette') if m in sys.modules]\nprint(heavy)\nprint(out.getvalue())")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    heavy, _, shown = result.stdout.partition("\n")
    assert heavy == "[]"
    assert all(f"    {command}" in shown for command in COMMANDS)


def _rule_file_keys():
    from schoolaudit.config.policy import EXTRA_KEYS, RULE, TEXT_RULES
    return sorted({*RULE.keys, *TEXT_RULES, *(key for extra in EXTRA_KEYS.values() for key in extra)} - {"rules", "image"})


@pytest.mark.parametrize("key", _rule_file_keys())
def test_every_rules_file_key_is_in_the_readme_table(key):
    """`rules` is the `[[rules]]` list the section describes; `image` is the image section's (student_photo.toml)."""
    section = README.split("### Text rules (rules/<category>.toml)", 1)[1].split("\n### ", 1)[0]
    documented = " ".join(line.split("|")[1] for line in section.splitlines() if line.startswith("| `"))
    assert f"`{key}`" in documented, f"README's rules-file table does not document `{key}`"
