"""`schoolaudit preview-digest --out DIR`: a digest as its reader would see it, without sending it."""
from __future__ import annotations

from pathlib import Path

from records.model import DigestRange
from schoolaudit.app import load_app
from schoolaudit.digest import KINDS, DigestBuilder, Recipient, load_recipients
from schoolaudit.preview import WIDTHS, find_chromium, screenshot, write_preview

HELP = "write a digest (from the current database, sent to nobody) as HTML and text, with screenshots at desktop and phone widths"
EXAMPLE = "schoolaudit preview-digest --kind weekly --out /tmp/digest-preview"


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the files")
    parser.add_argument("--kind", choices=KINDS, default="weekly", help="which digest (default weekly)")
    parser.add_argument("--recipient", metavar="EMAIL",
                        help="whose digest, from recipients.toml (default: a board-wide reader)")
    parser.add_argument("--no-screenshots", action="store_true", help="only the HTML and text files")


def run(args) -> int:
    app = load_app(args.config)
    try:
        recipient = Recipient("preview@localhost", "Preview", "board", KINDS)
        if args.recipient:
            matches = [r for r in load_recipients(app.settings, app.registry) if r.email == args.recipient]
            if not matches:
                print(f"schoolaudit: no recipient {args.recipient!r} in recipients.toml")
                return 2
            recipient = matches[0]
        builder = DigestBuilder(app.settings, app.registry, app.store)
        if args.kind == "weekly":  # as the next weekly digest would be
            digest = builder.weekly(recipient, builder.next_range("weekly"), app.store.last_digest("weekly"))
        else:  # every finding so far
            everything = builder.next_range(args.kind)
            digest = getattr(builder, args.kind)(recipient, DigestRange(args.kind, 0, everything.last_finding_id))
        page, text = write_preview(digest, args.out)
        print(f"Subject: {digest.subject}\nHTML: {page}\nText: {text}")
        if args.no_screenshots:
            return 0
        chromium = find_chromium()
        if not chromium:
            print("No screenshots: Chromium is not installed (apt install chromium).")
            return 0
        for name, width in WIDTHS.items():
            print(f"Screenshot ({name}, {width}px wide, the whole page): "
                  f"{screenshot(chromium, page, args.out / f'digest-{digest.kind}-{name}.png', width)}")
        return 0
    finally:
        app.close()
