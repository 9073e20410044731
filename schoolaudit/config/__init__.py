"""Reading the board's configuration folder: settings.toml, accounts.toml, recipients.toml,
policy.toml and rules/*.toml, each checked against its schema.

Every problem is a `Problem` naming the file and line, so that a person editing the TOML by hand
can go straight to it; `check_folder` finds all of them at once, `load_folder` (and `load_app`)
raise one `ConfigError` listing them before any work starts.
"""
from __future__ import annotations

from pathlib import Path

from schoolaudit.config.files import ConfigError, ConfigFile, Problem
from schoolaudit.config.folder import CONFIG_ENV, DEFAULT_CONFIG_DIR, Folder, check_folder, config_dir, load_folder
from schoolaudit.config.policy import check_policy, load_policy
from schoolaudit.config.recipients import Recipient, check_recipients, load_recipients
from schoolaudit.config.registry import Registry, _account, check_registry, load_registry
from schoolaudit.config.settings import Settings, check_settings, defaults, load_settings

__all__ = [
    "CONFIG_ENV", "DEFAULT_CONFIG_DIR", "ConfigError", "ConfigFile", "Folder", "Problem", "Recipient", "Registry",
    "Settings", "_account", "check_folder", "check_policy", "check_recipients", "check_registry", "check_settings",
    "config_dir", "defaults", "load_folder", "load_policy", "load_recipients", "load_registry", "load_settings",
    "read_toml",
]


def read_toml(path: Path) -> dict:
    """A TOML file's data, or ConfigError naming its line."""
    file = ConfigFile.read(path)
    file.raise_problems()
    return file.data
