"""Password hashing with argon2id (argon2-cffi), and reading a new password from a person."""
from __future__ import annotations

import getpass
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash("no such user")
MIN_LENGTH = 8  # NIST SP 800-63B minimum for a chosen password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _UNKNOWN_USER_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def read_new_password() -> str:
    """The first line of standard input when it is not a terminal; else asked twice, not echoed."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("the two passwords differ")
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password needs at least {MIN_LENGTH} characters")
    return password
