"""Reading the board's configuration: settings.toml, accounts.toml, policy.toml and rules/*.toml.

Every problem is reported as `ConfigError` naming the file and line, so that a person editing
the TOML by hand can go straight to it.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from auditors.base import CategoryPolicy, Policy, handle_key
from crawler.http import ClientSettings
from records.model import ACCOUNT_KINDS, CATEGORIES, SEVERITIES, Account
from crawler.sources import SOURCES

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
CONFIG_ENV = "SCHOOLAUDIT_CONFIG"


class ConfigError(Exception):
    """A problem in a configuration file; str() is one line naming file and line."""


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Settings:
    config_dir: Path
    board_name: str = "School board"
    contact_url: str = "https://www.example.org/schoolaudit-contact"
    timezone: str = "America/Toronto"
    database: Path = Path("schoolaudit-data/schoolaudit.db")
    media_dir: Path = Path("schoolaudit-data/media")
    reports_dir: Path = Path("schoolaudit-data/reports")
    posts_per_account: int = 50
    timeout_seconds: float = 20.0
    max_body_bytes: int = 5_000_000
    partner_handles: tuple[str, ...] = ()
    accepted_sponsors: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict)  # the whole file, for sections later features read

    def client_settings(self) -> ClientSettings:
        """The polite client's settings from [crawl], as every command that fetches uses them."""
        return ClientSettings.from_table({**self.raw.get("crawl", {}), "timeout_seconds": self.timeout_seconds,
                                          "max_body_bytes": self.max_body_bytes})


@dataclass
class Registry:
    board: dict
    schools: dict[str, str]  # id -> name
    accounts: list[Account]

    def get(self, account_id: str) -> Account:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(f"no account {account_id!r} in the registry (see `schoolaudit accounts list`)")


def config_dir(explicit: str | Path | None = None) -> Path:
    """--config, else $SCHOOLAUDIT_CONFIG, else ./config when present, else the bundled example."""
    for candidate in (explicit, os.environ.get(CONFIG_ENV)):
        if candidate:
            return Path(candidate).resolve()
    local = Path.cwd() / "config"
    return local.resolve() if (local / "settings.toml").exists() else DEFAULT_CONFIG_DIR


def read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"{path}:{line.group(1) if line else 1}: {exc}") from None


def load_settings(directory: Path) -> Settings:
    path = directory / "settings.toml"
    data = read_toml(path)
    board, storage, crawl = data.get("board", {}), data.get("storage", {}), data.get("crawl", {})
    resolve = lambda value, default: (directory / (value or default)).resolve()  # noqa: E731
    return Settings(
        config_dir=directory,
        board_name=board.get("name", "School board"),
        contact_url=board.get("contact_url", Settings.contact_url),
        timezone=board.get("timezone", "America/Toronto"),
        database=resolve(storage.get("database"), "schoolaudit-data/schoolaudit.db"),
        media_dir=resolve(storage.get("media_dir"), "schoolaudit-data/media"),
        reports_dir=resolve(storage.get("reports_dir"), "schoolaudit-data/reports"),
        posts_per_account=int(crawl.get("posts_per_account", 50)),
        timeout_seconds=float(crawl.get("timeout_seconds", 20)),
        max_body_bytes=int(crawl.get("max_body_bytes", 5_000_000)),
        partner_handles=tuple(data.get("partners", {}).get("handles", [])),
        accepted_sponsors=tuple(data.get("sponsors", {}).get("accepted", [])),
        raw=data,
    )


def _table_lines(text: str, header: str) -> list[int]:
    """1-based line numbers of each `[[header]]` in order, to name the line of an entry."""
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(header)}\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]


