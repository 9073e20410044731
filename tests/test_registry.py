"""`accounts check`: every registry problem reported with file and line."""
from __future__ import annotations

import os
import shutil

import pytest

from schoolaudit.cli import main
from schoolaudit.config import DEFAULT_CONFIG_DIR

BAD_REGISTRY = '''[board]
name = "Test board"

[[schools]]
id = "north"
name = "North PS"

[[accounts]]
id = "north-news"
kind = "school"
school = "north"
platform = "rss"
url = "https://example.org/feed"

[[accounts]]
id = "north-news"
kind = "school"
school = "north"
platform = "rss"
url = "https://example.org/other"

[[accounts]]
id = "north-tiktok"
kind = "club"
school = "north"
platform = "tiktok"
handle = "@north"

[[accounts]]
id = "north-club"
kind = "club"
school = "north"
platform = "rss"

[[accounts]]
id = "south-news"
kind = "school"
school = "south"
platform = "rss"
url = "https://example.org/south"

[[accounts]]
id = "north-copy"
kind = "school"
school = "north"
platform = "rss"
url = "https://example.org/feed"
'''


def _config(tmp_path, registry: str):
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    (config / "accounts.toml").write_text(registry)
    return config


def test_check_reports_every_problem_with_file_and_line(tmp_path, capsys):
    config = _config(tmp_path, BAD_REGISTRY)
    assert main(["--config", str(config), "accounts", "check"]) == 1
    out = capsys.readouterr().out
    path = config / "accounts.toml"
    assert f"{path}:15: duplicate account id 'north-news'" in out
    assert f"{path}:22: account 'north-tiktok': unknown platform 'tiktok'" in out
    assert f"{path}:29: account 'north-club': needs a 'url' or a 'handle'" in out
    assert f"{path}:35: account 'south-news': unknown school 'south'" in out
    assert f"{path}:42: account 'north-copy': duplicate of account 'north-news'" in out
    assert "5 problem(s)" in out


def test_check_passes_on_the_bundled_example(capsys):
    assert main(["--config", str(DEFAULT_CONFIG_DIR), "accounts", "check"]) == 0
    assert "no problems" in capsys.readouterr().out


def test_toml_syntax_error_names_the_line(tmp_path, capsys):
    config = _config(tmp_path, '[[accounts]]\nid = "x"\nname = "unterminated\n')
    assert main(["--config", str(config), "accounts", "check"]) == 2
    assert f"{config / 'accounts.toml'}:3" in capsys.readouterr().err


def test_plugin_entry_points_are_read_again_when_the_installation_changes(tmp_path, monkeypatch):
    """The entry points kept in the cache folder follow a package installed, changed or removed
    in a folder already on the path, as importlib.metadata reads them."""
    from importlib.metadata import entry_points as installed

    from auditors.plugins import entry_points

    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path / "cache"))
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    group = "schoolaudit.commands"

    def listed() -> list[tuple[str, str]]:
        found = [(entry.name, entry.value) for entry in entry_points(group)]
        assert found == [(entry.name, entry.value) for entry in installed(group=group)]
        return found

    before = listed()
    assert listed() == before and list((tmp_path / "cache").glob("entry-points-*.json"))  # kept, then read back
    info = site / "schoolaudit_extra-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: schoolaudit-extra\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\nextra = schoolaudit_extra.command\n")
    assert listed() == [*before, ("extra", "schoolaudit_extra.command")]
    (info / "entry_points.txt").write_text(f"[{group}]\nextra = schoolaudit_extra.other\n")
    os.utime(info / "entry_points.txt", ns=(1, 1))  # a change the clock's resolution cannot hide
    assert listed() == [*before, ("extra", "schoolaudit_extra.other")]
    # reinstalled with the archive's modification time kept (rsync -a, cp -p): same time, other entry points
    (info / "entry_points.txt").write_text(f"[{group}]\nextra = schoolaudit_extra.third\n")
    os.utime(info / "entry_points.txt", ns=(1, 1))
    assert listed() == [*before, ("extra", "schoolaudit_extra.third")]
    shutil.rmtree(info)
    assert listed() == before


@pytest.fixture
def homeless(tmp_path, monkeypatch):
    """A service account with neither $HOME nor a passwd entry, its temporary folder `tmp_path`."""
    from pathlib import Path

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    for name in ("SCHOOLAUDIT_CACHE", "XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    return tmp_path


def test_a_user_without_a_home_folder_keeps_the_cache_in_the_temporary_folder(homeless):
    """A service account with neither $HOME nor a passwd entry: Path.home() raises RuntimeError, which
    every command (even --help, through the plugins' entry points) met at start-up."""
    from auditors import cache
    from auditors.plugins import entry_points

    assert cache.cache_dir().parent == homeless
    entry_points("schoolaudit.commands")  # raised RuntimeError
    assert list(homeless.glob("schoolaudit-cache-*/entry-points-*.json"))
    folder = cache.cache_dir()
    assert folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o777)  # as if another user had made it first, for all to write in
    own = cache.cache_dir()
    assert own != folder and own.parent == homeless and cache.cache_dir() == own


def test_a_link_planted_at_the_temporary_cache_folder_is_not_followed(homeless):
    """Another user could plant the folder's name as a link to a private folder of this user's (~/.ssh):
    the cache would then be written and pruned there."""
    from auditors import cache

    private = homeless / "private"
    private.mkdir(mode=0o700)
    (homeless / f"schoolaudit-cache-{os.getuid()}").symlink_to(private)
    assert cache.cache_dir().resolve() != private.resolve()


def test_a_pattern_balanced_only_by_the_joining_is_refused():
    """"a)|(b" is not a pattern; wrapped as the auditors join patterns it would compile, meaning "(?:a)|(b)"."""
    from auditors.cache import pattern_error

    assert "unbalanced parenthesis" in pattern_error("a)|(b")
    assert pattern_error("(?:a)|(b)") is None
