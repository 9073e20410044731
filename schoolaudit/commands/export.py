"""`schoolaudit export --since DATE --format csv|json`: posts and findings for a records request."""
from __future__ import annotations

import sys
from pathlib import Path

from zoneinfo import ZoneInfo

from records.model import utcnow
from schoolaudit.app import load_app
from schoolaudit.export import collect, to_json, write_csv
from schoolaudit.reporting import iso_time
from schoolaudit.review import ReviewError, parse_since

HELP = "export posts, their versions, findings and review decisions since a date, as CSV files or JSON"
EXAMPLE = "schoolaudit export --since 2025-09-01 --format csv --out records-request-42"


def add_arguments(parser) -> None:
    parser.add_argument("--since", metavar="DATE", help="posts and findings first seen on or after DATE (default: all)")
    parser.add_argument("--format", choices=["csv", "json"], default="json", help="csv (a folder of files) or json")
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="csv: the folder to write (default ./export); json: the file (default: print)")


def run(args) -> int:
    app = load_app(args.config)
    try:
        try:
            since = parse_since(args.since, app.settings.timezone)
        except ReviewError as exc:
            print(f"schoolaudit: {exc}")
            return 2
        zone = ZoneInfo(app.settings.timezone)
        data = collect(app.store, since, app.settings.media_dir, zone)
        counts = ", ".join(f"{len(rows)} {name.replace('_', ' ')}" for name, rows in data.items())
        if args.format == "csv":
            paths = write_csv(data, args.out or Path("export"))
            print(f"Exported {counts} to {paths[0].parent}/ ({', '.join(p.name for p in paths)})")
            return 0
        document = to_json(data, {"board": app.settings.board_name, "since": iso_time(since, zone),
                                  "exported_at": iso_time(utcnow(), zone)})
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(document + "\n", encoding="utf-8")
            print(f"Exported {counts} to {args.out}", file=sys.stderr)
        else:
            print(document)
        return 0
    finally:
        app.close()
