"""`schoolaudit export`: posts, versions, findings and reviews since a date, as CSV or JSON."""
from __future__ import annotations

import csv
import json

from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.export import write_csv
from schoolaudit.review import review


def test_export_json_and_csv_carry_posts_findings_and_reviews(crawled_demo_config, tmp_path, capsys):
    demo_config = crawled_demo_config
    app = load_app(demo_config)
    finding_id = next(app.store.db.query("SELECT id FROM findings ORDER BY id"))["id"]
    review(app.store, finding_id, "dismiss", "consent on file, «ok»", by="j.smith")
    posts = app.store.db.execute("SELECT count(*) FROM posts").fetchone()[0]
    findings = app.store.db.execute("SELECT count(*) FROM findings").fetchone()[0]
    app.close()

    assert main(["--config", str(demo_config), "export", "--since", "2000-01-01", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["posts"]) == posts and len(document["findings"]) == findings
    assert document["reviews"][0]["note"] == "consent on file, «ok»" and document["reviews"][0]["finding_id"] == finding_id
    assert len(document["post_versions"]) >= posts
    assert document["board"] == "Maple Ridge District School Board"

    out = tmp_path / "request"
    assert main(["--config", str(demo_config), "export", "--format", "csv", "--out", str(out)]) == 0
    with (out / "findings.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == findings and {"evidence", "clause", "status", "reviewed_by"} <= set(rows[0])
    assert next(r for r in rows if int(r["id"]) == finding_id)["status"] == "dismissed"
    with (out / "posts.csv").open(encoding="utf-8-sig") as handle:
        assert len(list(csv.DictReader(handle))) == posts

    assert "Exported" in capsys.readouterr().out
    assert main(["--config", str(demo_config), "export", "--since", "2999-01-01"]) == 0
    future = json.loads(capsys.readouterr().out)
    assert future["posts"] == [] and future["findings"] == []
    assert main(["--config", str(demo_config), "export", "--since", "yesterday"]) == 2


def test_csv_cells_that_a_spreadsheet_would_run_are_made_inert(tmp_path):
    texts = ["=HYPERLINK(\"http://x.example\",\"click\")", "+1-555", "-2+3", "@SUM(A1)", "\tindent", "\rreturn",
             "plain =1+1", ""]
    rows = [{"post_key": f"a:{i}", "version": -i, "seen_at": None, "title": text, "text": text, "media": "[]",
             "repost_of": None} for i, text in enumerate(texts)]
    (path,) = write_csv({"post_versions": rows}, tmp_path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [r["text"] for r in written] == ["'" + t for t in texts[:6]] + ["plain =1+1", ""]
    assert [r["version"] for r in written] == [str(-i) for i in range(len(texts))]  # numbers are not text
