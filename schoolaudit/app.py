"""Loading what a command needs (settings, registry, policy, store) from the configuration folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditors.base import Policy
from records.store import Store
from schoolaudit.config import Registry, Settings, config_dir, load_folder


@dataclass
class App:
    settings: Settings
    registry: Registry
    policy: Policy
    store: Store

    def close(self) -> None:
        self.store.close()


def load_app(config: str | Path | None) -> App:
    """The folder checked as a whole first (one ConfigError listing every problem), so that no work
    starts on a folder with a mistake in it."""
    folder = load_folder(config_dir(config))
    return App(folder.settings, folder.registry, folder.policy, Store(folder.settings.database))
