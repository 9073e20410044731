"""Facebook Pages, through the Graph API: `/{page}/posts` with attachments, with a Page token.

TARGET is the page's id or user name (`springfieldhigh`, or `https://www.facebook.com/springfieldhigh`).
The token is read from SCHOOLAUDIT_FACEBOOK_TOKEN (see `graph.py` for how it is kept out of logs).

Text is `message` (else the generated `story`); images come from the attachments (photo, album
sub-attachments, video thumbnails, link-preview images), else `full_picture`. A re-share of
another post (`parent_id`) is a repost of that post's page; a link share (`status_type`
`shared_story`, attachment `share`) is a repost of the linked site.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qs, quote, urlsplit

from crawler.result import FetchError, FetchResult
from records.model import Account, Media, Outcome, Post, RepostRef
from crawler.sources.common import MAX_PAGES, Collector, is_noise_image, parse_time, unique_media
from crawler.sources.graph import PAGE_SIZE, GraphSource, next_page, nodes

FIELDS = ("id,message,story,created_time,updated_time,permalink_url,full_picture,status_type,parent_id,"
          "attachments{type,media_type,url,unshimmed_url,title,description,media,target,"
          "subattachments{type,media_type,url,media,target,description}}")


def parse_target(target: str) -> str:
    target = target.strip()
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        if parts.path.rstrip("/") == "/profile.php":
            page = parse_qs(parts.query).get("id", [""])[0]
        else:
            page = parts.path.strip("/").split("/")[0]
        if not page:
            raise FetchError(Outcome.NOT_FOUND, f"{target}: not a Facebook page URL")
        return page
    return target.lstrip("@")


class FacebookSource(GraphSource):
    platform = "facebook"
    token_env = "SCHOOLAUDIT_FACEBOOK_TOKEN"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        """A `/{page}/posts` page (`data` list), or one Post node."""
        return [post for item in nodes(cls.saved_answer(body, url)) if (post := page_post(item, account_id))]

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        self.check_ready()
        base, page = self.base_url(account), parse_target(account.target)
        url = f"{base}/{quote(page)}/posts?fields={quote(FIELDS, safe=',{}')}&limit={min(PAGE_SIZE, max(1, limit))}"
        collected = Collector(limit)
        for _ in range(MAX_PAGES):
            document = await self.graph_get(url)
            items = document.get("data")
            if not isinstance(items, list):
                raise FetchError(Outcome.MALFORMED, f"{base}/{page}/posts: no 'data' list in the answer")
            collected.add(page_post(item, account.id) for item in items)
            url = next_page(document, url)
            if not items or not url or collected.full:
                break
        return collected.result()


def page_post(item, account_id: str) -> Post | None:
    """One Graph API Post node as a Post; None when it has no id."""
    if not isinstance(item, dict) or not item.get("id"):
        return None
    try:
        attachments = _attachments(item)
        media = []
        for attachment in attachments:
            media += _attachment_media(attachment)
        if not media and isinstance(item.get("full_picture"), str):
            media.append(Media(item["full_picture"]))
        return Post(
            account_id=account_id,
            platform="facebook",
            platform_id=str(item["id"]),
            url=item.get("permalink_url") or _permalink(str(item["id"])),
            created_at=parse_time(item.get("created_time")),
            text=str(item.get("message") or item.get("story") or "").strip(),
            media=unique_media([m for m in media if m.url and not is_noise_image(m.url)]),
            repost_of=_shared(item, attachments),
            edited_at=None,
        )
    except (AttributeError, TypeError, ValueError):
        return None  # one unreadable post never stops the others


def _attachments(item: dict) -> list[dict]:
    attachments = item.get("attachments")
    data = attachments.get("data") if isinstance(attachments, dict) else None
    return [a for a in data or [] if isinstance(a, dict)]


def _attachment_media(attachment: dict) -> list[Media]:
    found = []
    image = ((attachment.get("media") or {}).get("image") or {}) if isinstance(attachment.get("media"), dict) else {}
    kind = str(attachment.get("type") or attachment.get("media_type") or "")
    if isinstance(image, dict) and image.get("src"):
        found.append(Media(image["src"], kind="video_thumbnail" if "video" in kind else "image"))
    sub = attachment.get("subattachments")
    for child in (sub.get("data") if isinstance(sub, dict) else None) or []:
        if isinstance(child, dict):
            found += _attachment_media(child)
    return found


def _shared(item: dict, attachments: list[dict]) -> RepostRef | None:
    parent = item.get("parent_id")
    if isinstance(parent, str) and parent:
        return RepostRef(handle=parent.split("_")[0], url=_permalink(parent), kind="repost")
    if item.get("status_type") == "shared_story":
        for attachment in attachments:
            if attachment.get("type") == "share":
                url = attachment.get("unshimmed_url") or _unshim(attachment.get("url"))
                host = urlsplit(url or "").netloc
                if host:
                    return RepostRef(handle=re.sub(r"^www\.", "", host), url=url, kind="repost",
                                     text=str(attachment.get("description") or attachment.get("title") or "") or None)
    return None


def _unshim(url) -> str | None:
    """The target of Facebook's `https://l.facebook.com/l.php?u=<target>` link shim."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.netloc.startswith("l.facebook.com") and parts.path == "/l.php":
        return parse_qs(parts.query).get("u", [url])[0]
    return url


def _permalink(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"
