"""Exporting posts, findings and review decisions for a records request (CSV or JSON).

`since` selects posts first seen (or created) on or after it, every finding on those posts and
every finding first seen since, and the review history of those findings. Posts keep every stored
version of their text, so an edited or removed post can still be produced.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from records.store import Store

POST_COLUMNS = ("key", "account_id", "platform", "platform_id", "url", "created_at", "title", "text", "media",
                "repost_of", "version", "first_seen", "last_seen", "removed_at")
FINDING_COLUMNS = ("id", "post_key", "account_id", "category", "severity", "status", "evidence", "explanation",
                   "clause", "location", "auditor", "first_seen", "last_seen", "active", "note", "reviewed_by",
                   "reviewed_at")
REVIEW_COLUMNS = ("id", "finding_id", "action", "status_before", "status", "note", "reviewed_by", "reviewed_at")
VERSION_COLUMNS = ("post_key", "version", "seen_at", "title", "text", "media", "repost_of")
#: A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) in a post).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def collect(store: Store, since: str | None) -> dict[str, list[dict]]:
    """{"posts", "post_versions", "findings", "reviews"} selected by `since` (UTC ISO, None: everything)."""
    since = since or ""
    findings = list(store.db.query(
        f"""SELECT {', '.join(FINDING_COLUMNS)} FROM findings WHERE first_seen >= ? OR post_key IN
            (SELECT key FROM posts WHERE first_seen >= ? OR created_at >= ?) ORDER BY id""", [since, since, since]))
    posts = list(store.db.query(
        f"""SELECT {', '.join(POST_COLUMNS)} FROM posts WHERE first_seen >= ? OR created_at >= ?
            OR key IN (SELECT post_key FROM findings WHERE first_seen >= ?) ORDER BY account_id, created_at""",
        [since, since, since]))
    keys = [p["key"] for p in posts]
    ids = [f["id"] for f in findings]
    versions = _where_in(store, f"SELECT {', '.join(VERSION_COLUMNS)} FROM post_versions", "post_key", keys,
                         "post_key, version")
    reviews = _where_in(store, f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews", "finding_id", ids, "id")
    return {"posts": posts, "post_versions": versions, "findings": findings, "reviews": reviews}


def _where_in(store: Store, select: str, column: str, values: list, order: str) -> list[dict]:
    rows: list[dict] = []
    for start in range(0, len(values), 500):  # SQLite's limit on bound parameters
        chunk = values[start:start + 500]
        rows.extend(store.db.query(f"{select} WHERE {column} IN ({', '.join('?' for _ in chunk)})", chunk))
    key = [c.strip() for c in order.split(",")]
    return sorted(rows, key=lambda r: tuple(r[k] for k in key))


def inert_cell(value):
    """`value`, with a `'` in front when it is text a spreadsheet would run as a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_csv(data: dict[str, list[dict]], out_dir: Path) -> list[Path]:
    """One CSV file per table in `out_dir` (UTF-8 with a byte-order mark, so spreadsheets read accents).
    Text that a spreadsheet would take for a formula gets a leading `'` (`inert_cell`); JSON keeps it as is."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = {"posts": POST_COLUMNS, "post_versions": VERSION_COLUMNS, "findings": FINDING_COLUMNS,
               "reviews": REVIEW_COLUMNS}
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
    return json.dumps({**meta, **data}, indent=2, ensure_ascii=False)
