"""Loading what a command needs (settings, registry, policy, store) from the configuration folder."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from auditors.base import Policy
from records.store import Store
from schoolaudit.config import DEFAULT_CONFIG_DIR, Registry, Settings, config_dir, load_folder


@dataclass
class App:
    settings: Settings
    registry: Registry
    policy: Policy
    store: Store

    def close(self) -> None:
        self.store.close()


def load_app(config: str | Path | None, announce: bool = True) -> App:
    """The folder checked as a whole first (one ConfigError listing every problem), so that no work
    starts on a folder with a mistake in it. `announce`: say on stderr which folder and database are used."""
    folder = load_folder(config_dir(config))
    if announce:
        print(using_line(folder.directory, folder.settings.database), file=sys.stderr, flush=True)
    return App(folder.settings, folder.registry, folder.policy, Store(folder.settings.database))


def using_line(directory: Path, database: Path) -> str:
    """The first line of a command's run: a result is only meaningful with the folder and database it came from."""
    example = " (the bundled example; pass --config DIR for yours)" if directory == DEFAULT_CONFIG_DIR else ""
    return f"schoolaudit: configuration {directory}{example}, database {database}"
