"""Guarding against requests to the board's own network from URLs found inside posts (SSRF).

A URL taken from a post (an image, a link card) may name loopback, private or link-local
addresses; unless the settings allow it, such URLs are refused before any request is made.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from crawler.result import FetchError
from records.model import Outcome


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified


async def check_public_url(url: str) -> None:
    """Raise `blocked` unless every address the URL's host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(Outcome.BLOCKED, f"{url}: only http(s) URLs are fetched")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                             type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(Outcome.NOT_FOUND, f"{url}: host not found ({exc})") from exc
    if any(_is_internal(info[4][0]) for info in infos):
        raise FetchError(Outcome.BLOCKED, f"{url}: refers to an internal address; not fetched "
                                          "(set crawl.allow_private_addresses to allow)")
