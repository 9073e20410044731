"""Loading what a command needs (settings, registry, policy, store) from the configuration folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditors.base import Policy
from records.store import Store
from schoolaudit.config import Registry, Settings, config_dir, load_policy, load_registry, load_settings


@dataclass
class App:
    settings: Settings
    registry: Registry
    policy: Policy
    store: Store

    def close(self) -> None:
        self.store.close()


def load_app(config: str | Path | None) -> App:
    directory = config_dir(config)
    settings = load_settings(directory)
    registry = load_registry(directory)
    policy = load_policy(directory, settings, registry)
    return App(settings, registry, policy, Store(settings.database))
