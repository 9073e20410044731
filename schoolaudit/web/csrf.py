"""CSRF protection: one random token per session, required on every form that changes something.

The token is in each page's `<meta name="csrf-token">` and in every form's hidden `csrf_token`
field; a request without the session's token is refused with 403.
"""
from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"


def token(request: Request) -> str:
    """The session's token, made on first use."""
    value = request.session.get("csrf")
    if not value:
        value = request.session["csrf"] = secrets.token_urlsafe(32)
    return value


def valid(request: Request, form) -> bool:
    expected = request.session.get("csrf")
    given = form.get(FIELD) or request.headers.get(HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(given), expected)
