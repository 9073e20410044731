"""Shared test fixtures: the ../shared folder (skipped when absent) and a demo board on a local server."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schoolaudit.demo import SITE_DIR, DemoSite, write_demo_config

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (a user's clone has none)")
    return SHARED


@pytest.fixture
def site_dir(tmp_path) -> Path:
    """A writable copy of the demo site, so a test can edit feeds between runs."""
    root = tmp_path / "site"
    shutil.copytree(SITE_DIR, root)
    return root


@pytest.fixture
def demo_site(site_dir):
    with DemoSite(site_dir) as site:
        yield site


@pytest.fixture
def demo_config(tmp_path, demo_site) -> Path:
    """A configuration folder for the demo board on the local server, data under tmp_path."""
    return write_demo_config(tmp_path / "run", demo_site.base_url)
