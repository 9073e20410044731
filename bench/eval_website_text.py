"""How well the website source finds a page's main text, on trafilatura's evaluation pages.

    .venv/bin/python bench/eval_website_text.py TRAFILATURA_TESTS_DIR [--show N]

TRAFILATURA_TESTS_DIR is the `tests/` folder of a checkout of github.com/adbar/trafilatura
(Apache-2.0): `evaldata.json` names, for each page in `eval/` or `cache/`, snippets of its main
text (`with`) and of its navigation, footer and comments (`without`). Each page is read as the
website source reads a page that has no feed: `WebsiteSource.parse` (no network, no Content-Type
header, so the page's own `<meta charset>` decides). The text of every post it returns counts.

Prints: pages whose main text is found (every `with` snippet present), pages kept clean (no
`without` snippet present), both, and the snippet counts. `--show N` lists N pages that fail;
`--every N` reads every Nth page only (a quick sample while iterating; the full set takes minutes).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.result import FetchError  # noqa: E402
from crawler.sources.website import WebsiteSource  # noqa: E402


def page_text(body: bytes, url: str) -> str:
    try:
        posts = WebsiteSource.parse(body, "bench", url)
    except FetchError:
        return ""
    return " ".join(f"{post.title} {post.text}" for post in posts)


def normalise(text: str) -> str:
    return " ".join(text.split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/eval_website_text.py ../trafilatura/tests --show 5")
    parser.add_argument("tests_dir", type=Path)
    parser.add_argument("--show", type=int, default=0)
    parser.add_argument("--every", type=int, default=1, help="read every Nth page only (default: all)")
    args = parser.parse_args()
    evaldata = json.loads((args.tests_dir / "evaldata.json").read_text(encoding="utf-8"))
    found = clean = both = pages = 0
    with_hits = with_total = without_hits = without_total = 0
    failures = []
    for url, case in list(evaldata.items())[::args.every]:
        path = next((p for p in (args.tests_dir / "eval" / case["file"], args.tests_dir / "cache" / case["file"])
                     if p.exists()), None)
        if path is None:
            continue
        pages += 1
        text = normalise(page_text(path.read_bytes(), url))
        present = [s for s in case["with"] if normalise(s) in text]
        leaked = [s for s in case["without"] if normalise(s) in text]
        with_hits += len(present)
        with_total += len(case["with"])
        without_hits += len(leaked)
        without_total += len(case["without"])
        found += len(present) == len(case["with"])
        clean += not leaked
        both += len(present) == len(case["with"]) and not leaked
        if len(present) < len(case["with"]):
            failures.append((case["file"], [s for s in case["with"] if s not in present][:1], leaked[:1]))
    print(f"pages: {pages}")
    print(f"main text found (every 'with' snippet): {found} ({found / pages:.1%})")
    print(f"clean (no 'without' snippet):          {clean} ({clean / pages:.1%})")
    print(f"both:                                  {both} ({both / pages:.1%})")
    print(f"snippets: 'with' {with_hits}/{with_total} found, 'without' {without_hits}/{without_total} kept")
    for failure in failures[:args.show]:
        print("  missing:", *failure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
