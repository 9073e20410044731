"""The auditor contract: a post in, findings out.

An auditor is a small class with a `name`, the `categories` it may emit and an `audit` method.
It reads what it needs from the `AuditContext` (the policy for its categories, the account
that posted, the board's own handles) and never touches the network or the database.
An auditor whose requirements are missing (a model package, a setting) raises `Disabled`
from its constructor with a reason; the registry reports the reason once and carries on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Protocol

from records.model import Account, Finding, Post


class Disabled(Exception):
    """Raised by an auditor's constructor when it cannot run here; the message says why."""


class RulesError(ValueError):
    """A rules file the auditors cannot use; `key_path` (e.g. `("rules", 2)`) says where, when known.
    The configuration layer reports it as a problem of that file and line."""

    def __init__(self, message: str, key_path: tuple = ()):
        super().__init__(message)
        self.key_path = tuple(key_path)


@dataclass(frozen=True)
class CategoryPolicy:
    """What the board's policy says about one category (from config/policy.toml)."""

    name: str
    clause: str
    severity: str
    enabled: bool = True
    rules: dict = field(default_factory=dict)  # category-specific data: terms, patterns, exceptions


@dataclass(frozen=True)
class Policy:
    categories: dict[str, CategoryPolicy]
    own_handles: frozenset[str] = frozenset()  # the board's and its schools' registered accounts
    partner_handles: frozenset[str] = frozenset()  # partners whose posts may be shared
    accepted_sponsors: frozenset[str] = frozenset()
    config_dir: Path | None = None  # the folder the policy was read from
    rule_files: dict = field(default_factory=dict)  # every rules/NAME.toml by NAME, for auditors beyond categories

    def __getitem__(self, category: str) -> CategoryPolicy:
        return self.categories[category]

    def enabled(self, category: str) -> bool:
        cat = self.categories.get(category)
        return bool(cat and cat.enabled)

    def is_family(self, handle: str) -> bool:
        """True for the board's own registered accounts and its configured partners."""
        key = handle_key(handle)
        return key in self.own_handles or key in self.partner_handles


def handle_key(handle: str) -> str:
    """Handles and URLs compare without '@', case or a trailing slash."""
    return handle.strip().lstrip("@").rstrip("/").lower()


@dataclass(frozen=True)
class AuditContext:
    policy: Policy
    account: Account | None = None  # None when classifying loose posts

    @property
    def account_kind(self) -> str:
        return self.account.kind if self.account else "school"

    def finding(self, category: str, evidence: str, explanation: str, auditor: str, **extra) -> Finding:
        """A finding carrying the policy's clause and severity for `category`."""
        cat = self.policy[category]
        severity = extra.pop("severity", cat.severity)
        return Finding(category, severity, evidence, explanation, cat.clause, auditor, **extra)


class Auditor(Protocol):
    name: str
    categories: tuple[str, ...]

    def audit(self, post: Post, context: AuditContext) -> Iterable[Finding]: ...
