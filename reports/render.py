"""Rendering reports from view data (plain dicts built by the application from the store).

Autoescaping is on for every template: post text, alt text, handles and evidence come from
strangers and must never run as HTML. The only Markup made here is built from escaped pieces.
"""
from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from records.model import CATEGORY_LABELS, OUTCOME_LABELS

# A web address with nothing a browser would strip or reinterpret (spaces, control characters).
_WEB_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+", re.IGNORECASE)


def place_label(location: str | None) -> str:
    """Where in a post a finding is, in words: `alt:0` is "the description of image 1",
    `image_text:0` "the text in image 1"."""
    kind, _, index = (location or "text").partition(":")
    number = int(index) + 1 if index.isdigit() else None
    if kind == "alt" and number:
        return f"the description of image {number}"
    if kind == "image" and number:
        return f"image {number}"
    if kind == "image_text" and number:
        return f"the text in image {number}"
    return {"text": "the post text", "title": "the title", "repost": "the repost"}.get(kind, kind)


def web_link(url: str | None) -> str | None:
    """`url` when it is an http(s) address, else None. A post's address comes from the platform or
    the feed, so `javascript:` or `data:` may be there: only a web address is rendered as a link."""
    url = (url or "").strip()
    return url if _WEB_URL.fullmatch(url) else None


def highlight(text: str, evidences) -> Markup:
    """`text` escaped, with every occurrence of each evidence string wrapped in <mark>."""
    spans = sorted({s for s in evidences if s and s.strip()}, key=len, reverse=True)
    if not text or not spans:
        return escape(text or "")
    pattern = re.compile("|".join(re.escape(s) for s in spans), re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last:match.start()]))
        pieces.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def environment() -> Environment:
    env = Environment(loader=PackageLoader("reports", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["highlight"] = highlight
    env.filters["web_link"] = web_link
    env.globals.update(category_label=lambda c: CATEGORY_LABELS.get(c, c), place_label=place_label,
                       outcome_label=lambda o: OUTCOME_LABELS.get(o, o or "never checked"))
    return env


def render(template: str, out_path: Path, **view) -> Path:
    """Render `template` with `view` into `out_path` (folders created); return the path."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(environment().get_template(template).render(**view), encoding="utf-8")
    return out_path
