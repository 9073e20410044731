"""The road of a new user from the demo to their own board (issue 14): each point as a user meets it."""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from schoolaudit.cli import main
from schoolaudit.config import DEFAULT_CONFIG_DIR, load_folder, load_settings
from schoolaudit.demo import DemoSite
from schoolaudit.digest import load_recipients

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    """One finished `schoolaudit demo` (its server is gone afterwards, as for a user): (folder, its output)."""
    out = tmp_path_factory.mktemp("demo") / "schoolaudit-demo"
    code, printed, _ = run("demo", "--out", str(out))
    assert code == 0
    return out, printed


def test_version():
    with pytest.raises(SystemExit) as exit_:
        with contextlib.redirect_stdout(buffer := io.StringIO()):
            main(["--version"])
    assert exit_.value.code == 0 and buffer.getvalue() == f"schoolaudit {version('schoolaudit')}\n"


def test_demo_says_the_config_to_keep_using_and_commands_take_options_after_them(demo):
    folder, printed = demo
    config = folder / "config"
    assert f"keep using it with --config, e.g. `schoolaudit findings --config {config}`" in printed
    code, out, err = run("findings", "--config", str(config))  # the option after the command
    assert code == 0 and out.splitlines()[0].split() == ["ID", "SEVERITY", "STATUS", "ACCOUNT", "CATEGORY",
                                                         "FIRST", "SEEN", "EVIDENCE"]
    assert err == f"schoolaudit: configuration {config}, database {folder / 'schoolaudit.db'}\n"
    code, _, _ = run("accounts", "list", "--config", str(config))  # and after a sub-command
    assert code == 0


def test_a_command_on_the_bundled_example_says_so(data_dir):
    code, out, err = run("findings")
    assert code == 0 and out == "No findings match.\n"
    assert err == (f"schoolaudit: configuration {DEFAULT_CONFIG_DIR} (the bundled example; pass --config DIR for "
                   f"yours), database {data_dir / 'schoolaudit.db'}\n")


def test_default_data_folder_is_the_platform_one_not_beside_the_config(tmp_path, data_dir):
    etc = tmp_path / "etc" / "schoolaudit"
    etc.mkdir(parents=True)
    (etc / "settings.toml").write_text("[board]\nname = \"Board\"\n")
    settings = load_settings(etc)
    assert settings.database == data_dir / "schoolaudit.db" and settings.reports_dir == data_dir / "reports"
    (etc / "settings.toml").write_text("[storage]\ndatabase = \"db/x.db\"\n")  # given: relative to the folder
    assert load_settings(etc).database == etc / "db" / "x.db"


def test_audit_on_the_demo_config_after_the_demo_is_one_line(demo):
    folder, _ = demo
    code, out, err = run("audit", "mrdsb-news", "--config", str(folder / "config"))
    assert code == 1 and out == ""
    assert err.splitlines()[1] == (f"schoolaudit: {folder / 'config'} is the demo board's configuration; the demo "
                                   "board's server runs only during `schoolaudit demo` (run it again, or audit "
                                   "your own accounts with --config DIR)")


def test_findings_table_decisions_and_show(demo, tmp_path):
    config = str(demo[0] / "config")
    _, out, _ = run("findings", "--config", config)
    rows = [line for line in out.splitlines() if line.startswith("#")]
    assert rows and all(len(line.split("  ")[-1]) <= 50 for line in rows)
    first, second = (line.split()[0] for line in rows[:2])
    code, out, _ = run("findings", "dismiss", first, second.lstrip("#"), "--note", "consent on file", "--by", "it",
                       "--config", config)
    assert code == 0 and out.count("is now dismissed, by it: consent on file") == 2
    code, out, _ = run("findings", "show", first, "--config", config)
    assert code == 0 and out.startswith(f"Finding {first}: ")
    for label in ("Account:", "Evidence:", "Where:", "Why:", "Procedure:", "Post:", "Posted:"):
        assert f"  {label}" in out
    assert "dismiss by it (open -> dismissed): consent on file" in out
    code, out, _ = run("findings", "dismiss", "#99999", "--config", config)
    assert code == 2 and out == "schoolaudit: no finding #99999 (see `schoolaudit findings`)\n"


def test_findings_table_fits_a_narrow_terminal():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from records.model import FindingRecord, FindingStatus
    from schoolaudit.commands.findings import findings_table

    now = datetime(2025, 9, 3, 12, tzinfo=timezone.utc).isoformat()
    record = FindingRecord(7, "f", "k", "some-account", "hostile", "high", "word " * 40, "", "", "text", "text", None,
                           FindingStatus.OPEN, True, now, now, 1, post_url="https://example.org/p",
                           post_removed_at=now)
    zone = ZoneInfo("America/Toronto")
    wide, narrow = findings_table([record], zone, 1000), findings_table([record], zone, 100)
    assert wide.splitlines()[1].endswith("  " + "word " * 9 + "word…")  # 50 characters
    assert max(len(line) for line in narrow.splitlines()[:2]) <= 100
    assert "open (post removed)" in wide


