"""Downloading a post's images once, storing them by sha256 in the media folder.

An image URL already fetched is never fetched again; identical bytes from different URLs are
stored once and linked to every post that uses them. Image URLs come from posts, so the client
refuses internal addresses for them on every redirect hop (crawler.addresses) unless the
settings allow private addresses. Bodies are size-limited by the client, sniffed by Pillow (the
Content-Type header is not trusted) and refused above a pixel limit (decompression bombs).

A post keeps at most `max_per_post` images, and downloads stop at the account's deadline: the
images left are fetched by a later run. A failed image, whatever the reason, is logged and left
without bytes; the post is still kept.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from pathlib import Path

from PIL import Image

from crawler.http import HttpClient
from crawler.limits import MAX_IMAGES_PER_POST
from crawler.result import FetchError
from records.model import Media, Outcome, Post
from records.store import Store

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


class MediaFetcher:
    def __init__(self, client: HttpClient, store: Store, media_dir: Path, max_bytes: int = MAX_IMAGE_BYTES,
                 max_pixels: int = MAX_IMAGE_PIXELS, max_per_post: int = MAX_IMAGES_PER_POST):
        self.client, self.store, self.media_dir = client, store, Path(media_dir)
        self.max_bytes, self.max_pixels, self.max_per_post = max_bytes, max_pixels, max(0, max_per_post)

    async def attach(self, posts: list[Post], deadline: float | None = None) -> None:
        """Set `sha256` and `path` on every image of `posts` that can be had before `deadline` (loop time).

        Images past `max_per_post` are dropped from their post."""
        for post in posts:
            if len(post.media) > self.max_per_post:
                log.warning("post %s has %d images; only the first %d are kept", post.key, len(post.media),
                            self.max_per_post)
                del post.media[self.max_per_post:]
        pending = [(post, media) for post in posts for media in post.media]
        for done, (post, media) in enumerate(pending):
            try:
                async with asyncio.timeout_at(deadline):
                    await self._attach_one(media)
            except TimeoutError:
                log.warning("account's time is up: %d images left for the next run", len(pending) - done)
                return
            except FetchError as exc:
                log.warning("image of post %s not stored: %s", post.key, exc.detail)
            except Exception:  # an unforeseen failure of one image never ends the account, nor the run
                log.exception("image of post %s not stored: %s", post.key, media.url)

    async def _attach_one(self, media: Media) -> None:
        known = self.store.media_for_url(media.url)
        if known:
            media.sha256, media.path = known["sha256"], known["path"]
            return
        # A URL found in a post: untrusted, so internal addresses are refused on every hop.
        fetched = await self.client.get(media.url, conditional=False, max_bytes=self.max_bytes, expect="image")
        media.sha256, media.path = self._store_bytes(media.url, fetched.content)

    def _store_bytes(self, url: str, content: bytes) -> tuple[str, str]:
        width, height, fmt = sniff_image(content, self.max_pixels, url)
        digest = hashlib.sha256(content).hexdigest()
        path = self.media_dir / digest[:2] / f"{digest}.{FORMATS[fmt]}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".part")
            temporary.write_bytes(content)
            temporary.replace(path)  # atomic: a killed run never leaves half an image under its final name
        self.store.save_media(url, digest, str(path), len(content), width, height, f"image/{FORMATS[fmt]}")
        return digest, str(path)


def sniff_image(content: bytes, max_pixels: int, url: str = "image") -> tuple[int, int, str]:
    """(width, height, format) from the bytes themselves; raise `malformed` for non-images and bombs."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height, fmt = image.width, image.height, image.format
    except Exception as exc:  # Pillow raises many types for undecodable data
        raise FetchError(Outcome.MALFORMED, f"{url}: not a readable image ({type(exc).__name__})") from exc
    if fmt not in FORMATS:
        raise FetchError(Outcome.MALFORMED, f"{url}: unsupported image format {fmt}")
    if width * height > max_pixels:
        raise FetchError(Outcome.MALFORMED, f"{url}: {width}x{height} pixels exceeds the {max_pixels}-pixel limit")
    return width, height, fmt
