"""X (Twitter), through API v2 with an app bearer token: the user's tweets with expansions.

TARGET is the user name (`springfieldhs`, `@springfieldhs` or its x.com / twitter.com URL). The
id comes from `/users/by/username/:name`; tweets from `/users/:id/tweets`, paged by
`meta.next_token`. The token is SCHOOLAUDIT_X_BEARER_TOKEN, sent as `Authorization: Bearer`.

`referenced_tweets` says what a tweet is: `retweeted` becomes a repost whose text and media are
the original tweet (from `includes.tweets`; X's own text is a truncated "RT @user: …"),
`quoted` keeps the account's text followed by the quoted text, with a `quote` RepostRef, and
`replied_to` stays an ordinary post. Media come from `includes.media` with their `alt_text`;
t.co links are expanded and `note_tweet` gives the full text of long posts.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import quote

from crawler.result import FetchError, FetchResult, HttpError
from records.model import Account, Media, Outcome, Post, RepostRef
from crawler.sources.base import Source
from crawler.sources.common import (
    MAX_PAGES, Collector, get_json, json_document, parse_time, unique_media, user_name, with_quote,
)

PAGE_SIZE = 100
TWEET_FIELDS = ("created_at,author_id,attachments,referenced_tweets,entities,possibly_sensitive,note_tweet,"
                "edit_history_tweet_ids,conversation_id,in_reply_to_user_id")
EXPANSIONS = "attachments.media_keys,referenced_tweets.id,referenced_tweets.id.author_id,author_id"
MEDIA_FIELDS = "type,url,preview_image_url,alt_text"


def parse_target(target: str) -> str:
    return user_name(target, r"[A-Za-z0-9_]{1,15}", "an X user name")


class XSource(Source):
    platform = "x"
    token_env = "SCHOOLAUDIT_X_BEARER_TOKEN"
    default_api_base = "https://api.x.com/2"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        """One API v2 answer, or several as JSON lines (one answer a line, as twarc saves pages)."""
        try:
            documents = [json_document(body, url, "X API JSON")]
        except FetchError:
            try:
                documents = [json.loads(line) for line in body.decode("utf-8-sig").splitlines() if line.strip()]
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise FetchError(Outcome.MALFORMED, f"{url}: not X API JSON", url) from None
        return [post for document in documents for post in parse_tweets(document, account_id)]

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        self.check_ready()
        base, username = self.base_url(account), parse_target(account.target)
        user = await self._get(f"{base}/users/by/username/{quote(username)}")
        data = user.get("data") if isinstance(user.get("data"), dict) else None
        if not data or not data.get("id"):
            raise _api_error(user, f"{base}/users/by/username/{username}") or FetchError(
                Outcome.NOT_FOUND, f"no X user @{username}")
        username = data.get("username") or username
        endpoint = (f"{base}/users/{quote(str(data['id']))}/tweets?tweet.fields={TWEET_FIELDS}"
                    f"&expansions={EXPANSIONS}&media.fields={MEDIA_FIELDS}&user.fields=username")
        collected, token = Collector(limit), None
        for _ in range(MAX_PAGES):
            url = f"{endpoint}&max_results={min(PAGE_SIZE, max(5, collected.wanted))}"
            if token:
                url += f"&pagination_token={quote(token)}"
            document = await self._get(url)
            if "data" not in document and document.get("errors"):
                raise _api_error(document, url) or FetchError(Outcome.ERROR, f"{url}: X API error")
            collected.add(parse_tweets(document, account.id, username))
            meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
            token = meta.get("next_token")
            if not document.get("data") or not isinstance(token, str) or collected.full:
                break
        return collected.result()

    async def _get(self, url: str) -> dict:
        """GET a URL built from the configured API base (trusted), with the token as a header."""
        try:
            document, fetched = await get_json(self.client, url, headers={"Authorization": f"Bearer {self.token()}"},
                                               trusted=True, robots=False, what="X API JSON")
        except HttpError as exc:
            if exc.status == 401:  # with a bearer token: the token was refused
                raise FetchError(Outcome.AUTH_MISSING, f"{exc.detail} (check {self.token_env})", exc.url) from None
            raise
        if not isinstance(document, dict):
            raise FetchError(Outcome.MALFORMED, f"{fetched.url}: expected a JSON object", fetched.url)
        return document


def _api_error(document: dict, where: str) -> FetchError | None:
    """The outcome of an X API `errors` list answered with HTTP 200 (unknown or suspended user)."""
    errors = [e for e in document.get("errors") or [] if isinstance(e, dict)]
    if not errors:
        return None
    first = errors[0]
    detail = f"{where}: {first.get('title') or 'error'}: {first.get('detail') or first.get('message') or ''}".strip()
    kind = str(first.get("type") or "") + " " + str(first.get("title") or "")
    if "not-found" in kind or "Not Found" in kind:
        return FetchError(Outcome.NOT_FOUND, detail)
    if "authorization" in kind.lower() or "forbidden" in kind.lower() or "suspended" in detail.lower():
        return FetchError(Outcome.BLOCKED, detail)
    return FetchError(Outcome.ERROR, detail)


def parse_tweets(document, account_id: str, username: str | None = None) -> list[Post]:
    """Posts of one API v2 answer (`data` a list or one tweet, `includes` for expansions)."""
    if not isinstance(document, dict):
        return []
    data = document.get("data")
    tweets = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    includes = document.get("includes") if isinstance(document.get("includes"), dict) else {}
    users = {u.get("id"): u.get("username") for u in includes.get("users") or [] if isinstance(u, dict)}
    referenced = {t.get("id"): t for t in includes.get("tweets") or [] if isinstance(t, dict)}
    media = {m.get("media_key"): m for m in includes.get("media") or [] if isinstance(m, dict)}
    posts = []
    for tweet in tweets:
        post = tweet_post(tweet, account_id, username, users, referenced, media)
        if post:
            posts.append(post)
    return posts


def tweet_post(tweet, account_id: str, username: str | None, users: dict, referenced: dict, media: dict) -> Post | None:
    if not isinstance(tweet, dict) or not tweet.get("id"):
        return None
    try:
        author = users.get(tweet.get("author_id")) or username
        refs = {r.get("type"): r.get("id") for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}
        text, images, repost = tweet_text(tweet), _media(tweet, media), None
        if "retweeted" not in refs and re.match(r"RT @[A-Za-z0-9_]+:", tweet.get("text") or ""):
            refs["retweeted"] = None  # default fields: a retweet shows only as "RT @user: …"
        if "retweeted" in refs:
            original = referenced.get(refs["retweeted"])
            match = re.match(r"RT @([A-Za-z0-9_]+):", tweet.get("text") or "")
            handle = users.get(original.get("author_id")) if original else None
            handle = handle or (match.group(1) if match else None)
            repost = RepostRef(handle=f"@{handle}" if handle else "@unknown",
                               url=status_url(handle, refs["retweeted"]) if refs["retweeted"] else None, kind="repost")
            if original:
                text, images = tweet_text(original), _media(original, media)
            elif match:
                text = text[match.end():].strip()  # the reader sees the retweeted text, not "RT @user:"
            repost = replace(repost, text=text)
        elif "quoted" in refs:
            quoted = referenced.get(refs["quoted"])
            handle = users.get(quoted.get("author_id")) if quoted else None
            repost = RepostRef(handle=f"@{handle}" if handle else "@unknown",
                               url=status_url(handle, refs["quoted"]), kind="quote")
            if quoted:
                text = with_quote(_without_link(text, status_url(handle, refs["quoted"])), tweet_text(quoted))
                repost = replace(repost, text=tweet_text(quoted))
                images += _media(quoted, media)
        return Post(
            account_id=account_id,
            platform="x",
            platform_id=str(tweet["id"]),
            url=status_url(author, tweet["id"]),
            created_at=parse_time(tweet.get("created_at")),
            text=text,
            media=unique_media(images),
            repost_of=repost,
            sensitive=bool(tweet.get("possibly_sensitive")),
        )
    except (AttributeError, TypeError, ValueError):
        return None  # one unreadable tweet never stops the others


def status_url(username: str | None, tweet_id) -> str:
    return f"https://x.com/{username}/status/{tweet_id}" if username else f"https://x.com/i/web/status/{tweet_id}"


def tweet_text(tweet: dict) -> str:
    """The full text (note_tweet for long posts), entities decoded, t.co links expanded, media links dropped."""
    note = tweet.get("note_tweet") if isinstance(tweet.get("note_tweet"), dict) else {}
    text = str(note.get("text") or tweet.get("text") or "")
    entities = (note.get("entities") if note.get("text") else None) or tweet.get("entities") or {}
    for entity in entities.get("urls") or [] if isinstance(entities, dict) else []:
        if isinstance(entity, dict) and entity.get("url"):
            replacement = "" if entity.get("media_key") else str(entity.get("expanded_url") or entity["url"])
            text = text.replace(entity["url"], replacement)
    return html.unescape(text).strip()


def _without_link(text: str, url: str) -> str:
    """A quote tweet's text ends with the quoted tweet's link; the quote itself follows instead."""
    tail = re.sub(r"\s*https://(?:x|twitter)\.com/\S+/status/\d+\S*$", "", text)
    return tail if tail != text else text.replace(url, "").strip()


def _media(tweet: dict, media: dict) -> list[Media]:
    attachments = tweet.get("attachments") if isinstance(tweet.get("attachments"), dict) else {}
    found = []
    for key in attachments.get("media_keys") or []:
        item = media.get(key)
        if not isinstance(item, dict):
            continue
        alt = " ".join(str(item.get("alt_text") or "").split())
        if item.get("type") == "photo" and item.get("url"):
            found.append(Media(item["url"], alt=alt))
        elif item.get("preview_image_url"):
            found.append(Media(item["preview_image_url"], alt=alt, kind="video_thumbnail"))
    return found