def test_piping_into_head_ends_quietly(demo):
    process = subprocess.Popen([sys.executable, "-m", "schoolaudit.cli", "findings", "--status", "all",
                                "--config", str(demo[0] / "config")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line is written
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err


def test_one_json_vocabulary(demo):
    config = str(demo[0] / "config")
    _, out, _ = run("findings", "--json", "--status", "all", "--config", config)
    findings = json.loads(out)
    assert findings and {"id", "account", "school", "category", "severity", "status", "evidence", "where",
                         "post_url", "post_created_at", "first_seen"} <= set(findings[0])
    assert all(ISO_WITH_OFFSET.match(f["first_seen"]) for f in findings)
    _, out, _ = run("export", "--config", config)
    document = json.loads(out)
    with_media = [p for p in document["posts"] if p["media"]]
    assert with_media and all(isinstance(p["media"], list) for p in document["posts"])
    paths = [m["path"] for p in with_media for m in p["media"] if m.get("path")]
    assert paths and all(re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}\.\w+", path) for path in paths)
    assert any(isinstance(p["repost_of"], dict) for p in document["posts"])
    assert "where" in document["findings"][0] and "location" not in document["findings"][0]
    assert ISO_WITH_OFFSET.match(document["exported_at"]) and ISO_WITH_OFFSET.match(document["posts"][0]["created_at"])


def test_audit_json_follows_its_contract(demo_config):
    code, out, _ = run("audit", "birchwood-ps-news", "--json", "--config", str(demo_config))
    document = json.loads(out)
    assert code == 0 and set(document) == {"account", "outcome", "detail", "report", "findings"}
    finding = document["findings"][0]
    assert list(finding) == ["id", "category", "severity", "evidence", "explanation", "clause", "where", "status",
                             "post_url", "post_created_at"]
    assert ISO_WITH_OFFSET.match(finding["post_created_at"])


def test_reports_for_a_failed_account_and_the_board(demo):
    folder, _ = demo
    failed = (folder / "accounts" / "pinecrest-news.html").read_text()
    assert "This account could not be checked" in failed and "the site sent something we could not read" in failed
    assert "It has never been read, so it has never been audited." in failed
    assert "Nothing to review: no open findings" not in failed
    assert 'href="../index.html"' in failed  # back to the board
    index = (folder / "index.html").read_text()
    assert '<img src="data:image/jpeg;base64,' in index  # thumbnails, as on account pages
    assert re.search(r"checked<br><span class=\"muted\">\d{4}-\d\d-\d\d \d\d:\d\d", index)  # the time of the check


def test_board_index_fits_a_phone(demo):
    chromium = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with chromium.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto((demo[0] / "index.html").as_uri())
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        count_box = page.locator("table.accounts td.count").first.bounding_box()
        browser.close()
    assert scroll_width <= 390 and count_box["x"] + count_box["width"] <= 390


def test_summary_counts_in_words(demo):
    printed = demo[1]
    assert "1 new findings" not in printed and re.search(r"\b1 new finding\b", printed)


def test_account_contacts_receive_their_accounts_digests(tmp_path):
    config = shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path / "config")
    accounts = (config / "accounts.toml").read_text()
    (config / "accounts.toml").write_text(accounts.replace('contacts = ["principal.cedarheights@example.org"]',
                                                           'contacts = ["arts.head@example.org"]', 1))
    folder = load_folder(config)
    recipients = load_recipients(folder.settings, folder.registry)
    added = [(r.email, r.scope) for r in recipients if r not in folder.recipients]
    # a contact whom recipients.toml names (communications@, principal.birchwood@) keeps what it says there
    assert added == [("arts.head@example.org", "account:cedar-heights-news")]
    settings = (config / "settings.toml").read_text().replace("account_contacts = true", "account_contacts = false")
    (config / "settings.toml").write_text(settings)
    folder = load_folder(config)
    assert load_recipients(folder.settings, folder.registry) == folder.recipients


def test_demo_site_is_gone_after_the_demo(tmp_path):
    """The check the audit relies on: a stopped demo server is seen as gone, a running one is not."""
    from schoolaudit.demo import demo_server_gone, write_demo_config

    with DemoSite() as site:
        config = write_demo_config(tmp_path, site.url)
        assert demo_server_gone(config) is None
    assert "runs only during `schoolaudit demo`" in demo_server_gone(config)
