"""Exporting posts, findings and review decisions for a records request (CSV or JSON).

`since` selects posts first seen (or created) on or after it, every finding on those posts and
every finding first seen since, and the review history of those findings. Posts keep every stored
version of their text, so an edited or removed post can still be produced.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from records.people import AUDIT_COLUMNS, audit_entries
from records.store import Store
from schoolaudit.reporting import iso_time

POST_COLUMNS = ("key", "account_id", "platform", "platform_id", "url", "created_at", "title", "text", "media",
                "repost_of", "version", "first_seen", "last_seen", "removed_at")
FINDING_COLUMNS = ("id", "post_key", "account_id", "category", "severity", "status", "evidence", "explanation",
                   "clause", "where", "auditor", "first_seen", "last_seen", "active", "reason", "note", "reviewed_by",
                   "reviewed_at", "assigned_to", "escalated_at")
REVIEW_COLUMNS = ("id", "finding_id", "action", "status_before", "status", "reason", "note", "reviewed_by",
                  "reviewed_at")
VERSION_COLUMNS = ("post_key", "version", "seen_at", "title", "text", "media", "repost_of")
#: A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) in a post).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# The vocabulary of every JSON document (README: JSON output): a stored name, and its name there.
RENAMED = {"location": "where"}
TIME_COLUMNS = {"created_at", "first_seen", "last_seen", "removed_at", "seen_at", "reviewed_at", "escalated_at", "at"}
OBJECT_COLUMNS = ("media", "repost_of")  # stored as JSON text; objects in the JSON export


def collect(store: Store, since: str | None, media_dir: Path, zone: ZoneInfo) -> dict[str, list[dict]]:
    """{"posts", "post_versions", "findings", "reviews", "audit_log"} selected by `since` (UTC ISO, None:
    everything), with times in ISO 8601 in the board's zone and image paths relative to the media folder."""
    columns = {"posts": POST_COLUMNS, "post_versions": VERSION_COLUMNS, "findings": FINDING_COLUMNS,
               "reviews": REVIEW_COLUMNS}
    data = {name: [_exported({RENAMED.get(k, k): v for k, v in row.items()}, columns[name], media_dir, zone)
                   for row in rows]
            for name, rows in store.export_rows(since).items()}
    return {**data, "audit_log": [_exported(row, AUDIT_COLUMNS, media_dir, zone)
                                  for row in audit_entries(store, since or "")]}


def _exported(row: dict, columns: tuple[str, ...], media_dir: Path, zone: ZoneInfo) -> dict:
    out = {c: iso_time(row.get(c), zone) if c in TIME_COLUMNS else row.get(c) for c in columns}
    if out.get("media"):
        out["media"] = json.dumps([_relative_path(item, media_dir) for item in json.loads(out["media"])],
                                  ensure_ascii=False)
    return out


def _relative_path(item: dict, media_dir: Path) -> dict:
    """An image's file named inside the media folder ("27/27ab….jpg"): the server's own folders stay private."""
    path = item.get("path")
    if path:
        try:
            item = {**item, "path": Path(path).relative_to(media_dir).as_posix()}
        except ValueError:
            item = {**item, "path": Path(path).name}
    return item


def inert_cell(value):
    """`value`, with a `'` in front when it is text a spreadsheet would run as a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_csv(data: dict[str, list[dict]], out_dir: Path) -> list[Path]:
    """One CSV file per table in `out_dir` (UTF-8 with a byte-order mark, so spreadsheets read accents).
    Text that a spreadsheet would take for a formula gets a leading `'` (`inert_cell`); JSON keeps it as is."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = {"posts": POST_COLUMNS, "post_versions": VERSION_COLUMNS, "findings": FINDING_COLUMNS,
               "reviews": REVIEW_COLUMNS, "audit_log": AUDIT_COLUMNS}
    paths = []
    for name, rows in data.items():
        path = out_dir / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns[name])
            writer.writeheader()
            writer.writerows({key: inert_cell(value) for key, value in row.items()} for row in rows)
        paths.append(path)
    return paths


def to_json(data: dict[str, list[dict]], meta: dict) -> str:
    """One document; `media` and `repost_of` as objects, not JSON text inside JSON."""
    tables = {name: [{k: json.loads(v) if k in OBJECT_COLUMNS and isinstance(v, str) else v for k, v in row.items()}
                     for row in rows] for name, rows in data.items()}
    return json.dumps({**meta, **tables}, indent=2, ensure_ascii=False)
