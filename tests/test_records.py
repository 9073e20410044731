"""The records core: the only code with SQL, and each operation that must be atomic is one.

The kill tests run an operation in a child process that kills itself (SIGKILL) at a chosen SQL
statement, half-way through the operation, then look at what the database kept.
"""
from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from records.findings import FindingQuery
from records.model import (Account, DeliveryStatus, DigestRange, Finding, FindingStatus, OutgoingMessage, Post,
                           utcnow)
from records.errors import StoreBusy
from records.store import Store

REPO = Path(__file__).resolve().parents[1]

KILLED_AT = """
import os, re, signal, sys
from records.store import Store
store = Store(sys.argv[1])
pattern = re.compile(sys.argv[2])
seen = 0
def trace(sql):
    global seen
    if pattern.search(sql):
        seen += 1
        if seen == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)
store.db.conn.set_trace_callback(trace)
exec(sys.argv[4])
"""


def killed_at(database: Path, statement: str, operation: str, occurrence: int = 1) -> int:
    """Run `operation` (Python, with `store` open on `database`) in a child that dies at `statement`."""
    child = subprocess.run([sys.executable, "-c", KILLED_AT, str(database), statement, str(occurrence), operation],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    return child.returncode


ACCOUNT = Account("club", "Chess club", "club", "rss", "http://127.0.0.1/feed.xml", school="birchwood-ps")


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "records.db")
    store.sync_accounts([ACCOUNT])
    yield store
    store.close()


def _post(n: int, text: str = "Cold beer at the staff social") -> Post:
    return Post("club", "rss", f"p{n}", f"http://127.0.0.1/p{n}", utcnow(), text)


def _finding(evidence: str = "Cold beer") -> Finding:
    return Finding("substances", "high", evidence, "Alcohol at a school event.", "No alcohol.", "substances")


def _one_finding(store: Store) -> int:
    post = _post(1)
    store.save_posts(ACCOUNT, [post])
    return store.save_findings(post, [_finding()], run_id=0)[0]


def test_no_module_outside_records_contains_sql():
    sql = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+"
                     r"(TABLE|INDEX)|PRAGMA)\b|^\s*import sqlite3|^\s*from sqlite3|sqlite_utils|\.execute\(",
                     re.MULTILINE)
    offenders = [f"{path.relative_to(REPO)}:{text[:m.start()].count(chr(10)) + 1}: {m.group(0)}"
                 for folder in ("crawler", "auditors", "reports", "schoolaudit")
                 for path in sorted((REPO / folder).rglob("*.py"))
                 for text in [path.read_text(encoding="utf-8")] for m in sql.finditer(text)]
    assert offenders == []


def test_a_decision_killed_before_its_history_row_leaves_neither(store):
    finding_id = _one_finding(store)
    operation = f"store.record_decision({finding_id}, 'dismiss', by='j.smith', note='consent on file')"
    assert killed_at(store.path, r'INSERT INTO ["\[]?reviews', operation) == -9
    assert store.finding(finding_id).status is FindingStatus.OPEN
    assert store.review_history(finding_id) == []
    assert killed_at(store.path, r"^$", operation) == 0  # the same decision, not killed: both are kept
    assert store.finding(finding_id).status is FindingStatus.DISMISSED
    assert [(h.action, h.status_before, h.reviewed_by) for h in store.review_history(finding_id)] == \
        [("dismiss", "open", "j.smith")]


def test_a_digest_killed_while_queueing_its_messages_keeps_its_range_unreported(store):
    _one_finding(store)
    operation = ("from records.model import DigestRange, OutgoingMessage\n"
                 "store.queue_digest(DigestRange('nightly', 0, 1), [OutgoingMessage(f'r{n}@example.org', 's', 'm', "
                 "f'<{n}@schoolaudit>') for n in range(3)], None)")
    assert killed_at(store.path, r'INSERT INTO ["\[]?deliveries', operation, occurrence=2) == -9
    assert store.last_digest("nightly") is None and store.deliveries_to_send() == []
    assert killed_at(store.path, r"^$", operation) == 0
    assert store.last_digest("nightly") == DigestRange("nightly", 0, 1)
    assert [d.recipient for d in store.deliveries_to_send()] == ["r0@example.org", "r1@example.org", "r2@example.org"]


def test_an_account_killed_between_its_findings_and_its_check_is_audited_by_the_next_run(store):
    post = _post(1)
    store.save_posts(ACCOUNT, [post])
    run_id = store.start_run("nightly")
    operation = ("from tests.test_records import ACCOUNT, _finding, _post\n"
                 "with store.transaction():\n"
                 f"    store.save_findings(_post(1), [_finding()], {run_id})\n"
                 f"    store.record_check({run_id}, 'club', 'ok', '', 1)\n")
    assert killed_at(store.path, r'INSERT INTO ["\[]?account_checks', operation) == -9
    assert store.findings(FindingQuery()) == [] and store.latest_checks()[0].outcome is None
    assert [p.key for p in store.unaudited_posts()] == [post.key]  # left for the next run, not lost
    assert store.integrity_ok()


