"""Building the Starlette application: settings, the store per thread, sessions and security headers."""
from __future__ import annotations

import threading
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles
from starlette.routing import Mount

from records import people
from records.store import Store
from schoolaudit.config import Registry, Settings, config_dir, load_registry, load_settings
from schoolaudit.reporting import ReportBuilder
from schoolaudit.web.oidc import OidcOptions
from schoolaudit.web.routes import routes

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_HOURS = 12
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")


class WebContext:
    """What every request needs: settings, registry, and a store for the thread serving it."""

    def __init__(self, directory: Path):
        self.config_dir = directory
        self.settings: Settings = load_settings(directory)
        self.registry: Registry = load_registry(directory)
        oidc_options = OidcOptions.from_settings(self.settings)  # refuses password_sign_in = false without it
        self.oidc = None
        if oidc_options:
            from schoolaudit.web.oidc_client import OidcSignIn
            self.oidc = OidcSignIn(oidc_options)
        self.zone = ZoneInfo(self.settings.timezone)
        self._local = threading.local()
        # sqlite3 connections belong to the thread that opened them
        self.store.sync_accounts(self.registry.accounts)

    @property
    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.settings.database)
        return store

    def thumbnails(self) -> ReportBuilder:
        return ReportBuilder(self.settings, self.registry, self.store)


class SecurityHeaders:
    """Content-Security-Policy and friends on every answer; pages are never cached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        return await self.app(scope, receive, with_headers)


def create_app(config: str | Path | None = None) -> Starlette:
    context = WebContext(config_dir(config))
    app = Starlette(
        routes=[*routes(), Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")],
        middleware=[Middleware(SecurityHeaders),
                    Middleware(SessionMiddleware, secret_key=people.app_secret(context.store),
                               session_cookie="schoolaudit_session", max_age=SESSION_HOURS * 3600,
                               same_site="lax", https_only=context.settings.web.secure_cookies)])
    app.state.context = context
    return app
