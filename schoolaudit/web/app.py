"""Building the Starlette application: its routes, its context (settings, the store per thread: `context.py`), sessions
and security headers."""
from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles
from starlette.routing import Mount

from records import people
from schoolaudit.config import config_dir
from schoolaudit.web.context import WebContext
from schoolaudit.web.routes import routes

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_HOURS = 12
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")


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
