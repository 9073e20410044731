"""Building report views from the store and writing the HTML reports.

The views are plain dicts, so templates never query anything; the same post view serves the
account report and the board report (and later the digests).
"""
from __future__ import annotations

import base64
import logging
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from records.findings import FindingQuery
from records.queue import accounts_overview
from records.model import CATEGORIES, SEVERITY_RANK, FindingRecord, FindingStatus, PostRecord
from records.store import Store
from reports.render import render
from schoolaudit.config import Registry, Settings

log = logging.getLogger(__name__)


def data_uri(sha256: str, jpeg: bytes) -> str:
    """A thumbnail inlined in a report page (the page's CSP allows data: images only)."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def local_time(value: str | datetime | None, zone: ZoneInfo, with_zone: bool = True) -> str | None:
    """A stored UTC time (ISO text or datetime) as the board reads it: "2026-11-23 14:58 EST"."""
    if not value:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z" if with_zone else "%Y-%m-%d %H:%M")


def iso_time(value: str | datetime | None, zone: ZoneInfo) -> str | None:
    """A stored UTC time as ISO 8601 in the board's timezone, with its offset: the one time format of every
    JSON document (README: JSON output)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).isoformat(timespec="seconds")


def finding_json(finding: FindingRecord, registry: Registry, zone: ZoneInfo) -> dict:
    """A finding in the JSON vocabulary shared by `findings --json`, `audit --json`, `/findings.json` and
    `export`: the audit contract's names (`where`, `post_created_at`), `account` and `school` as the web app's."""
    try:
        school = registry.get(finding.account_id).school
    except KeyError:  # no longer registered: its findings are still on record
        school = None
    return {"id": finding.id, "account": finding.account_id, "school": school, "category": finding.category,
            "severity": finding.severity, "status": FindingStatus(finding.status).value,
            "evidence": finding.evidence, "explanation": finding.explanation, "clause": finding.clause,
            "where": finding.location, "post_url": finding.post_url,
            "post_created_at": iso_time(finding.post_created_at, zone),
            "post_removed_at": iso_time(finding.post_removed_at, zone),
            "first_seen": iso_time(finding.first_seen, zone), "note": finding.note,
            "reviewed_by": finding.reviewed_by, "reviewed_at": iso_time(finding.reviewed_at, zone)}


