"""Which URLs may be asked for, and where their requests may go (SSRF).

Every URL is checked for shape before anything else (`check_url`): a bad port, a bad scheme, an
undecodable international host name or a URL longer than `MAX_URL_LENGTH` is a `malformed`
outcome for that URL, never an exception that escapes.

Only the board's own configuration is trusted, and only for the first request it names: every
other URL (a redirect target, a next page, an API or alternate-feed link found in a page, a
robots.txt redirect, an image) is resolved once, refused when any of its addresses is internal
(loopback, private, link-local, shared 100.64/10, 6to4 2002::/16, site-local fec0::/10, IPv4
mapped or NAT64 forms of those, multicast, reserved) and then *pinned*: the connection goes to
the address that was checked (`PinnedBackend`), with no second resolution a DNS server could
answer differently. The Host header and the TLS server name stay the URL's host.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from urllib.parse import SplitResult, urlsplit

import httpcore
from httpcore._utils import is_socket_readable  # the pool's own test of an idle connection
import httpx

from crawler.result import FetchError
from records.model import Outcome

MAX_URL_LENGTH = 8192
_ALWAYS_INTERNAL = tuple(ipaddress.ip_network(n) for n in ("100.64.0.0/10", "2002::/16", "fec0::/10"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def check_url(url: str) -> SplitResult:
    """The parts of an http(s) URL that can be requested; `malformed` saying why not otherwise."""
    def invalid(reason: str) -> FetchError:
        return FetchError(Outcome.MALFORMED, f"{url[:300]}: invalid URL ({reason})", url)

    if not isinstance(url, str) or not url:
        raise invalid("empty")
    if len(url) > MAX_URL_LENGTH:
        raise invalid(f"longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, a broken [IPv6] literal
        raise invalid(str(exc)) from None
    if parts.scheme not in ("http", "https"):
        raise invalid(f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname or any(c.isspace() or c in "<>\"{}|\\^`" for c in parts.hostname):
        raise invalid("no valid host name")
    if port == 0:
        raise invalid("port 0")
    try:
        httpx.URL(url)  # what the client will parse: IDNA and control characters
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise invalid(str(exc) or type(exc).__name__) from None
    return parts


def is_internal(address: str) -> bool:
    """Whether an IP address belongs to a network that is not the public internet."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    elif ip.version == 6 and ip in _NAT64:
        ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return (not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_private
            or any(ip in network for network in _ALWAYS_INTERNAL if network.version == ip.version))


async def resolve_public(url: str) -> str:
    """The address to connect to for `url`: its host resolved once; `blocked` when any address is internal."""
    parts = check_url(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                             type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(Outcome.NOT_FOUND, f"{url}: host not found ({exc})", url) from exc
    addresses = [info[4][0] for info in infos]
    if not addresses or any(is_internal(address) for address in addresses):
        raise FetchError(Outcome.BLOCKED, f"{url}: refers to an internal address; not fetched "
                                          "(set crawl.allow_private_addresses to allow)", url)
    return addresses[0]


class SocketKnownStream(httpcore.AsyncNetworkStream):
    """httpcore's anyio stream with its socket looked up once.

    The pool asks every idle connection whether its socket is readable (closed by the server) each
    time it places a request; anyio builds a table of all the stream's attributes for each question,
    which was a fifth of the HTTP client's CPU in a crawl. The question is answered the same way here."""

    def __init__(self, inner: httpcore.AsyncNetworkStream):
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return SocketKnownStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        if info == "is_readable":
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting a pinned host name to the address that was checked for it."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._pins: dict[str, str] = {}

    def pin(self, host: str, address: str) -> None:
        self._pins[host.lower()] = address

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options=None) -> httpcore.AsyncNetworkStream:
        return SocketKnownStream(await self._inner.connect_tcp(
            self._pins.get(host.lower(), host), port, timeout=timeout, local_address=local_address,
            socket_options=socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options=None) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's HTTP/1.1 connection pool, placing each request once, in time linear in its connections.

    httpcore 1.0 counts the connections again for each idle one it looks at, and hands one idle
    connection to every request queued at that moment: all but the first then find it busy and
    queue again. In a crawl with 16 connections kept alive that was 4 placements and 250-500 `is_idle`
    calls per request, the first cost of the HTTP client. Here a connection already given to a
    request (one connection serves one HTTP/1.1 request at a time) is not given to another; idle
    connections are closed, kept and reused as httpcore does. HTTP/1.1 only: `pinned_transport` builds it
    without `http2`, and an HTTP/2 connection would serve several requests at once."""

    def _assign_requests_to_connections(self) -> list:
        closing = []
        for connection in list(self._connections):  # closed, expired, or idle beyond the keep-alive limit
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired() or (connection.is_idle()
                                              and len(self._connections) > self._max_keepalive_connections):
                self._connections.remove(connection)
                closing.append(connection)
        taken = {request.connection for request in self._requests if not request.is_queued()}
        for pool_request in self._requests:
            if pool_request.is_queued():
                closing.extend(self._assign(pool_request, taken))
        return closing

    def _assign(self, pool_request, taken: set) -> list:
        """Give a queued request an available connection no other request holds, else a new one (closing
        an idle one when at the limit, else leaving it queued); return the connection closed, if any."""
        origin = pool_request.request.url.origin
        connection = next((c for c in self._connections if c not in taken and c.can_handle_request(origin)
                           and c.is_available()), None)
        closing = []
        if connection is None and len(self._connections) >= self._max_connections:
            idle = next((c for c in self._connections if c not in taken and c.is_idle()), None)
            if idle is None:
                return closing
            self._connections.remove(idle)
            closing.append(idle)
        if connection is None:
            connection = self.create_connection(origin)
            self._connections.append(connection)
        pool_request.assign_to_connection(connection)
        taken.add(connection)
        return closing


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings (certifi's roots), built once per process: each building reads the
    whole CA bundle (60 ms of CPU, which each crawl's client spent twice)."""
    return httpx.create_ssl_context()


def pinned_transport(backend: PinnedBackend, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, whose connection pool connects through `backend`."""
    transport = httpx.AsyncHTTPTransport(verify=tls_context(), limits=limits)
    # httpx has no argument for a network backend; its pool is rebuilt with one (same settings otherwise).
    transport._pool = LinearPool(
        ssl_context=tls_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend)
    return transport
