"""Digests by e-mail through a real SMTP server on 127.0.0.1: scope, both parts, inline images,
escaping, retries that never lose a digest, dry runs, and credentials that never leak."""
from __future__ import annotations

import re
from html import unescape

import pytest

from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.digest import accounts_in_scope
from schoolaudit.scheduler import run_job

from smtpserver import SmtpServer, parts, use_server

BOARD, BIRCHWOOD, CEDAR = "communications@example.org", "principal.birchwood@example.org", "principal.cedarheights@example.org"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def crawled(crawled_demo_config, smtp):
    """The demo board after its first nightly run, sending through `smtp`."""
    use_server(crawled_demo_config, smtp.port)
    app = load_app(crawled_demo_config)
    yield app
    app.close()


def _ids(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"#(\d+)", text)}


def test_each_recipient_gets_only_their_scope_with_text_html_and_inline_thumbnails(crawled, smtp):
    key = next(crawled.store.db.query("SELECT key FROM posts WHERE url LIKE '%/staff-social'"))["key"]
    crawled.store.db["posts"].update(key, {"text": 'Cold beer <script>alert("x")</script> at the staff social'})
    crawled.store.db.conn.commit()
    report = run_job(crawled, "weekly")
    assert report.status == "finished" and report.sent == 4 and report.failed == 0
    owner = {r["id"]: r["account_id"] for r in crawled.store.db.query("SELECT id, account_id FROM findings")}
    everything = {i for i, _ in owner.items()}
    for address, scope in ((BOARD, "board"), (BIRCHWOOD, "school:birchwood-ps"), (CEDAR, "school:cedar-heights-ss")):
        (message,) = smtp.inbox.to(address)
        text, html, images = parts(message)
        allowed = set(accounts_in_scope(crawled.registry, scope))
        shown = _ids(text)
        assert shown and shown == _ids(unescape(re.sub(r"<[^>]+>", "", html)))
        assert all(owner[i] in allowed for i in shown), f"{address} received findings outside {scope}"
        if scope == "board":
            assert shown == everything
        # Every image is an embedded, face-blurred thumbnail: no remote loads.
        sources = re.findall(r'<img[^>]+src="([^"]+)"', html)
        assert all(src.startswith("cid:") for src in sources)
        assert {src[4:] for src in sources} == set(images) and all(data[:2] == b"\xff\xd8" for data in images.values())
    birchwood_text, birchwood_html, birchwood_images = parts(smtp.inbox.to(BIRCHWOOD)[0])
    assert "Cedar Heights" not in birchwood_text and "Maple Ridge DSB News" not in birchwood_html
    assert "Pinecrest" not in birchwood_text  # its failing accounts are another school's
    assert birchwood_images  # the council's gala post carries a photo
    board_text, board_html, _ = parts(smtp.inbox.to(BOARD)[0])
    assert "<script>" not in board_html and "&lt;script&gt;alert(" in board_html
    assert '<script>alert("x")</script>' in board_text  # plain text is shown as text
    assert "Pinecrest Athletics" in board_text and "not found" in board_text  # accounts not checked, and why
    assert "https://www.example.org/birchwood/news/staff-social" in board_html  # link to the original post


def test_a_failed_send_is_retried_recorded_and_sent_by_the_next_run(crawled, smtp):
    smtp.inbox.fail = 100
    report = run_job(crawled, "weekly")
    assert report.sent == 0 and report.failed == 4
    rows = list(crawled.store.db.query("SELECT * FROM deliveries"))
    assert all(r["status"] == "failed" and r["attempts"] == 3 and "451" in r["last_error"] for r in rows)
    kept = {(r["recipient"], r["subject"]) for r in rows}
    smtp.inbox.fail = 0
    report = run_job(crawled, "weekly")  # nothing new this week, and last week's digest goes out at last
    assert report.failed == 0 and report.sent == 8
    arrived = {(rcpts[0], m["Subject"]) for rcpts, m in smtp.inbox.messages}
    assert kept <= arrived and {r for r, _ in kept} >= {BOARD, BIRCHWOOD, CEDAR}
    assert all(r["status"] == "sent" for r in crawled.store.db.query("SELECT status FROM deliveries"))


def test_dry_run_writes_eml_files_and_records_nothing(crawled, smtp, tmp_path, crawled_demo_config, capsys):
    out = tmp_path / "eml"
    assert main(["--config", str(crawled_demo_config), "run", "weekly", "--dry-run", str(out)]) == 0
    files = sorted(out.glob("*.eml"))
    assert len(files) == 4 and "Subject: [schoolaudit] Week:" in files[0].read_text()
    assert smtp.inbox.messages == []
    assert crawled.store.db.execute("SELECT count(*) FROM digests").fetchone()[0] == 0
    assert crawled.store.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


