"""Building report views from the store and writing the HTML reports.

The views are plain dicts, so templates never query anything; the same post view serves the
account report and the board report (and later the digests).
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from crawler.models import CATEGORIES
from crawler.store import Store
from reports.render import SEVERITY_RANK, render
from schoolaudit.config import Registry, Settings


class ReportBuilder:
    def __init__(self, settings: Settings, registry: Registry, store: Store):
        self.settings, self.registry, self.store = settings, registry, store
        self.zone = ZoneInfo(settings.timezone)
        self.checks = {row["id"]: row for row in store.latest_checks()}

    def local_time(self, iso: str | None) -> str | None:
        if not iso:
            return None
        return datetime.fromisoformat(iso).astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z")

    def account_view(self, account_id: str) -> dict:
        account = self.registry.get(account_id)
        check = self.checks.get(account_id) or {}
        return {"id": account.id, "name": account.name, "kind": account.kind, "platform": account.platform,
                "target": account.target, "school_name": self.registry.schools.get(account.school or ""),
                "outcome": check.get("outcome"), "detail": check.get("detail"),
                "checked_at": self.local_time(check.get("checked_at"))}

    def post_views(self, account_id: str) -> list[dict]:
        """Posts of the account that carry open findings, most severe first, then newest."""
        findings_by_post: dict[str, list[dict]] = {}
        for finding in self.store.findings_for(account_id):
            findings_by_post.setdefault(finding["post_key"], []).append(finding)
        account_name = self.registry.get(account_id).name
        views = [self._post_view(row, findings_by_post[row["key"]], account_name)
                 for row in self.store.post_rows(account_id) if row["key"] in findings_by_post]
        views.sort(key=lambda v: v["created_at"] or "", reverse=True)
        views.sort(key=lambda v: v["rank"])
        return views

    def _post_view(self, row: dict, findings: list[dict], account_name: str) -> dict:
        findings = sorted(findings, key=lambda f: (SEVERITY_RANK.get(f["severity"], 9),
                                                   CATEGORIES.index(f["category"]) if f["category"] in CATEGORIES else 99))
        repost = json.loads(row["repost_of"]) if row["repost_of"] else None
        return {
            "key": row["key"], "url": row["url"], "account_name": account_name,
            "created_at": self.local_time(row["created_at"]), "removed_at": self.local_time(row["removed_at"]),
            "title": row["title"], "text": row["text"], "repost_of": repost["handle"] if repost else None,
            "images": [{"alt": m.get("alt"), "url": m.get("url")} for m in json.loads(row["media"] or "[]")],
            "findings": findings, "evidence": [f["evidence"] for f in findings],
            "rank": SEVERITY_RANK.get(findings[0]["severity"], 9) if findings else 9,
        }

    def write_account_report(self, account_id: str, out_dir: Path) -> Path:
        posts = self.post_views(account_id)
        findings = [f for p in posts for f in p["findings"]]
        by_category = Counter(f["category"] for f in findings)
        return render("account.html", Path(out_dir) / "accounts" / f"{account_id}.html",
                      board=self.settings.board_name, generated_at=self._now(), account=self.account_view(account_id),
                      posts=posts, by_category=sorted(by_category.items(), key=lambda kv: CATEGORIES.index(kv[0])),
                      counts={"posts": len(self.store.post_rows(account_id)), "flagged": len(posts),
                              "findings": len(findings)})

    def write_board_report(self, out_dir: Path) -> Path:
        """index.html over every account, plus one page per account; return the index path."""
        accounts, all_posts = [], []
        for account in self.registry.accounts:
            self.write_account_report(account.id, out_dir)
            posts = self.post_views(account.id)
            all_posts.extend(posts)
            accounts.append({**self.account_view(account.id), "report": f"accounts/{account.id}.html",
                             "findings": sum(len(p["findings"]) for p in posts)})
        all_posts.sort(key=lambda v: v["created_at"] or "", reverse=True)
        all_posts.sort(key=lambda v: v["rank"])
        return render("board.html", Path(out_dir) / "index.html", board=self.settings.board_name,
                      generated_at=self._now(), accounts=accounts, posts=all_posts,
                      total_findings=sum(a["findings"] for a in accounts))

    def _now(self) -> str:
        return datetime.now(self.zone).strftime("%Y-%m-%d %H:%M %Z")