def check_registry(path: Path) -> tuple[Registry, list[Problem]]:
    """The registry in `path` and every problem in it (unknown platform, missing target, duplicates...)."""
    data = read_toml(path)
    text = path.read_text(encoding="utf-8")
    problems: list[Problem] = []
    school_lines = _table_lines(text, "schools")
    schools: dict[str, str] = {}
    for index, school in enumerate(data.get("schools", [])):
        line = school_lines[index] if index < len(school_lines) else 1
        if not school.get("id"):
            problems.append(Problem(path, line, "school has no id"))
        elif school["id"] in schools:
            problems.append(Problem(path, line, f"duplicate school id {school['id']!r}"))
        else:
            schools[school["id"]] = school.get("name", school["id"])
    accounts, seen_ids, seen_targets = [], set(), {}
    account_lines = _table_lines(text, "accounts")
    for index, entry in enumerate(data.get("accounts", [])):
        line = account_lines[index] if index < len(account_lines) else 1
        account, entry_problems = _account(entry, schools, seen_ids, seen_targets)
        problems.extend(Problem(path, line, message) for message in entry_problems)
        if account:
            accounts.append(account)
    return Registry(data.get("board", {}), schools, accounts), problems


def _account(entry: dict, schools: dict, seen_ids: set, seen_targets: dict) -> tuple[Account | None, list[str]]:
    problems = []
    account_id = entry.get("id")
    label = f"account {account_id!r}" if account_id else "account"
    if not account_id:
        problems.append("account has no id")
    elif account_id in seen_ids:
        problems.append(f"duplicate account id {account_id!r}")
    platform = entry.get("platform")
    if platform not in SOURCES:
        problems.append(f"{label}: unknown platform {platform!r} (known: {', '.join(sorted(SOURCES))})")
    target = entry.get("url") or entry.get("handle")
    if not target:
        problems.append(f"{label}: needs a 'url' or a 'handle'")
    elif (platform, target) in seen_targets:
        problems.append(f"{label}: duplicate of account {seen_targets[(platform, target)]!r} ({platform} {target})")
    kind = entry.get("kind")
    if kind not in ACCOUNT_KINDS:
        problems.append(f"{label}: kind must be one of {', '.join(ACCOUNT_KINDS)}, not {kind!r}")
    school = entry.get("school")
    if school and school not in schools:
        problems.append(f"{label}: unknown school {school!r}")
    elif not school and kind != "board":
        problems.append(f"{label}: needs a 'school' (only kind = \"board\" accounts may have none)")
    if problems:
        return None, problems
    seen_ids.add(account_id)
    seen_targets[(platform, target)] = account_id
    return Account(
        id=account_id, name=entry.get("name", account_id), kind=kind, platform=platform, target=target,
        school=school, contacts=tuple(entry.get("contacts", [])), api_base=entry.get("api_base"),
    ), []


def load_registry(directory: Path) -> Registry:
    registry, problems = check_registry(directory / "accounts.toml")
    if problems:
        raise ConfigError(f"{problems[0]} (and {len(problems) - 1} more; run `schoolaudit accounts check`)"
                          if len(problems) > 1 else str(problems[0]))
    return registry


def load_policy(directory: Path, settings: Settings | None = None, registry: Registry | None = None) -> Policy:
    """The policy: clauses and severities from policy.toml, words and patterns from rules/*.toml."""
    path = directory / "policy.toml"
    data = read_toml(path).get("categories", {})
    rule_files = {p.stem: read_toml(p) for p in sorted((directory / "rules").glob("*.toml"))}
    categories = {}
    for name in CATEGORIES:
        entry = data.get(name, {})
        severity = entry.get("severity", "medium")
        if severity not in SEVERITIES:
            raise ConfigError(f"{path}: [categories.{name}] severity must be one of {', '.join(SEVERITIES)}")
        categories[name] = CategoryPolicy(name, entry.get("clause", ""), severity, entry.get("enabled", True),
                                          rule_files.get(name, {}))
    unknown = set(data) - set(CATEGORIES)
    if unknown:
        raise ConfigError(f"{path}: unknown categories {', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})")
    own = {handle_key(a.target) for a in registry.accounts} if registry else set()
    return Policy(
        categories=categories,
        own_handles=frozenset(own),
        partner_handles=frozenset(handle_key(h) for h in (settings.partner_handles if settings else ())),
        accepted_sponsors=frozenset(settings.accepted_sponsors if settings else ()),
        config_dir=directory,
        rule_files=rule_files,
    )

