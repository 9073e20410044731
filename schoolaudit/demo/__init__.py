"""The demo: a fictional board's accounts served from a local web server on 127.0.0.1.

`DemoSite` serves the bundled `site/` folder (feeds and images) on an ephemeral loopback port;
`write_demo_config` writes a working configuration folder whose registry points at it and whose
policy and rules are the bundled defaults, so the demo runs the real pipeline end to end.
"""
from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from schoolaudit.config import DEFAULT_CONFIG_DIR

DEMO_DIR = Path(__file__).resolve().parent
SITE_DIR = DEMO_DIR / "site"
# A fixed port keeps image URLs, and so the stored posts, the same from one demo run to the next.
PREFERRED_PORT = 8737


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the demo's terminal output to the summary
        pass


class DemoSite:
    """A static web server for `root` on 127.0.0.1; use as a context manager."""

    def __init__(self, root: Path = SITE_DIR, port: int = 0):
        handler = functools.partial(_QuietHandler, directory=str(root))
        try:
            self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:  # the preferred port is taken: any free one will do
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "DemoSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_demo_config(out_dir: Path, base_url: str) -> Path:
    """A configuration folder in `out_dir/config` for the demo board served at `base_url`."""
    config = Path(out_dir) / "config"
    if config.exists():
        shutil.rmtree(config)
    shutil.copytree(DEFAULT_CONFIG_DIR, config, ignore=shutil.ignore_patterns("accounts.toml", "settings.toml"))
    (config / "accounts.toml").write_text((DEMO_DIR / "accounts.toml").read_text().replace("{base}", base_url))
    settings = (DEFAULT_CONFIG_DIR / "settings.toml").read_text()
    settings = settings.replace('"../schoolaudit-data/', '"../').replace(
        "allow_private_addresses = false", "allow_private_addresses = true")
    (config / "settings.toml").write_text(settings)
    return config
