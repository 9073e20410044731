"""Reviewing findings: list and filter, dismiss/confirm/resolve with who, when and why; history kept."""
from __future__ import annotations

import json
import re

import pytest

from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.pipeline import Pipeline


@pytest.fixture
def audited(crawled_demo_config):
    """The demo board after its first nightly run."""
    app = load_app(crawled_demo_config)
    yield app
    app.close()


def _findings(capsys, config, *extra) -> list[dict]:
    capsys.readouterr()
    assert main(["--config", str(config), "findings", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_filters_select_by_school_account_category_and_status(audited, crawled_demo_config, capsys):
    everything = _findings(capsys, crawled_demo_config)
    assert {f["account"] for f in everything} >= {"birchwood-ps-news", "cedar-heights-news"}
    cedar = _findings(capsys, crawled_demo_config, "--school", "cedar-heights-ss")
    assert cedar and {f["account"] for f in cedar} <= {a.id for a in audited.registry.accounts
                                                          if a.school == "cedar-heights-ss"}
    one = _findings(capsys, crawled_demo_config, "--account", "birchwood-ps-news", "--category", "substances")
    assert one and all(f["account"] == "birchwood-ps-news" and f["category"] == "substances" for f in one)
    assert _findings(capsys, crawled_demo_config, "--status", "dismissed") == []
    assert _findings(capsys, crawled_demo_config, "--since", "2999-01-01") == []
    assert main(["--config", str(crawled_demo_config), "findings", "--category", "nonsense"]) == 2


def test_dismissal_records_who_when_why_and_survives_a_reaudit(audited, crawled_demo_config, capsys):
    target = _findings(capsys, crawled_demo_config, "--account", "birchwood-ps-news", "--category", "substances")[0]
    assert main(["--config", str(crawled_demo_config), "findings", "dismiss", str(target["id"]),
                 "--note", "staff-only event, no students", "--by", "j.smith"]) == 0
    assert f"#{target['id']}" in capsys.readouterr().out
    row = next(audited.store.db.query("SELECT * FROM findings WHERE id = ?", [target["id"]]))
    assert (row["status"], row["reviewed_by"], row["note"]) == ("dismissed", "j.smith", "staff-only event, no students")
    assert row["reviewed_at"]
    # Audit everything again (as after an auditor update): the dismissal stands.
    audited.store.db.execute("UPDATE posts SET audited_hash = NULL")
    audited.store.db.conn.commit()
    Pipeline(audited.settings, audited.policy, audited.store).run(audited.registry.accounts, show_progress=False)
    assert next(audited.store.db.query("SELECT status FROM findings WHERE id = ?", [target["id"]]))["status"] == "dismissed"
    assert target["id"] not in {f["id"] for f in _findings(capsys, crawled_demo_config)}
    assert target["id"] in {f["id"] for f in _findings(capsys, crawled_demo_config, "--status", "dismissed")}
    # Confirm after all, then look at the history.
    assert main(["--config", str(crawled_demo_config), "findings", "confirm", str(target["id"]), "--by", "k.lee"]) == 0
    steps = [(h.action, h.status_before, h.status, h.reviewed_by) for h in audited.store.review_history(target["id"])]
    assert steps == [("dismiss", "open", "dismissed", "j.smith"), ("confirm", "dismissed", "confirmed", "k.lee")]


def test_reviewer_defaults_to_user(audited, crawled_demo_config, capsys, monkeypatch):
    monkeypatch.setenv("USER", "principal.birchwood")
    target = _findings(capsys, crawled_demo_config)[0]
    assert main(["--config", str(crawled_demo_config), "findings", "resolve", str(target["id"]), "--note", "post edited"]) == 0
    assert "by principal.birchwood: post edited" in capsys.readouterr().out


def test_unknown_finding_is_reported(audited, crawled_demo_config, capsys):
    assert main(["--config", str(crawled_demo_config), "findings", "dismiss", "99999"]) == 2
    assert "no finding #99999" in capsys.readouterr().out


def test_confirmed_finding_whose_post_is_removed_becomes_resolved(demo_config, site_dir, capsys):
    audited = load_app(demo_config)
    Pipeline(audited.settings, audited.policy, audited.store).run(audited.registry.accounts, show_progress=False)
    target = next(f for f in _findings(capsys, demo_config, "--account", "birchwood-ps-news")
                  if f["post_url"].endswith("/staff-social"))
    assert main(["--config", str(demo_config), "findings", "confirm", str(target["id"]), "--note", "asked to remove"]) == 0
    feed = site_dir / "feeds" / "birchwood-ps.xml"
    text = feed.read_text()
    items = re.findall(r"<item>.*?</item>", text, re.DOTALL)
    staff = next(i for i in items if "/staff-social" in i)
    assert items.index(staff) < len(items) - 1, "the removed post must not be the oldest of the window"
    feed.write_text(text.replace(staff, ""))
    Pipeline(audited.settings, audited.policy, audited.store).run([audited.registry.get("birchwood-ps-news")],
                                                                   show_progress=False)
    row = next(audited.store.db.query("SELECT * FROM findings WHERE id = ?", [target["id"]]))
    assert row["status"] == "resolved" and "removed" in row["note"] and row["reviewed_by"] == "schoolaudit"
    assert [h.action for h in audited.store.review_history(target["id"])] == ["confirm", "resolve"]
    audited.close()
