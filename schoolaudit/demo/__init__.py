"""The demo: a fictional board's accounts served from a local web server on 127.0.0.1.

`DemoSite` serves the bundled `site/` folder (feeds and images) on an ephemeral loopback port;
`write_demo_config` writes a working configuration folder whose registry points at it and whose
policy and rules are the bundled defaults, so the demo runs the real pipeline end to end.
"""
from __future__ import annotations

import functools
import hashlib
import shutil
import socket
from urllib.parse import urlsplit
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from schoolaudit.config import DEFAULT_CONFIG_DIR
from schoolaudit.loopback import LoopbackServer

DEMO_DIR = Path(__file__).resolve().parent
SITE_DIR = DEMO_DIR / "site"
# A fixed port keeps image URLs, and so the stored posts, the same from one demo run to the next.
PREFERRED_PORT = 8737
# Written into the demo's configuration folder: the address of the server that only runs during `schoolaudit demo`.
SITE_MARKER = "demo-site.url"


class _DemoHandler(SimpleHTTPRequestHandler):
    """Static files; text bodies get `{base}` replaced by the server's address (API answers carry
    absolute image URLs) and an ETag, so the demo also shows conditional requests."""

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file() or path.suffix in _BINARY_SUFFIXES:
            return super().do_GET()
        body = path.read_bytes().replace(b"{base}", self.server.base_url.encode())
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return None
        self.send_response(200)
        self.send_header("Content-Type", _TEXT_TYPES.get(path.suffix, "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)
        return None

    def log_message(self, format, *args):  # keep the demo's terminal output to the summary
        pass


_BINARY_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
_TEXT_TYPES = {".xml": "application/rss+xml", ".atom": "application/atom+xml", ".json": "application/json",
               ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8"}


class DemoSite(LoopbackServer):
    """The demo board's web server for `root` on 127.0.0.1; use as a context manager."""

    def __init__(self, root: Path = SITE_DIR, port: int = 0):
        super().__init__(functools.partial(_DemoHandler, directory=str(root)), port)
        self._server.base_url = self.url  # read by the handler to fill in {base}


def write_demo_config(out_dir: Path, base_url: str, one_at_a_time: bool = False) -> Path:
    """A configuration folder in `out_dir/config` for the demo board served at `base_url`. `one_at_a_time`:
    accounts are crawled one after the other, so findings get the same numbers every run (`schoolaudit
    demo`, whose output the README shows)."""
    config = Path(out_dir) / "config"
    if config.exists():
        shutil.rmtree(config)
    shutil.copytree(DEFAULT_CONFIG_DIR, config, ignore=shutil.ignore_patterns("accounts.toml", "settings.toml"))
    (config / "accounts.toml").write_text((DEMO_DIR / "accounts.toml").read_text().replace("{base}", base_url))
    settings = (DEFAULT_CONFIG_DIR / "settings.toml").read_text()
    settings = with_storage(settings, "..").replace("allow_private_addresses = false", "allow_private_addresses = true")
    if one_at_a_time:
        settings = settings.replace("[crawl]\n", "[crawl]\nconcurrency = 1\n", 1)
    (config / "settings.toml").write_text(settings)
    (config / SITE_MARKER).write_text(base_url + "\n")
    return config


def demo_server_gone(config: Path) -> str | None:
    """Why crawling `config` cannot work, when it is a demo folder whose server has stopped; else None."""
    marker = Path(config) / SITE_MARKER
    if not marker.is_file():
        return None
    address = urlsplit(marker.read_text().strip())
    try:
        socket.create_connection((address.hostname, address.port), timeout=1).close()
        return None
    except OSError:
        return (f"{config} is the demo board's configuration; the demo board's server runs only during "
                f"`schoolaudit demo` (run it again, or audit your own accounts with --config DIR)")


def with_storage(settings: str, folder: str) -> str:
    """settings.toml text with its [storage] paths set to `folder` (relative to the configuration folder)."""
    paths = {"database": "schoolaudit.db", "media_dir": "media", "reports_dir": "reports"}
    lines = "".join(f'{key} = "{folder}/{name}"\n' for key, name in paths.items())
    return settings.replace("[storage]\n", f"[storage]\n{lines}", 1)
