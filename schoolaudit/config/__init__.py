"""Reading the board's configuration folder: settings.toml, accounts.toml, recipients.toml,
policy.toml and rules/*.toml, each checked against its schema.

Every problem is a `Problem` naming the file and line, so that a person editing the TOML by hand
can go straight to it; `check_folder` finds all of them at once, `load_folder` (and `load_app`)
raise one `ConfigError` listing them before any work starts.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from schoolaudit.config.files import ConfigError, ConfigFile, Problem

# The rest is imported when first asked for (PEP 562): the policy part imports every auditor, and
# a command that only needs ConfigError (or `--help`) should not pay for that.
_LAZY = {
    "schoolaudit.config.folder": ("CONFIG_ENV", "DEFAULT_CONFIG_DIR", "Folder", "check_folder", "config_dir",
                                  "load_folder"),
    "schoolaudit.config.policy": ("check_policy", "load_policy"),
    "schoolaudit.config.recipients": ("Recipient", "check_recipients", "load_recipients"),
    "schoolaudit.config.registry": ("Registry", "_account", "check_registry", "load_registry"),
    "schoolaudit.config.settings": ("Settings", "check_settings", "defaults", "load_settings"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}

__all__ = ["ConfigError", "ConfigFile", "Problem", "read_toml", *_HOME]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def read_toml(path: Path) -> dict:
    """A TOML file's data, or ConfigError naming its line."""
    file = ConfigFile.read(path)
    file.raise_problems()
    return file.data
