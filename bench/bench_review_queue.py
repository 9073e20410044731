"""The review queue on 10,000 findings: one page, its counts, and a school-scoped page (target: < 200 ms each).

    .venv/bin/python bench/bench_review_queue.py
"""
from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from records import queue
from records.model import CATEGORIES, Account, Finding, Post
from records.store import Store

SCHOOLS = [f"school-{n}" for n in range(40)]


def build(path: Path, findings: int = 10_000) -> Store:
    store = Store(path)
    accounts = [Account(f"acct-{n}", f"Account {n}", "school", "rss", f"https://x/{n}", SCHOOLS[n % 40])
                for n in range(200)]
    store.sync_accounts(accounts)
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with store.transaction():
        for n in range(findings):
            account = accounts[n % len(accounts)]
            post = Post(account.id, "rss", f"p{n}", f"https://x/p{n}", start + timedelta(minutes=n), f"post {n}")
            store.save_posts(account, [post], complete_window=False)
            store.save_findings(post, [Finding(rng.choice(CATEGORIES), rng.choice(("low", "medium", "high")),
                                               f"evidence {n}", "why", "clause", "bench")], run_id=1)
    return store


def timed(label: str, action) -> None:
    began = time.perf_counter()
    result = action()
    print(f"{label:<40} {1000 * (time.perf_counter() - began):7.1f} ms  ({len(result)} rows)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        store = build(Path(folder) / "bench.db")
        flt = queue.QueueFilter(status="open")
        timed("board: first page, most severe first", lambda: queue.queue(store, "board", flt))
        timed("board: counts per filter", lambda: queue.counts(store, "board", flt))
        timed("board: page 100", lambda: queue.queue(store, "board", flt, offset=99 * queue.PAGE_SIZE))
        timed("school-7: first page", lambda: queue.queue(store, "school:school-7", flt))
        timed("school-7: counts per filter", lambda: queue.counts(store, "school:school-7", flt))
        timed("board: findings.json (all 10,000)", lambda: queue.queue(store, "board", flt, limit=None))
