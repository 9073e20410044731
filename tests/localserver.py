"""A small real HTTP server on 127.0.0.1 for tests: canned routes and/or a directory of files.

    routes = {
        "/feed.xml": (200, {"Content-Type": "application/rss+xml"}, b"<rss>...</rss>"),
        "/api/v1/x?page=2": (200, {"Link": '<{base}/api/v1/x?page=3>; rel="next"'}, "[]"),
        "/dynamic": lambda request: (200, {}, request.query.get("q", "")),
    }
    with LocalServer(routes, directory=FIXTURES) as server:
        httpx.get(server.url + "/feed.xml")
        server.requests  # every request seen: Request(method, path, query, headers)

A route key with a query string matches only that exact query; a key without one matches the path
whatever the query. `{base}` in a str body or header value becomes the server's URL, so canned
answers can link back to the server (Link headers, next-page URLs). A callable route gets the
`Request` and returns (status, headers, body). Unknown paths answer 404. Threaded, ephemeral port.
"""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable, Union
from urllib.parse import parse_qsl, urlsplit

from schoolaudit.loopback import LoopbackServer

Body = Union[bytes, str]
Answer = tuple[int, dict, Body]
Route = Union[Answer, Callable[["Request"], Answer]]


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer(LoopbackServer):
    def __init__(self, routes: dict[str, Route] | None = None, directory: str | Path | None = None):
        self.routes: dict[str, Route] = dict(routes or {})
        self.directory = Path(directory) if directory else None
        self.requests: list[Request] = []
        super().__init__(self._handler_class())

    def answer(self, request: Request) -> Answer:
        full = f"{request.path}?{request.raw_query}" if request.raw_query else request.path
        route = self.routes.get(full) or self.routes.get(request.path)
        if route is not None:
            status, headers, body = route(request) if callable(route) else route
            return status, {k: self._expand(v) for k, v in headers.items()}, self._expand(body)
        if self.directory:
            path = (self.directory / request.path.lstrip("/")).resolve()
            if path.is_file() and self.directory.resolve() in path.parents:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return 200, {"Content-Type": kind}, path.read_bytes()
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _expand(self, value: Body) -> Body:
        return value.replace("{base}", self.url) if isinstance(value, str) else value

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                parts = urlsplit(self.path)
                request = Request("GET", parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                                  parts.query, {k.lower(): v for k, v in self.headers.items()})
                server.requests.append(request)
                status, headers, body = server.answer(request)
                data = body.encode("utf-8") if isinstance(body, str) else body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output clean
                pass

        return Handler
