"""Shared test fixtures: the ../shared folder (skipped when absent) and a demo board on a local server."""
from __future__ import annotations

import shutil
import threading
import time
from datetime import datetime, timezone
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from schoolaudit.demo import SITE_DIR, DemoSite, write_demo_config

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """The platform data folder (used when settings.toml names no storage paths), per test, never ~/.local."""
    path = tmp_path / "data"
    monkeypatch.setenv("SCHOOLAUDIT_DATA", str(path))
    return path


@pytest.fixture(scope="session")
def engine():
    """The bundled configuration's policy and auditors, loaded (rules compiled) once for the session: what
    `schoolaudit classify` runs (helpers in tests/rule_checks.py)."""
    from schoolaudit.commands.classify import load
    from schoolaudit.config import DEFAULT_CONFIG_DIR

    return load(str(DEFAULT_CONFIG_DIR))


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (a user's clone has none)")
    return SHARED


@pytest.fixture
def site_dir(tmp_path) -> Path:
    """A writable copy of the demo site, so a test can edit feeds between runs."""
    root = tmp_path / "site"
    shutil.copytree(SITE_DIR, root)
    return root


@pytest.fixture
def demo_site(site_dir):
    with DemoSite(site_dir) as site:
        yield site


@pytest.fixture
def demo_config(tmp_path, demo_site) -> Path:
    """A configuration folder for the demo board on the local server, data under tmp_path."""
    return write_demo_config(tmp_path / "run", demo_site.url)


@pytest.fixture(scope="session")
def _crawled_demo_template(tmp_path_factory):
    """The demo board crawled once per session (its site served for the whole session, never edited);
    tests get copies of the folder, so the crawl's cost is paid once."""
    from schoolaudit.app import load_app
    from schoolaudit.pipeline import Pipeline

    root = tmp_path_factory.mktemp("crawled-demo")
    shutil.copytree(SITE_DIR, root / "site")
    with DemoSite(root / "site") as site:
        config = write_demo_config(root / "run", site.url)
        app = load_app(config)
        try:
            Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
        finally:
            app.close()
        yield root / "run"


@pytest.fixture
def crawled_demo_config(tmp_path, _crawled_demo_template) -> Path:
    """A configuration folder of the demo board after one nightly run (a private copy; the demo site
    is still served, so a test may run again)."""
    shutil.copytree(_crawled_demo_template, tmp_path / "run")
    return tmp_path / "run" / "config"


class _StallingHandler(BaseHTTPRequestHandler):
    """Answers every GET only after `server.stall_seconds`: an account that hangs."""

    def do_GET(self):
        time.sleep(self.server.stall_seconds)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def stalling_server(seconds: float):
    """A loopback server whose answers take `seconds`; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    server.daemon_threads = True
    server.stall_seconds = seconds
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def add_feed_account(config: Path, account_id: str, url: str, school: str = "birchwood-ps") -> None:
    """Register one more RSS club account in the configuration folder `config`."""
    accounts = config / "accounts.toml"
    accounts.write_text(accounts.read_text() + f'''
[[accounts]]
id = "{account_id}"
name = "{account_id.replace('-', ' ').title()}"
kind = "club"
school = "{school}"
platform = "rss"
url = "{url}"
''')


WEB_PASSWORD = "a long test password"


def build_web_board(out: Path, crawled_demo: Path) -> Path:
    """A copy in `out` of the crawled demo board `crawled_demo` (the session's `_crawled_demo_template`), with
    a Birchwood post whose text is a stranger's HTML, an admin (admin@b.org) and a Birchwood viewer
    (view@b.org); returns its configuration folder."""
    from records import people
    from records.model import Finding, Post
    from schoolaudit.app import load_app
    from schoolaudit.web.passwords import hash_password

    shutil.copytree(crawled_demo, out / "run")
    config = out / "run" / "config"
    app = load_app(config)
    try:
        post = Post(account_id="birchwood-council", platform="rss", platform_id="x1", url="https://example.org/x1",
                    created_at=datetime(2026, 1, 5, tzinfo=timezone.utc),
                    text='Gala <script>alert("pwned")</script> with a <b>wine</b> bar')
        app.store.save_posts(app.registry.get("birchwood-council"), [post], complete_window=False)
        app.store.save_findings(post, [Finding("substances", "high", '<script>alert("pwned")</script>',
                                               "Alcohol.", "Do not post alcohol.", "test")], run_id=1)
        people.add_user(app.store, "admin@b.org", "admin", "board", hash_password(WEB_PASSWORD))
        people.add_user(app.store, "view@b.org", "viewer", "school:birchwood-ps", hash_password(WEB_PASSWORD))
    finally:
        app.close()
    return config
