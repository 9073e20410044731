"""auditors.registry.audit_posts: each auditor's CPU is its own thread's, failing or not, and one auditor's failure
costs only its own findings."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from auditors.base import AuditContext
from auditors.registry import audit_posts
from records.model import Post
from schoolaudit.config import DEFAULT_CONFIG_DIR, load_policy


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class _Busy:
    """An auditor that spends `seconds` of CPU on each post, then flags it or fails."""

    categories = ("hostile",)

    def __init__(self, name: str, seconds: float, fails: bool = False, supplements: bool = False):
        self.name, self.seconds, self.fails, self.supplements = name, seconds, fails, supplements

    def audit(self, post, context, found=None):
        _spin(self.seconds)
        if self.fails:
            raise RuntimeError("broken auditor")
        return [context.finding("hostile", post.text, "Name-calling.", self.name)]


def test_each_auditor_is_charged_its_own_threads_cpu_failing_or_not():
    policy = load_policy(DEFAULT_CONFIG_DIR)
    post = Post("club", "rss", "1", None, datetime(2026, 3, 2, tzinfo=timezone.utc), "Some of you parents, honestly.")
    busy, broken = _Busy("busy", 0.05), _Busy("broken", 0.05, fails=True, supplements=True)
    stop = threading.Event()
    beside = threading.Thread(target=lambda: [_spin(0.01) for _ in iter(stop.is_set, True)], daemon=True)
    beside.start()  # another thread's CPU at the same time (an audit worker's image threads) is nobody's here
    cpu: dict[str, float] = {}
    try:
        findings = audit_posts([(post, AuditContext(policy))] * 2, [busy, broken], cpu)
    finally:
        stop.set()
        beside.join()
    assert [[f.auditor for f in post_findings] for post_findings in findings] == [["busy"], ["busy"]]
    assert set(cpu) == {"busy", "broken"}
    assert all(0.1 <= seconds < 0.2 for seconds in cpu.values()), cpu
    assert audit_posts([(post, AuditContext(policy))], [busy]) == [findings[0]]  # no `cpu`: nothing counted