class ReportBuilder:
    def __init__(self, settings: Settings, registry: Registry, store: Store):
        self.settings, self.registry, self.store = settings, registry, store
        self.zone = ZoneInfo(settings.timezone)
        self.checks = {check.id: check for check in store.latest_checks()}
        self.overview = {row["id"]: row for row in accounts_overview(store, "board")}

    def local_time(self, value: str | datetime | None) -> str | None:
        return local_time(value, self.zone)

    def account_view(self, account_id: str) -> dict:
        """The account with its last check: `plain` says the outcome in words (and since when it fails),
        `last_ok` when it was last read fine; `detail` is the technical reason, for the IT person."""
        from schoolaudit.web.views import plain_outcome  # here: schoolaudit.web imports this module

        account = self.registry.get(account_id)
        check = self.checks.get(account_id)
        overview = self.overview.get(account_id, {})
        return {"id": account.id, "name": account.name, "kind": account.kind, "platform": account.platform,
                "target": account.target, "school_name": self.registry.schools.get(account.school or ""),
                "outcome": check.outcome if check else None, "detail": check.detail if check else None,
                "checked_at": self.local_time(check.checked_at if check else None),
                "plain": plain_outcome(overview, self.zone) if overview else "not checked yet",
                "last_ok": self.local_time(overview.get("last_ok"))}

    def post_views(self, account_id: str) -> list[dict]:
        """Posts of the account that carry open findings, most severe first, then newest."""
        return self.views_for_findings(self.store.findings(FindingQuery(account_ids=(account_id,), statuses=(
            FindingStatus.OPEN, FindingStatus.CONFIRMED, FindingStatus.RESOLVED), order="oldest")))

    def views_for_findings(self, findings: list[FindingRecord]) -> list[dict]:
        """The posts that carry `findings`, each with its findings; most severe first, then newest."""
        findings_by_post: dict[str, list[FindingRecord]] = {}
        for finding in findings:
            findings_by_post.setdefault(finding.post_key, []).append(finding)
        views = [self._post_view(post, findings_by_post[post.key], self.account_name(post.account_id))
                 for post in self.store.post_records(list(findings_by_post))]
        views.sort(key=lambda v: v["created_sort"] or "", reverse=True)
        views.sort(key=lambda v: v["rank"])
        return views

    def account_name(self, account_id: str) -> str:
        try:
            return self.registry.get(account_id).name
        except KeyError:  # no longer registered: its posts and findings are still on record
            return account_id

    def add_thumbnails(self, views: list[dict], embed) -> list[dict]:
        """Set `thumbnail` on each downloaded image of `views` to `embed(sha256, jpeg_bytes)` (a URL).

        Only face-blurred thumbnails (schoolaudit.thumbnails) are ever embedded, never the original.
        """
        for view in views:
            for image in view["images"]:
                data = self.thumbnail_bytes(image)
                image["thumbnail"] = embed(image["sha256"], data) if data else None
        return views

    def thumbnail_bytes(self, image: dict) -> bytes | None:
        """The blurred JPEG thumbnail of a stored image, cached beside the media; None when unreadable."""
        if not image.get("sha256") or not image.get("path"):
            return None
        cached = Path(self.settings.media_dir) / "thumbnails" / f"{image['sha256']}-blurred-320.jpg"
        if cached.exists():
            return cached.read_bytes()
        try:
            from schoolaudit.thumbnails import blurred_thumbnail

            data = blurred_thumbnail(image["path"])
        except Exception as exc:  # missing or unreadable file: the post is shown without it
            log.warning("no thumbnail for %s: %s", image["path"], exc)
            return None
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(cached)
        return data

    def _post_view(self, post: PostRecord, findings: list[FindingRecord], account_name: str) -> dict:
        findings = sorted(findings, key=lambda f: (SEVERITY_RANK.get(f.severity, 9),
                                                   CATEGORIES.index(f.category) if f.category in CATEGORIES else 99))
        return {
            "key": post.key, "url": post.url, "account_name": account_name,
            "created_at": self.local_time(post.created_at), "removed_at": self.local_time(post.removed_at),
            "title": post.title, "text": post.text, "repost_of": post.repost_of["handle"] if post.repost_of else None,
            "images": [{"alt": m.get("alt"), "url": m.get("url"), "sha256": m.get("sha256"), "path": m.get("path")}
                       for m in post.media],
            "created_sort": post.created_at, "platform": post.platform,
            "findings": findings, "evidence": [f.evidence for f in findings],
            "rank": SEVERITY_RANK.get(findings[0].severity, 9) if findings else 9,
        }

    def write_account_report(self, account_id: str, out_dir: Path, board_index: bool | None = None) -> Path:
        """accounts/ID.html in `out_dir`; it links back to the board's index.html when there is one
        (`board_index` None: when the file exists)."""
        posts = self.add_thumbnails(self.post_views(account_id), data_uri)
        findings = [f for p in posts for f in p["findings"]]
        by_category = Counter(f.category for f in findings)
        if board_index is None:
            board_index = (Path(out_dir) / "index.html").exists()
        return render("account.html", Path(out_dir) / "accounts" / f"{account_id}.html",
                      board=self.settings.board_name, generated_at=self._now(), account=self.account_view(account_id),
                      board_index="../index.html" if board_index else None,
                      posts=posts, by_category=sorted(by_category.items(), key=lambda kv: CATEGORIES.index(kv[0])),
                      counts={"posts": self.store.count_posts(account_id), "flagged": len(posts),
                              "findings": len(findings)})

    def write_board_report(self, out_dir: Path) -> Path:
        """index.html over every account, plus one page per account; return the index path."""
        accounts, all_posts = [], []
        for account in self.registry.accounts:
            self.write_account_report(account.id, out_dir, board_index=True)
            posts = self.post_views(account.id)
            all_posts.extend(posts)
            accounts.append({**self.account_view(account.id), "report": f"accounts/{account.id}.html",
                             "findings": sum(len(p["findings"]) for p in posts)})
        all_posts.sort(key=lambda v: v["created_sort"] or "", reverse=True)
        all_posts.sort(key=lambda v: v["rank"])
        self.add_thumbnails(all_posts, data_uri)
        return render("board.html", Path(out_dir) / "index.html", board=self.settings.board_name,
                      generated_at=self._now(), accounts=accounts, posts=all_posts,
                      total_findings=sum(a["findings"] for a in accounts))

    def _now(self) -> str:
        return local_time(datetime.now(self.zone), self.zone)
