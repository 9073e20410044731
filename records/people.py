"""People of the review app: users and their scope, sign-in attempts, the app's secret, the editable
list of dismissal reasons and the append-only audit log of every decision and sign-in.

Functions take the `Store`; this module and `records.queue` hold all the SQL of the web app.
Passwords arrive here already hashed (the application hashes them with argon2).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from typing import TYPE_CHECKING

from records.model import utcnow

if TYPE_CHECKING:  # the store imports sqlite-utils and the schema
    from records.store import Store

ROLES = ("admin", "reviewer", "viewer")
SCOPE_PATTERN = re.compile(r"^(board|school:[\w.-]+|account:[\w.-]+)$")
@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    scope: str

    @property
    def can_decide(self) -> bool:
        return self.role in ("admin", "reviewer")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class PeopleError(Exception):
    """A user that cannot be added or removed; str() says why."""


def _user(row: dict) -> User:
    return User(row["id"], row["email"], row["name"] or "", row["role"], row["scope"])


def add_user(store: Store, email: str, role: str, scope: str, password_hash: str | None, name: str = "") -> User:
    email = email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise PeopleError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise PeopleError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if not SCOPE_PATTERN.match(scope):
        raise PeopleError(f'scope must be "board", "school:ID" or "account:ID", not {scope!r}')
    with store.transaction():
        if user_by_email(store, email):
            raise PeopleError(f"{email} is already a user (remove them first to change role or scope)")
        store.db["users"].insert({"email": email, "name": name, "role": role, "scope": scope,
                                  "password_hash": password_hash, "created_at": utcnow().isoformat()})
    return user_by_email(store, email)


def remove_user(store: Store, email: str) -> bool:
    with store.transaction():
        cursor = store.db.execute("DELETE FROM users WHERE email = ?", [email.strip().lower()])
    return cursor.rowcount > 0


def list_users(store: Store) -> list[User]:
    return [_user(r) for r in store.db.query("SELECT * FROM users ORDER BY email")]


def user_by_email(store: Store, email: str) -> User | None:
    rows = list(store.db.query("SELECT * FROM users WHERE email = ?", [email.strip().lower()]))
    return _user(rows[0]) if rows else None


def user_by_id(store: Store, user_id: int) -> User | None:
    rows = list(store.db.query("SELECT * FROM users WHERE id = ?", [user_id]))
    return _user(rows[0]) if rows else None


def password_hash(store: Store, email: str) -> str | None:
    rows = list(store.db.query("SELECT password_hash FROM users WHERE email = ?", [email.strip().lower()]))
    return rows[0]["password_hash"] if rows else None


def set_password_hash(store: Store, email: str, hashed: str) -> None:
    """A rehash with newer argon2 parameters, stored on the next successful sign-in."""
    with store.transaction():
        store.db.execute("UPDATE users SET password_hash = ? WHERE email = ?", [hashed, email.strip().lower()])


# -- sign-in attempts (rate limit) ---------------------------------------------------------------

def record_signin_attempt(store: Store, email: str, client: str, ok: bool) -> None:
    with store.transaction():
        store.db["signin_attempts"].insert({"email": email.strip().lower(), "client": client,
                                            "at": utcnow().isoformat(), "ok": int(ok)})


def failed_signins_since(store: Store, email: str, client: str, since: str) -> tuple[int, int]:
    """Failed attempts since `since` (UTC ISO): (for this e-mail, from this client)."""
    row = next(iter(store.db.query(
        """SELECT SUM(email = ?) AS by_email, SUM(client = ?) AS by_client FROM signin_attempts
           WHERE ok = 0 AND at >= ?""", [email.strip().lower(), client, since])))
    return row["by_email"] or 0, row["by_client"] or 0


# -- the app's signing secret --------------------------------------------------------------------

def app_secret(store: Store, name: str = "session") -> str:
    """A random secret made once and kept in the database, so sessions survive a restart."""
    with store.transaction():
        store.db.execute("INSERT OR IGNORE INTO app_secrets VALUES (?, ?)", [name, secrets.token_urlsafe(48)])
        return next(iter(store.db.query("SELECT value FROM app_secrets WHERE name = ?", [name])))["value"]


# -- dismissal reasons ---------------------------------------------------------------------------

def review_reasons(store: Store) -> list[str]:
    return [r["label"] for r in store.db.query("SELECT label FROM review_reasons ORDER BY position, id")]


def set_review_reasons(store: Store, labels: list[str]) -> None:
    labels = [label.strip() for label in labels if label.strip()]
    with store.transaction():
        store.db.execute("DELETE FROM review_reasons")
        store.db["review_reasons"].insert_all({"label": label, "position": n} for n, label in enumerate(labels))


# -- the append-only audit log -------------------------------------------------------------------

AUDIT_COLUMNS = ("id", "at", "actor", "event", "finding_id", "detail", "client")


def log_event(store: Store, actor: str, event: str, detail: str = "", finding_id: int | None = None,
              client: str = "") -> None:
    with store.transaction():
        store.db["audit_log"].insert({"at": utcnow().isoformat(), "actor": actor, "event": event,
                                      "finding_id": finding_id, "detail": detail, "client": client})


def audit_entries(store: Store, since: str | None = None) -> list[dict]:
    return list(store.db.query(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log WHERE at >= ? ORDER BY id",
                               [since or ""]))
