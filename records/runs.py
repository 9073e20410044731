"""Runs and their ledger (each account's check), the run lock, and the schedule's memory."""
from __future__ import annotations

from datetime import datetime

from records.model import AccountCheck, LockRecord, RunRecord, ScheduleState, utcnow
from records.rows import insert, record, records, update, upsert


class LockTaken(Exception):
    """The lock is held by a live holder; `holder` says who."""

    def __init__(self, holder: LockRecord):
        super().__init__(holder.purpose or holder.name)
        self.holder = holder


class RunsPart:
    # -- runs and checks ---------------------------------------------------------------------

    def start_run(self, kind: str) -> int:
        with self.transaction():
            return insert(self.db, "runs", {"kind": kind, "started_at": utcnow().isoformat(), "status": "running",
                                           "accounts_ok": 0, "accounts_failed": 0, "posts_new": 0,
                                           "posts_changed": 0, "findings_new": 0})

    def finish_run(self, run_id: int, status: str = "finished", detail: str = "", **counts: int) -> None:
        with self.transaction():
            update(self.db, "runs", "id", run_id, {"finished_at": utcnow().isoformat(), "status": status,
                                            "detail": detail, **counts})

    def add_run_detail(self, run_id: int, detail: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET detail = trim(coalesce(detail, '') || ' ' || ?) WHERE id = ?",
                            [detail, run_id])

    def run(self, run_id: int) -> RunRecord:
        return record(RunRecord, next(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id])))

    def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        return records(RunRecord, self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))

    def record_check(self, run_id: int, account_id: str, outcome: str, detail: str = "", posts_seen: int = 0) -> None:
        with self.transaction():
            insert(self.db, "account_checks", {"run_id": run_id, "account_id": account_id,
                                              "checked_at": utcnow().isoformat(), "outcome": outcome,
                                              "detail": detail, "posts_seen": posts_seen})

    def latest_checks(self) -> list[AccountCheck]:
        """Each registered account with its most recent check (outcome None when never checked)."""
        return records(AccountCheck, self.db.query("""
            SELECT a.id, a.name, a.kind, a.school, a.platform, a.target,
                   c.checked_at, c.outcome, c.detail, c.posts_seen
            FROM accounts a LEFT JOIN account_checks c ON c.id = (
                SELECT id FROM account_checks WHERE account_id = a.id ORDER BY id DESC LIMIT 1)
            ORDER BY a.school, a.id"""))

    # -- the run lock ------------------------------------------------------------------------

    def take_lock(self, candidate: LockRecord, stale) -> None:
        """Hold lock `candidate.name` as `candidate`, unless a holder that `stale(holder)` calls alive has it.

        Taking it over from a dead holder also closes that holder's runs left `running`: only the
        holder of the run lock runs, so they were killed.
        """
        with self.transaction():
            holder = self.lock_holder(candidate.name)
            if holder is not None and not stale(holder):
                raise LockTaken(holder)
            upsert(self.db, "locks", "name", candidate.__dict__)
            self.db.execute("UPDATE runs SET status = 'interrupted', finished_at = ?, "
                            "detail = trim(coalesce(detail, '') || ' the process running it ended without finishing') "
                            "WHERE status = 'running'", [candidate.started_at])

    def beat_lock(self, name: str, token: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE locks SET heartbeat = ? WHERE name = ? AND token = ?",
                            [utcnow().isoformat(), name, token])

    def drop_lock(self, name: str, token: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM locks WHERE name = ? AND token = ?", [name, token])

    def lock_holder(self, name: str) -> LockRecord | None:
        rows = list(self.db.query("SELECT * FROM locks WHERE name = ?", [name]))
        return record(LockRecord, rows[0]) if rows else None

    # -- the schedule's memory ---------------------------------------------------------------

    def schedule_state(self) -> dict[str, ScheduleState]:
        return {row["job"]: record(ScheduleState, row)
                for row in self.db.query("SELECT * FROM schedule_state ORDER BY job")}

    def record_schedule(self, job: str, **values: str | datetime) -> None:
        values = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
        with self.transaction():
            upsert(self.db, "schedule_state", "job", {"job": job, **values})
