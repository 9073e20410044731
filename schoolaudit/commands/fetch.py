"""`schoolaudit fetch PLATFORM TARGET`: fetch one account's posts without registering it.

Prints one JSON object per post, one per line:
`{"id", "url", "created_at", "text", "images": [{"url", "alt"}], "repost_of": null | {"handle", ...}}`
followed by "title", "kind" (post | repost | quote), "image_kinds" (image | video_thumbnail per image),
"sensitive" and "edited_at". A failure prints one line
`schoolaudit: fetch failed: <outcome>: <detail>` to stderr and exits 1.
"""
from __future__ import annotations

import asyncio
import json
import sys

from crawler.http import HttpClient
from crawler.result import FetchError
from records.model import Account, Outcome, Post
from crawler.sources import SOURCES, read_account
from schoolaudit.config import config_dir, load_settings

HELP = "fetch one account's public posts (without registering it) and print them as JSON lines"
EXAMPLE = "schoolaudit fetch mastodon @springfieldhigh@mastodon.social --limit 5"


def add_arguments(parser) -> None:
    parser.add_argument("platform", metavar="PLATFORM", choices=sorted(SOURCES),
                        help=f"one of: {', '.join(sorted(SOURCES))}")
    parser.add_argument("target", metavar="TARGET",
                        help="feed, page or channel URL; @user@instance or profile URL (mastodon); "
                             "handle (bluesky); page or user name (facebook, instagram, x)")
    parser.add_argument("--api-base", metavar="URL", help="the platform's API base URL (default: the platform's own)")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="at most N posts (default: posts_per_account in settings.toml)")


def run(args) -> int:
    settings = load_settings(config_dir(args.config))
    limit = args.limit if args.limit is not None else settings.crawl.posts_per_account
    account = Account(id="fetch", name=args.target, kind="school", platform=args.platform,
                      target=args.target, api_base=args.api_base)
    try:
        posts = asyncio.run(_fetch(account, settings, max(1, limit)))
    except FetchError as exc:
        print(f"schoolaudit: fetch failed: {exc.outcome.value}: {exc.detail}", file=sys.stderr)
        return 1
    for post in posts:
        print(json.dumps(post_json(post), ensure_ascii=False))
    return 0


async def _fetch(account: Account, settings, limit: int) -> list[Post]:
    async with HttpClient(settings.contact_url, settings=settings.client_settings()) as client:
        try:
            result = await asyncio.create_task(read_account(client, account, limit))
        except FetchError:
            raise
        except Exception as exc:  # a source bug must still end in one line, not a traceback
            raise FetchError(Outcome.ERROR, f"{type(exc).__name__}: {exc}") from exc
    return result.posts[:limit]


def post_json(post: Post) -> dict:
    """The contract shape of one post (the first six keys are fixed; more may follow)."""
    repost = post.repost_of
    return {
        "id": post.platform_id,
        "url": post.url,
        "created_at": post.created_at.isoformat() if post.created_at else None,
        "text": post.text,
        "images": [{"url": m.url, "alt": m.alt} for m in post.media],
        "repost_of": {"handle": repost.handle, "url": repost.url, "kind": repost.kind} if repost else None,
        "title": post.title,
        "kind": repost.kind if repost else "post",
        "image_kinds": [m.kind for m in post.media],
        "sensitive": post.sensitive,
        "edited_at": post.edited_at.isoformat() if post.edited_at else None,
    }
