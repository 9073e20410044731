"""The secrets schoolaudit reads from the environment, and their removal from anything it keeps or shows.

Tokens are read through `token()`, stripped of the whitespace and CR/LF an env file written on
Windows leaves behind. `redact(text)` replaces every known secret (platform tokens and the SMTP
password) in the forms a server or a library may echo it back: raw, URL-encoded, and base64 at
any alignment inside a longer base64 text, plus the SMTP login as AUTH PLAIN (`\\0user\\0password`)
and AUTH LOGIN (user and password base64-encoded one by one) send it. Token-like query
parameters (`access_token=...`) are cut whatever their value. `FetchError` redacts its detail on
creation, the mailer redacts its delivery errors, and `install_log_redaction()` redacts log records.
"""
from __future__ import annotations

import base64
import logging
import os
import re
from urllib.parse import quote, quote_plus

#: Environment variables whose values are secrets (tokens, the SMTP password, the review app's OIDC client secret).
SECRET_ENVS = ("SCHOOLAUDIT_X_BEARER_TOKEN", "SCHOOLAUDIT_FACEBOOK_TOKEN", "SCHOOLAUDIT_INSTAGRAM_TOKEN",
               "SCHOOLAUDIT_SMTP_PASSWORD", "SCHOOLAUDIT_OIDC_CLIENT_SECRET")
#: The SMTP login: not secret itself, but part of the AUTH exchange that carries the password.
SMTP_USER_ENV, SMTP_PASSWORD_ENV = "SCHOOLAUDIT_SMTP_USER", "SCHOOLAUDIT_SMTP_PASSWORD"

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words; no real token is that short

_SECRET_PARAMS = re.compile(r"\b((?:access_token|client_secret|appsecret_proof|token|key)=)[^&\s\"']+",
                            re.IGNORECASE)


def token(name: str) -> str | None:
    """The value of environment variable `name` without surrounding whitespace; None when empty or unset."""
    return (os.environ.get(name) or "").strip() or None


def _values(name: str) -> set[str]:
    """The value as set and as stripped: a password with a stray CR/LF may be sent either way."""
    raw = os.environ.get(name) or ""
    return {value for value in (raw, raw.strip()) if len(value.strip()) >= MIN_SECRET_LENGTH}


def _base64_inside(data: bytes) -> set[str]:
    """The base64 characters that `data` alone decides, at each of the three offsets it may start at."""
    found = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii").rstrip("=")
        start, end = -(-offset * 8 // 6), (offset + len(data)) * 8 // 6
        found.add(encoded[start:end])
        found.add(encoded[start:end].replace("+", "-").replace("/", "_"))  # the URL-safe alphabet
    return {form for form in found if len(form) >= MIN_SECRET_LENGTH}


def _forms(secret: str) -> set[str]:
    data = secret.encode("utf-8")
    return {secret, quote(secret, safe=""), quote_plus(secret)} | _base64_inside(data)


def _smtp_login_forms() -> set[str]:
    """AUTH PLAIN's `[user]\\0user\\0password` blob and AUTH LOGIN's base64 user name."""
    users = {user for user in {os.environ.get(SMTP_USER_ENV) or "", token(SMTP_USER_ENV) or ""} if user}
    forms = {base64.b64encode(user.encode()).decode() for user in users if len(user) >= MIN_SECRET_LENGTH}
    for user in users:
        for password in _values(SMTP_PASSWORD_ENV) or {""}:
            for blob in (f"\0{user}\0{password}", f"{user}\0{user}\0{password}"):
                forms.add(base64.b64encode(blob.encode()).decode())
    return forms


def known_secrets() -> list[str]:
    """Every form of every secret set in the environment, longest first (so no part of one is left)."""
    forms = _smtp_login_forms()
    for name in SECRET_ENVS:
        for value in _values(name):
            forms |= _forms(value) | _forms(value.strip())
    return sorted(forms, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` without token query parameters and without any known secret in any of its forms."""
    text = _SECRET_PARAMS.sub(r"\1" + MASK, text or "")
    for form in known_secrets():
        text = text.replace(form, MASK)
    return text


def install_log_redaction() -> None:
    """Redact every log record (its message and its traceback) as it is created, whichever handler shows it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts = True
    logging.setLogRecordFactory(factory)
