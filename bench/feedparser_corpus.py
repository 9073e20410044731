"""The feed source over feedparser's own test corpus: crashes and wrong answers.

    .venv/bin/python bench/feedparser_corpus.py FEEDPARSER_TESTS_DIR [--show N]

FEEDPARSER_TESTS_DIR is the `tests/` folder of feedparser's repository or sdist (BSD-2-Clause):
every file under `wellformed/` and `illformed/` declares in a header comment `Expect: ...` what
feedparser must give. Each file goes through `FeedSource.parse` (bytes in, posts out, as `fetch`
reads a feed). A crash is any exception other than a `FetchError`. A wrong answer is an entry
field we keep that disagrees with what the file expects: `entries[i]['title']`, `['link']`,
`['id']`, `['description']` / `['summary']` / `['content'][0]['value']` (compared as the text a
reader sees, HTML reduced as the source reduces it) and `['published_parsed']` /
`['updated_parsed']` (the post's time), or an expected entry that is missing. Expectations about
what we do not keep (authors, tags, encodings, bozo, feed-level fields) are not counted.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.result import FetchError  # noqa: E402
from crawler.sources.common import html_to_text  # noqa: E402
from crawler.sources.feed import FeedSource  # noqa: E402

_EXPECT = re.compile(r"Expect:\s*(.*?)\s*-->", re.DOTALL)
_CLAUSE = re.compile(r"entries\[(\d+)\]\['(title|link|id|description|summary|published_parsed|updated_parsed)'\]"
                     r"(?:\[0\]\['value'\])?\s*==\s*((?:u?'(?:[^'\\]|\\.)*'|u?\"(?:[^\"\\]|\\.)*\"|\([^)]*\)))")
_CONTENT = re.compile(r"entries\[(\d+)\]\['content'\]\[0\]\['value'\]\s*==\s*(u?'(?:[^'\\]|\\.)*'|u?\"(?:[^\"\\]|\\.)*\")")


def expectations(text: str) -> list[tuple[int, str, object]]:
    found = _EXPECT.search(text)
    if not found:
        return []
    expect = found.group(1)
    clauses = [(int(i), key, value) for i, key, value in _CLAUSE.findall(expect)]
    clauses += [(int(i), "content", value) for i, value in _CONTENT.findall(expect)]
    result = []
    for index, key, literal in clauses:
        try:
            value = ast.literal_eval(literal.lstrip("u") if literal[:2] in ("u'", 'u"') else literal)
        except (ValueError, SyntaxError):
            continue
        result.append((index, key, value))
    return result


def ours(post, key: str):
    if key == "title":
        return post.title
    if key == "link":
        return post.url
    if key == "id":
        return post.platform_id
    if key in ("description", "summary", "content"):
        return post.text
    return tuple(post.created_at.timetuple())[:6] if post.created_at else None


def expected_as_ours(key: str, value):
    if key in ("title", "description", "summary", "content"):
        return html_to_text(value)
    if key.endswith("_parsed"):
        return tuple(value)[:6] if value else None
    return value


def check(path: Path) -> tuple[str, list[str]]:
    """('crash' | 'wrong' | 'ok' | 'unchecked', reasons)."""
    body = path.read_bytes()
    wanted = expectations(body.decode("utf-8", "replace"))
    try:
        posts = FeedSource.parse(body, "bench", f"http://127.0.0.1:8097/{path.name}")
    except FetchError as exc:
        posts, error = [], exc
    except Exception as exc:  # noqa: BLE001 - counting crashes is the point
        return "crash", [f"{type(exc).__name__}: {exc}"]
    else:
        error = None
    if not wanted:
        return "unchecked", []
    wrong = []
    for index, key, value in wanted:
        if index >= len(posts):
            wrong.append(f"entry {index} missing" + (f" ({error.detail[:60]})" if error else ""))
            continue
        got, want = ours(posts[index], key), expected_as_ours(key, value)
        if key in ("description", "summary", "content") and posts[index].text != want and want in posts[index].text:
            continue  # the text a reader sees holds both content and summary when a feed gives both
        if got != want:
            wrong.append(f"{key}: {got!r} != {want!r}")
    return ("wrong" if wrong else "ok"), wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tests_dir", type=Path)
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args()
    files = sorted(p for folder in ("wellformed", "illformed") for p in (args.tests_dir / folder).rglob("*.xml"))
    counts = {"ok": 0, "wrong": 0, "crash": 0, "unchecked": 0}
    shown = 0
    started = time.perf_counter()
    for path in files:
        verdict, reasons = check(path)
        counts[verdict] += 1
        if verdict in ("wrong", "crash") and shown < args.show:
            shown += 1
            print(f"  {verdict}: {path.relative_to(args.tests_dir)}: {'; '.join(reasons)[:200]}")
    print(f"files: {len(files)} in {time.perf_counter() - started:.1f} s")
    print(f"checked: {counts['ok'] + counts['wrong']} (ok {counts['ok']}, wrong {counts['wrong']}), "
          f"crashes: {counts['crash']}, without an entry expectation: {counts['unchecked']}")
    return 1 if counts["wrong"] or counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