def test_an_accounts_audits_are_saved_together_and_a_kill_half_way_keeps_none(store):
    posts = [_post(1), _post(2), _post(3, "Library week")]
    store.save_posts(ACCOUNT, posts)
    audits = [(posts[0], [_finding()]), (posts[1], [_finding(), _finding("Cold")]), (posts[2], [])]
    operation = ("from tests.test_records import _finding, _post\n"
                 "store.save_audits([(_post(1), [_finding()]), (_post(2), [_finding(), _finding('Cold')]),"
                 " (_post(3, 'Library week'), [])], 0)\n")
    assert killed_at(store.path, r'UPDATE ["\[]?posts', operation) == -9  # findings written, posts not yet marked
    assert store.findings(FindingQuery()) == [] and len(store.unaudited_posts()) == 3
    new_ids = store.save_audits(audits, run_id=0)
    assert len(new_ids) == 3 and store.unaudited_posts() == []
    assert sorted((f.post_key, f.evidence) for f in store.findings(FindingQuery())) == [
        (posts[0].key, "Cold beer"), (posts[1].key, "Cold"), (posts[1].key, "Cold beer")]
    # seen again, one no longer produced: nothing new, that one made inactive, the others kept
    assert store.save_audits([(posts[0], [_finding()]), (posts[1], [_finding("Cold")])], run_id=1) == []
    assert sorted((f.post_key, f.evidence) for f in store.findings(FindingQuery())) == [
        (posts[0].key, "Cold beer"), (posts[1].key, "Cold")]


def test_a_dead_holders_runs_are_closed_when_the_lock_is_taken_over(store, demo_config):
    from schoolaudit.lock import RunLock

    run_id = store.start_run("nightly")
    store.db["locks"].insert({"name": "run", "token": "dead", "holder_pid": 2 ** 22 + 7, "host": RunLock(store).host,
                              "started_at": utcnow().isoformat(), "heartbeat": utcnow().isoformat(), "purpose": "x"})
    with RunLock(store):
        pass
    run = store.run(run_id)
    assert run.status == "interrupted" and run.finished_at and "ended without finishing" in run.detail


def test_a_writer_waits_for_another_writer_instead_of_failing(tmp_path):
    first, second = Store(tmp_path / "busy.db"), Store(tmp_path / "busy.db", busy_timeout_ms=10_000)
    first.sync_accounts([ACCOUNT])
    holding, done = threading.Event(), []

    def hold():
        with first.transaction():
            first.db.execute("UPDATE accounts SET name = 'held' WHERE id = 'club'")
            holding.set()
            threading.Event().wait(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    second.sync_accounts([ACCOUNT])  # waits for the first transaction, then writes
    done.append(True)
    holder.join()
    assert done and second.latest_checks()[0].name == "Chess club"
    impatient = Store(tmp_path / "busy.db", busy_timeout_ms=50)
    with first.transaction():
        first.db.execute("UPDATE accounts SET name = 'held' WHERE id = 'club'")
        with pytest.raises(StoreBusy, match="another schoolaudit process is writing"):
            impatient.sync_accounts([ACCOUNT])
    for s in (first, second, impatient):
        s.close()


def test_resolving_a_resolved_finding_adds_no_second_history_row(store):
    finding_id = _one_finding(store)
    store.record_decision(finding_id, "resolve", by="a", note="edited")
    store.record_decision(finding_id, "resolve", by="b", note="edited")
    assert [h.reviewed_by for h in store.review_history(finding_id)] == ["a"]


def test_edit_time_is_stored_with_each_version(store):
    post = _post(1, "Chess club meets Tuesday")
    store.save_posts(ACCOUNT, [post])
    edited = _post(1, "Chess club meets Wednesday")
    edited.edited_at = utcnow()
    store.save_posts(ACCOUNT, [edited])
    versions = store.post_versions(post.key)
    assert [v.edited_at for v in versions] == [None, edited.edited_at.isoformat()]
    assert store.post_records([post.key])[0].edited_at == edited.edited_at.isoformat()


def test_a_feed_listing_only_its_oldest_item_removes_nothing_newer(store):
    posts = [_post(n, f"post {n}") for n in range(3)]
    for n, post in enumerate(posts):
        post.created_at = utcnow().replace(year=2025, month=1, day=n + 1)
    store.save_posts(ACCOUNT, posts)
    store.save_posts(ACCOUNT, posts[:1])  # a hiccup: only the oldest item
    assert [p.removed_at for p in store.post_records([p.key for p in posts])] == [None, None, None]
    store.save_posts(ACCOUNT, [posts[0], posts[2]])  # the middle one left its window
    removed = {p.key: p.removed_at for p in store.post_records([p.key for p in posts])}
    assert removed[posts[1].key] and not removed[posts[0].key] and not removed[posts[2].key]


def test_deliveries_go_pending_sending_sent(store):
    store.queue_digest(DigestRange("weekly", 0, 0), [OutgoingMessage("a@example.org", "s", "m", "<1@x>")], None)
    (delivery,) = store.deliveries_to_send()
    store.mark_delivery(delivery.id, DeliveryStatus.SENDING, attempted=True)
    assert store.deliveries_to_send()[0].status is DeliveryStatus.SENDING  # a kill here: sent again, same id
    store.mark_delivery(delivery.id, DeliveryStatus.SENT)
    assert store.deliveries_to_send() == [] and store.undelivered() == []
