"""A whole configuration folder checked at once: every problem of every file, then the loaded parts."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from auditors.base import Policy
from schoolaudit.config.files import ConfigError, ConfigFile, Problem
from schoolaudit.config.policy import check_policy
from schoolaudit.config.recipients import Recipient, check_recipients
from schoolaudit.config.registry import Registry, registry_of
from schoolaudit.config.schema import did_you_mean
from schoolaudit.config.settings import Settings, check_settings


def _example_config_dir() -> Path:
    """The bundled example configuration: schoolaudit/example_config in an installed wheel (pyproject.toml
    maps config/ there), else config/ at the top of a source checkout or editable install."""
    installed = Path(files("schoolaudit"), "example_config")
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "config"


DEFAULT_CONFIG_DIR = _example_config_dir()
CONFIG_ENV = "SCHOOLAUDIT_CONFIG"


def config_dir(explicit: str | Path | None = None) -> Path:
    """--config, else $SCHOOLAUDIT_CONFIG, else ./config when present, else the bundled example."""
    for candidate in (explicit, os.environ.get(CONFIG_ENV)):
        if candidate:
            return Path(candidate).resolve()
    local = Path.cwd() / "config"
    return local.resolve() if (local / "settings.toml").exists() else DEFAULT_CONFIG_DIR


@dataclass
class Folder:
    """What a configuration folder holds; the parts are None when their files have problems."""

    directory: Path
    settings: Settings | None = None
    registry: Registry | None = None
    policy: Policy | None = None
    recipients: list[Recipient] = field(default_factory=list)
    files: list[ConfigFile] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [problem for file in self.files for problem in file.problems]

    def summary(self) -> str:
        rules = sum(1 for f in self.files if f.path.parent.name == "rules")
        return (f"{self.directory} is valid: {len(self.registry.accounts)} accounts, {len(self.registry.schools)} schools, "
                f"{len(self.recipients)} recipients, {rules} rule files")


def check_folder(directory: Path) -> Folder:
    """Every file of `directory` read and checked, each against the others where they refer to each other."""
    settings, settings_file = check_settings(directory)
    accounts_file = ConfigFile.read(directory / "accounts.toml")
    registry = registry_of(accounts_file) if not accounts_file.problems else None
    if registry is not None:
        _check_schedule_accounts(settings_file, registry)
    clean_registry = registry if not accounts_file.problems else None
    recipients, recipients_file = check_recipients(directory, registry)
    policy, policy_files = check_policy(directory, settings, clean_registry)
    files = [settings_file, accounts_file, recipients_file, *policy_files]
    return Folder(directory, settings, clean_registry, policy, recipients, files)


def _check_schedule_accounts(file: ConfigFile, registry: Registry) -> None:
    """[schedule.accounts] keys must be registered accounts."""
    table = file.data.get("schedule", {}).get("accounts", {}) if isinstance(file.data.get("schedule"), dict) else {}
    known = [a.id for a in registry.accounts]
    for account_id in table if isinstance(table, dict) else ():
        if account_id not in known:
            file.add(("schedule", "accounts", account_id),
                     f"schedule.accounts: unknown account {account_id!r}{did_you_mean(account_id, known)}")


def load_folder(directory: Path) -> Folder:
    """The folder's parts, or one ConfigError listing every problem of every file."""
    folder = check_folder(directory)
    if folder.problems:
        raise ConfigError(problems=folder.problems)
    return folder
