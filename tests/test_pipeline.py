"""The spine end to end: registry -> crawl (local HTTP server) -> SQLite -> audit -> HTML report."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from records.findings import FindingQuery
from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.pipeline import Pipeline

from conftest import add_feed_account, stalling_server


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_demo_writes_report_and_records_every_account(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Report: {out / 'index.html'}" in printed
    index = (out / "index.html").read_text()
    assert "Maple Ridge District School Board" in index
    assert (out / "accounts" / "birchwood-ps-news.html").exists()
    outcomes = dict(_rows(out / "schoolaudit.db", "SELECT account_id, outcome FROM account_checks"))
    assert outcomes["pinecrest-athletics"] == "not_found"
    assert outcomes["pinecrest-news"] == "malformed"
    assert outcomes["birchwood-ps-news"] == "ok" and outcomes["cedar-robotics"] == "ok"
    assert outcomes["cedar-music"] == "ok" and outcomes["birchwood-library"] == "ok"  # Mastodon and Bluesky APIs
    reposts = {h for (h,) in _rows(out / "schoolaudit.db", "SELECT evidence FROM findings WHERE category = 'endorsement_repost'")}
    assert {"@harmonymusicstore@music.example", "@fairfundingnow.bsky.social"} <= reposts
    categories = {c for (c,) in _rows(out / "schoolaudit.db", "SELECT category FROM findings")}
    assert {"substances", "endorsement_repost"} <= categories


def test_rerun_on_unchanged_data_adds_nothing(crawled_demo_config):
    app = load_app(crawled_demo_config)
    tables = ("posts", "findings", "post_versions", "media")
    counts = [_rows(app.settings.database, f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    second = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
    again = [_rows(app.settings.database, f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    assert all(counts), "the first run stored posts, findings, versions and media"
    assert again == counts
    assert second.total("posts_new") == second.total("posts_changed") == second.total("findings_new") == 0
    app.close()


def test_edited_post_is_reaudited_and_keeps_its_earlier_version(demo_config, site_dir):
    app = load_app(demo_config)
    account = app.registry.get("cedar-heights-news")
    pipeline = Pipeline(app.settings, app.policy, app.store)
    pipeline.run([account], show_progress=False)
    feed = site_dir / "feeds" / "cedar-heights-ss.atom"
    feed.write_text(feed.read_text().replace(
        "Permission forms are due Friday.", "Permission forms are due Friday. Parents, join us after at the pub for a craft beer!"))
    summary = pipeline.run([account], show_progress=False)
    assert summary.results[0].posts_changed == 1
    (key,) = app.store.db.execute("SELECT key FROM posts WHERE url LIKE '%/field-trip'").fetchone()
    versions = app.store.db.execute("SELECT version, text FROM post_versions WHERE post_key = ? ORDER BY version", [key]).fetchall()
    assert [v for v, _ in versions] == [1, 2] and "beer" not in versions[0][1] and "beer" in versions[1][1]
    assert any(f.post_key == key and f.category == "substances" for f in app.store.findings(FindingQuery(account_ids=(account.id,))))
    app.close()


def test_untrusted_text_never_runs_as_html(demo_config, tmp_path):
    app = load_app(demo_config)
    Pipeline(app.settings, app.policy, app.store).run([app.registry.get("birchwood-ps-news")], show_progress=False)
    # A post whose text carries markup, flagged so that it appears in the report.
    (key,) = app.store.db.execute("SELECT key FROM posts WHERE url LIKE '%/staff-social'").fetchone()
    app.store.db["posts"].update(key, {"text": 'Cold beer <script>alert("x")</script><img src=x onerror=alert(1)>'})
    from schoolaudit.reporting import ReportBuilder
    html = ReportBuilder(app.settings, app.registry, app.store).write_account_report("birchwood-ps-news", tmp_path / "r").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    app.close()


def test_a_slow_account_times_out_and_the_others_complete(demo_config):
    # The stall is far longer than the timeout, and the timeout long enough for a loaded machine's
    # ordinary answers (tests run on every core at once).
    with stalling_server(10) as slow:
        add_feed_account(demo_config, "slow-club", f"{slow}/feed.xml")
        settings_toml = demo_config / "settings.toml"
        settings_toml.write_text(settings_toml.read_text().replace("timeout_seconds = 20", "timeout_seconds = 3"))
        app = load_app(demo_config)
        summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
        outcomes = {r.account.id: r.outcome for r in summary.results}
        assert outcomes["slow-club"] == "timeout"
        assert outcomes["birchwood-ps-news"] == "ok" and outcomes["cedar-heights-news"] == "ok"
        app.close()


def test_a_killed_run_leaves_work_the_next_run_finishes(demo_config):
    app = load_app(demo_config)
    account = app.registry.get("birchwood-council")
    pipeline = Pipeline(app.settings, app.policy, app.store)
    pipeline.run([account], show_progress=False)
    # Simulate a run killed after saving posts and before auditing them.
    app.store.db.execute("UPDATE posts SET audited_hash = NULL")
    app.store.db.execute("DELETE FROM findings")
    app.store.db.conn.commit()
    assert len(app.store.unaudited_posts(account.id)) == 2
    pipeline.run([account], show_progress=False)
    assert app.store.unaudited_posts(account.id) == []
    assert any(f.category == "substances" for f in app.store.findings(FindingQuery(account_ids=(account.id,))))
    app.close()


def test_audit_json_lists_findings_of_one_account(demo_config, capsys):
    assert main(["--config", str(demo_config), "audit", "birchwood-ps-news", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["account"] == "birchwood-ps-news" and document["outcome"] == "ok"
    assert Path(document["report"]).exists()
    finding = next(f for f in document["findings"] if f["category"] == "substances")
    assert finding["evidence"] and finding["explanation"] and finding["clause"].startswith("Do not post images")
    assert finding["post_url"].endswith("/staff-social")


def test_audit_of_an_unknown_account_says_so(demo_config, capsys):
    assert main(["--config", str(demo_config), "audit", "no-such-account"]) == 2
    assert "no account 'no-such-account'" in capsys.readouterr().out


def test_demo_server_answers_conditional_requests(demo_site):
    import httpx
    url = f"{demo_site.url}/bluesky/xrpc/app.bsky.feed.getAuthorFeed?actor=x"
    first = httpx.get(url)
    assert first.status_code == 200 and demo_site.url.encode() in first.content and b"{base}" not in first.content
    assert httpx.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_places_are_named_in_words():
    from reports.render import place_label
    assert place_label("alt:0") == "the description of image 1"
    assert place_label("image:2") == "image 3"
    assert place_label("text") == "the post text" and place_label("repost") == "the repost"


def test_account_report_shows_the_image_finding_with_the_face_blurred(demo_config, tmp_path):
    import base64
    import io
    import re

    import numpy as np
    from PIL import Image

    from schoolaudit.reporting import ReportBuilder

    app = load_app(demo_config)
    Pipeline(app.settings, app.policy, app.store).run([app.registry.get("mrdsb-news")], show_progress=False)
    finding = next(f for f in app.store.findings(FindingQuery(account_ids=("mrdsb-news",))) if f.category == "student_photo")
    assert finding.location == "image:0" and "face" in finding.evidence
    html = ReportBuilder(app.settings, app.registry, app.store).write_account_report("mrdsb-news", tmp_path).read_text()
    app.close()
    thumbnails = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(thumbnails) == 1, "the report shows the image as an inline thumbnail, nothing else"
    shown = Image.open(io.BytesIO(base64.b64decode(thumbnails[0]))).convert("L")
    original = Image.open(Path(__file__).parent.parent / "schoolaudit/demo/site/images/astronaut-visit.jpg").convert("L")
    original = original.resize(shown.size)
    scale = shown.width / 512  # the astronaut's face is near (178, 57, 95, 120) on the 512 px original
    box = tuple(round(v * scale) for v in (190, 75, 255, 160))
    face_shown, face_original = (np.asarray(img.crop(box), dtype=float) for img in (shown, original))
    corner_shown, corner_original = (np.asarray(img.crop((0, 0, 40, 40)), dtype=float) for img in (shown, original))
    assert face_shown.std() < face_original.std() / 3, "the face region is blurred"
    assert abs(corner_shown - corner_original).mean() < 12, "the rest of the picture is kept"
