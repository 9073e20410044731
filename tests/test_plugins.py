"""Plugins: a real distribution (tests/fixtures/plugin) adds a platform, an auditor and a command
through entry points; another (tests/fixtures/plugin_broken) fails on import and must cost only itself.

Both are installed with pip (no network, no build isolation) into a folder that is put on the path.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from auditors.registry import AUDITORS, _placed, load_auditors
from localserver import LocalServer
from records.findings import FindingQuery
from records.store import Store
from schoolaudit.cli import main
from schoolaudit.config import DEFAULT_CONFIG_DIR, load_policy, load_settings
from schoolaudit.demo import write_demo_config

pytestmark = pytest.mark.packaging

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOTICES = """Welcome back! The library opens at 8:00 on Monday.

Whoever parked across the bus loop again: only nincompoops block the buses.

Picture day is Thursday; forms went home in backpacks.
"""
MISSING = "ModuleNotFoundError: No module named 'a_dependency_that_is_not_installed'"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    """Both fixture plugins installed (pip install --target) in one folder, as a user would install them."""
    root = tmp_path_factory.mktemp("plugins")
    sources = [shutil.copytree(FIXTURES / name, root / "src" / name) for name in ("plugin", "plugin_broken")]
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                              "--no-index", "--target", str(root / "site"), *map(str, sources)],
                             capture_output=True, text=True)
    assert install.returncode == 0, f"pip install failed (is the test extra installed?):\n{install.stderr}"
    return root / "site"


def _config(tmp_path: Path, notices_url: str) -> Path:
    """A board with a `textfile` account (the plugin's platform), a `brokenplatform` one, and a word list."""
    config = write_demo_config(tmp_path / "run", notices_url)
    (config / "accounts.toml").write_text(f'''[board]
id = "mrdsb"
name = "Maple Ridge District School Board"

[[accounts]]
id = "board-notices"
name = "Board notice board"
kind = "board"
platform = "textfile"
url = "{notices_url}/notices.txt"

[[accounts]]
id = "board-broken"
name = "An account on a platform whose plugin is broken"
kind = "board"
platform = "brokenplatform"
handle = "someone"
''')
    (config / "recipients.toml").write_text('[[recipients]]\nemail = "communications@example.org"\n'
                                            'scope = "board"\ndigests = ["nightly"]\n')
    (config / "rules" / "wordwatch.toml").write_text('words = ["nincompoops", "ninnies"]\n')
    return config


def test_a_plugin_platform_is_crawled_and_a_plugin_auditor_finding_is_stored(plugin_path, tmp_path):
    routes = {"/notices.txt": (200, {"Content-Type": "text/plain; charset=utf-8"}, NOTICES)}
    with LocalServer(routes) as server:
        config = _config(tmp_path, server.url)
        result = subprocess.run(
            [sys.executable, "-m", "schoolaudit.cli", "--config", str(config), "run", "nightly",
             "--dry-run", str(tmp_path / "mail")],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(plugin_path)},
            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 accounts checked, 1 could not be checked" in result.stdout
    assert f"auditor broken disabled: plugin schoolaudit_broken:BrokenAuditor failed to load ({MISSING})" \
        in result.stderr

    store = Store(load_settings(config).database)
    try:
        findings = store.findings(FindingQuery(account_ids=("board-notices",)))
        checks = {check.id: check for check in store.latest_checks()}
    finally:
        store.close()
    assert [(f.auditor, f.category, f.evidence) for f in findings] == [("wordwatch", "hostile", "nincompoops")]
    assert (checks["board-notices"].outcome, checks["board-notices"].posts_seen) == ("ok", 3)
    assert (checks["board-broken"].outcome, checks["board-broken"].detail) == (
        "error", f"platform 'brokenplatform' is off: its plugin schoolaudit_broken:BrokenSource "
                 f"failed to load ({MISSING})")


def test_plugin_auditors_run_before_the_supplements_and_a_broken_one_is_off(plugin_path, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(plugin_path))
    config = shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path / "config")
    (config / "rules" / "wordwatch.toml").write_text('words = ["nincompoops"]\n')
    ready, disabled = load_auditors(load_policy(config))
    names = [auditor.name for auditor in ready]
    assert names[-2:] == ["wordwatch", "text_model"]
    assert disabled["broken"] == f"plugin schoolaudit_broken:BrokenAuditor failed to load ({MISSING})"


def test_a_plugin_auditor_runs_just_before_the_auditor_it_names_in_runs_before():
    builtin = [EntryPoint(row, row, "schoolaudit.auditors").load() for row in AUDITORS]

    class EarlyAuditor:
        name, categories, runs_before = "early", ("hostile",), "hostile"

    order = [cls.name for cls in _placed(builtin, [EarlyAuditor])]
    assert order[order.index("early") + 1] == "hostile"


def test_a_plugin_command_runs_and_a_broken_one_is_reported_in_one_line(plugin_path, monkeypatch, tmp_path, capsys):
    monkeypatch.syspath_prepend(str(plugin_path))
    config = shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path / "config")
    (config / "rules" / "wordwatch.toml").write_text('words = ["nincompoops", "ninnies"]\n')
    assert main(["--config", str(config), "wordwatch"]) == 0
    out, err = capsys.readouterr()
    assert out.split() == ["nincompoops", "ninnies"]
    assert err == f"schoolaudit: command 'broken' is off: its plugin schoolaudit_broken failed to load ({MISSING})\n"
