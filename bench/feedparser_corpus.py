"""The feed source over feedparser's own test corpus: crashes and wrong answers.

    .venv/bin/python bench/feedparser_corpus.py FEEDPARSER_TESTS_DIR [--show N]

FEEDPARSER_TESTS_DIR is the `tests/` folder of feedparser's repository or sdist (BSD-2-Clause):
every file under `wellformed/` and `illformed/` declares in a header comment `Expect: ...` what
feedparser must give. Each file goes through `FeedSource.parse` (bytes in, posts out, as `fetch`
reads a feed). A crash is any exception other than a `FetchError`. A wrong answer is an entry
field we keep that disagrees with what the file expects: `entries[i]['title']`, `['link']`,
`['id']`, `['content'][0]['value']` (compared as the text a reader sees, HTML reduced as the
source reduces it), `['description']` / `['summary']` when the entry has no content (a post's text
is its content; a summary beside it is a teaser we do not keep), and `['published_parsed']` /
`['updated_parsed']` (the post's time), or an expected entry that is missing. Expectations about
what we do not keep (authors, tags, encodings, bozo, feed-level fields) are not counted.

Files are read as feedparser's own tests read them: a file whose path names `http` comes from
`http://127.0.0.1:8097/<path>` with the headers it declares (`Header: Content-Location: ...`,
Content-Type `text/xml` unless declared); any other file is parsed without a document URL, so
nothing in it resolves against one. Files under `sanitize/` declare what feedparser's HTML
sanitizer leaves; we keep text, not sanitized HTML, so there every word of our text must be a word
the sanitizer left (script and event-handler code never reach the post).
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
import time
from pathlib import Path

import feedparser

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.result import FetchError  # noqa: E402
from crawler.sources.common import html_to_text  # noqa: E402
from crawler.sources.feed import FeedSource  # noqa: E402

_EXPECT = re.compile(r"Expect:\s*(.*?)\s*-->", re.DOTALL)
_HEADER = re.compile(r"^Header:\s+([^:]+):(.*)$", re.MULTILINE)
_STRING = r"u?'''.*?'''|u?'(?:[^'\\]|\\.)*'|u?\"(?:[^\"\\]|\\.)*\""
_VALUE = rf"((?:{_STRING})(?:\s*\+\s*(?:{_STRING}))*|\([^)]*\))"  # 'a' + 'b' spells one string
_CLAUSE = re.compile(r"entries\[(\d+)\]\['(title|link|id|description|summary|published_parsed|updated_parsed)'\]"
                     rf"(?:\[0\]\['value'\])?\s*==\s*{_VALUE}")
_CONTENT = re.compile(rf"entries\[(\d+)\]\['content'\]\[0\]\['value'\]\s*==\s*{_VALUE}")


def expectations(text: str) -> list[tuple[int, str, object]]:
    found = _EXPECT.search(text)
    if not found:
        return []
    expect = re.sub(r"entries\[(\d+)\]\.(\w+)", r"entries[\1]['\2']", found.group(1))  # entries[0].link
    clauses = [(int(i), key, value) for i, key, value in _CLAUSE.findall(expect)]
    clauses += [(int(i), "content", value) for i, value in _CONTENT.findall(expect)]
    result = []
    for index, key, literal in clauses:
        try:
            value = _literal(literal)
        except (ValueError, SyntaxError):
            continue
        result.append((index, key, value))
    return result


def _literal(source: str):
    if source.startswith("("):
        return ast.literal_eval(source)
    return "".join(ast.literal_eval(piece.removeprefix("u")) for piece in re.findall(_STRING, source))


def request(path: Path, tests_dir: Path, text: str) -> tuple[str, dict[str, str]]:
    """The URL and headers feedparser's tests serve a file with ('' and none when not over HTTP)."""
    relative = path.relative_to(tests_dir).as_posix()
    if "http" not in relative:
        return "", {}
    headers = {name: value.strip() for name, value in _HEADER.findall(text)}
    headers.setdefault("Content-type", "text/xml")
    return f"http://127.0.0.1:8097/{relative}", headers


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


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def agrees(key: str, got, want, sanitized: bool) -> bool:
    if got == want:
        return True
    return sanitized and key in ("title", "description", "summary", "content") and set(_words(got)) <= set(_words(want))


def check(path: Path, tests_dir: Path) -> tuple[str, list[str]]:
    """('crash' | 'wrong' | 'ok' | 'unchecked', reasons)."""
    body = path.read_bytes()
    text = body.decode("utf-8", "replace")
    wanted = expectations(text)
    url, headers = request(path, tests_dir, text)
    try:
        posts = FeedSource.parse(body, "bench", url, headers)
    except FetchError as exc:
        posts, error = [], exc
    except Exception as exc:  # noqa: BLE001 - counting crashes is the point
        return "crash", [f"{type(exc).__name__}: {exc}"]
    else:
        error = None
    if not wanted:
        return "unchecked", []
    with_content = [bool(entry.get("content")) for entry in feedparser.parse(body).entries]
    sanitized = "sanitize" in path.relative_to(tests_dir).parts
    wrong = []
    for index, key, value in wanted:
        if index >= len(posts):
            wrong.append(f"entry {index} missing" + (f" ({error.detail[:60]})" if error else ""))
            continue
        if key in ("description", "summary") and index < len(with_content) and with_content[index]:
            continue  # the post's text is the entry's content; its summary is not kept
        got, want = ours(posts[index], key), expected_as_ours(key, value)
        if not agrees(key, got, want, sanitized):
            wrong.append(f"{key}: {got!r} != {want!r}")
    return ("wrong" if wrong else "ok"), wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/feedparser_corpus.py ../feedparser/tests --show 10")
    parser.add_argument("tests_dir", type=Path)
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args()
    files = sorted(p for folder in ("wellformed", "illformed") for p in (args.tests_dir / folder).rglob("*.xml"))
    counts = {"ok": 0, "wrong": 0, "crash": 0, "unchecked": 0}
    shown = 0
    started = time.perf_counter()
    for path in files:
        verdict, reasons = check(path, args.tests_dir)
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
