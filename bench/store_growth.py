"""Measure the records core: statements per stored post, and reads that grow with history.

    .venv/bin/python bench/store_growth.py [--checks 1000000] [--accounts 2000]

Prints the SQL statements the store runs to save a 10-post account with one finding per post (its
posts, versions, findings and check: the crawl's write path), and the time of `latest_checks()`
(every account's last check, read by reports, digests and the web app) over a history of
`--checks` rows. The database is built once in a temporary folder.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from records.model import Account, Finding, Post, utcnow  # noqa: E402
from records.store import Store  # noqa: E402


def statements_per_account(store: Store) -> int:
    account = Account("bench-club", "Bench club", "club", "rss", "http://127.0.0.1/feed.xml", school="s")
    store.sync_accounts([account])
    posts = [Post(account.id, "rss", f"p{n}", f"http://127.0.0.1/p{n}", utcnow(), f"post {n}") for n in range(10)]
    run_id = store.start_run("bench")
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    with store.transaction():
        store.save_posts(account, posts)
    with store.transaction():
        for post in posts:
            store.save_findings(post, [Finding("substances", "high", "beer", "why", "clause", "bench")], run_id)
        store.record_check(run_id, account.id, "ok", "", len(posts))
    store.db.conn.set_trace_callback(None)
    return len(statements)


def latest_checks_ms(store: Store, accounts: int, checks: int) -> list[float]:
    store.sync_accounts(Account(f"a{i}", f"A{i}", "club", "rss", f"http://127.0.0.1/{i}", school="s")
                        for i in range(accounts))
    run_id = store.start_run("bench")
    with store.transaction():
        store.db.conn.executemany(
            "INSERT INTO account_checks (run_id, account_id, checked_at, outcome, detail, posts_seen) "
            "VALUES (?, ?, ?, 'ok', '', 3)",
            ((run_id, f"a{i % accounts}", f"2026-01-01T{i % 24:02d}:00") for i in range(checks)))
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        store.latest_checks()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/store_growth.py --checks 1000000 --accounts 2000")
    parser.add_argument("--checks", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.db")
        print(f"save a 10-post account with its findings and check: {statements_per_account(store)} SQL statements")
        timings = latest_checks_ms(store, args.accounts, args.checks)
        print(f"latest_checks() over {args.checks:,} checks of {args.accounts:,} accounts: "
              f"median {statistics.median(timings):.0f} ms (min {min(timings):.0f}, max {max(timings):.0f})")
        store.close()


if __name__ == "__main__":
    main()