def _digests(inbox, address: str) -> list:
    """The nightly digests (not alerts) `address` received, in order."""
    return [m for m in inbox.to(address) if "ALERT" not in m["Subject"]]


def test_an_empty_digest_says_so_or_is_not_sent(crawled, smtp, crawled_demo_config):
    run_job(crawled, "nightly")
    (first,) = _digests(smtp.inbox, BOARD)
    assert "Nothing new" not in parts(first)[0]
    run_job(crawled, "nightly")
    assert "Nothing new since the last digest." in parts(_digests(smtp.inbox, BOARD)[-1])[0]
    use_server(crawled_demo_config, smtp.port, send_empty="false")
    app = load_app(crawled_demo_config)
    count = len(smtp.inbox.messages)
    run_job(app, "nightly")
    app.close()
    assert len(smtp.inbox.messages) == count


def test_alerts_carry_only_the_alert_categories_right_after_the_nightly_run(demo_config, smtp):
    use_server(demo_config, smtp.port, alert_categories='["substances"]')
    app = load_app(demo_config)
    run_job(app, "nightly")
    alerts = [m for _, m in smtp.inbox.messages if "ALERT" in m["Subject"]]
    assert {m["To"].addresses[0].addr_spec for m in alerts} == {BOARD, "superintendent@example.org", BIRCHWOOD, CEDAR}
    categories = dict(app.store.db.execute("SELECT id, category FROM findings").fetchall())
    for message in alerts:
        assert {categories[i] for i in _ids(parts(message)[0])} == {"substances"}
    run_job(app, "nightly")  # nothing new: no second alert
    assert len([m for _, m in smtp.inbox.messages if "ALERT" in m["Subject"]]) == len(alerts)
    app.close()


def test_credentials_come_from_the_environment_and_never_leak(demo_config, monkeypatch, tmp_path, caplog):
    secret = "s3cret-Pa55word"
    monkeypatch.setenv("SCHOOLAUDIT_SMTP_USER", "audit-bot")
    monkeypatch.setenv("SCHOOLAUDIT_SMTP_PASSWORD", secret)
    with SmtpServer(auth=True) as server:
        use_server(demo_config, server.port)
        app = load_app(demo_config)
        server.inbox.fail = 3  # every attempt fails once, with errors logged and recorded
        report = run_job(app, "nightly")
        assert report.failed == 1
        run_job(app, "weekly")
        assert server.inbox.logins and set(server.inbox.logins) == {("audit-bot", secret)}
        assert server.inbox.messages
        app.close()
    assert all(secret.encode() not in raw for raw in server.inbox.raw)
    assert secret.encode() not in app.settings.database.read_bytes()
    assert secret not in caplog.text


def test_a_permanent_refusal_is_recorded_and_never_retried(crawled, smtp):
    smtp.inbox.reject = 1
    report = run_job(crawled, "weekly")
    assert report.sent == 3 and report.failed == 1
    (refused,) = crawled.store.undelivered()
    assert refused.status == "rejected" and refused.attempts == 1 and "550" in refused.last_error
    run_job(crawled, "weekly")  # the next run does not try it again
    assert crawled.store.undelivered()[0].attempts == 1


def test_a_421_to_quit_after_the_server_took_the_message_sends_it_once(crawled, smtp):
    smtp.inbox.quit_answer = "421 4.3.2 shutting down"
    report = run_job(crawled, "weekly")
    assert report.sent == 4 and report.failed == 0
    run_job(crawled, "weekly")
    ids = [m["Message-ID"] for _, m in smtp.inbox.messages if "Week: " in m["Subject"]]
    assert len(ids) == len(set(ids)) == 8  # four this week, four the next; none twice


def test_a_delivery_cut_off_while_sending_goes_again_with_its_own_message_id(crawled, smtp):
    from records.model import DeliveryStatus

    run_job(crawled, "weekly")
    first = {m["Message-ID"] for _, m in smtp.inbox.messages}
    assert crawled.store.deliveries_to_send() == []
    sent = crawled.store.db.execute("SELECT id FROM deliveries ORDER BY id").fetchone()[0]
    crawled.store.mark_delivery(sent, DeliveryStatus.SENDING)  # as if killed after handing it over
    run_job(crawled, "weekly")
    again = [m["Message-ID"] for _, m in smtp.inbox.messages][len(first):]
    assert set(again) & first  # the same message, recognisable as such by its Message-ID
