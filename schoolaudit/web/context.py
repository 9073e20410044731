"""What every request of the review app needs (`WebContext`): built once by `app.create_app`, read by the routes."""
from __future__ import annotations

import threading
from pathlib import Path
from zoneinfo import ZoneInfo

from records.store import Store
from schoolaudit.config import Registry, Settings, load_registry, load_settings
from schoolaudit.reporting import ReportBuilder
from schoolaudit.web.oidc import OidcOptions


class WebContext:
    """What every request needs: settings, registry, and a store for the thread serving it."""

    def __init__(self, directory: Path):
        self.config_dir = directory
        self.settings: Settings = load_settings(directory)
        self.registry: Registry = load_registry(directory)
        oidc_options = OidcOptions.from_settings(self.settings)  # refuses password_sign_in = false without it
        self.oidc = None
        if oidc_options:
            from schoolaudit.web.oidc_client import OidcSignIn
            self.oidc = OidcSignIn(oidc_options)
        self.zone = ZoneInfo(self.settings.timezone)
        self._local = threading.local()
        # sqlite3 connections belong to the thread that opened them
        self.store.sync_accounts(self.registry.accounts)

    @property
    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.settings.database)
        return store

    def thumbnails(self) -> ReportBuilder:
        return ReportBuilder(self.settings, self.registry, self.store)
