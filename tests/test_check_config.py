"""`schoolaudit check` and the typed settings tree: every mistake of every file, one line each, with its line."""
from __future__ import annotations

import csv
import re
import shutil

import pytest

from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.config import DEFAULT_CONFIG_DIR, ConfigError, check_folder, check_registry, defaults, load_settings

from conftest import REPO

#: One misspelling per file: (file, what is written, what it becomes).
MISSPELT = [
    ("settings.toml", "timeout_seconds = 20\n", "timout_seconds = 20\n"),
    ("accounts.toml", 'contacts = ["communications@example.org"]', 'contact = ["communications@example.org"]'),
    ("recipients.toml", 'digests = ["nightly", "weekly", "alerts"]', 'digest = ["nightly", "weekly", "alerts"]'),
    ("policy.toml", 'severity = "low"', 'severty = "low"'),
    ("rules/text_model.toml", "threshold = 0.5", "treshold = 0.5"),
    ("rules/student_photo_image.toml", "face_score = 0.8", "face_scores = 0.8"),
    *[(f"rules/{name}.toml", "\nexplanation = ", "\nexplanaton = ")
      for name in ("endorsement_commercial", "endorsement_political", "explicit", "hostile", "privacy",
                   "religion_promotion", "student_photo", "substances")],
]


@pytest.fixture
def folder(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    return config


def _edit(path, old: str, new: str) -> int:
    """Replace the first `old` by `new`; the 1-based line where `new` ends up (its last line)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[:text.index(new) + len(new.rstrip("\n"))].count("\n") + 1


def _check(config, capsys) -> tuple[int, list[str]]:
    status = main(["--config", str(config), "check"])
    return status, capsys.readouterr().out.splitlines()


def test_a_misspelt_key_in_each_file_is_one_line_each_with_its_line(folder, capsys):
    expected = []
    for name, old, new in MISSPELT:
        line = _edit(folder / name, old, new)
        expected.append(f"{folder / name}:{line}: ")
    status, out = _check(folder, capsys)
    assert status == 1
    problems, summary = out[:-1], out[-1]
    assert summary == f"{len(MISSPELT)} problem(s) in {folder}"
    assert len(problems) == len(MISSPELT)
    for start in expected:
        assert any(line.startswith(start) and "unknown key" in line and "did you mean" in line for line in problems), \
            (start, problems)
    assert f"{folder / 'settings.toml'}" in problems[0] and "did you mean 'timeout_seconds'?" in problems[0]


def test_the_bundled_folder_is_valid_in_one_line(capsys):
    status, out = _check(DEFAULT_CONFIG_DIR, capsys)
    assert status == 0
    assert out == [f"{DEFAULT_CONFIG_DIR} is valid: 8 accounts, 2 schools, 4 recipients, 10 rule files"]


def test_a_misspelt_table_and_a_rule_key_from_the_issue(folder, capsys):
    settings_line = _edit(folder / "settings.toml", "[board]", "[boards]")
    rule_line = _edit(folder / "rules/substances.toml", "\nunless = [", "\nunles = [")
    rules_above = "\n".join((folder / "rules/substances.toml").read_text(encoding="utf-8").splitlines()[:rule_line])
    rule = rules_above.count("[[rules]]")  # the rule holding the first `unless` (1-based, as the message counts)
    status, out = _check(folder, capsys)
    assert status == 1
    assert f"{folder / 'settings.toml'}:{settings_line}: unknown key 'boards' (did you mean 'board'?)" in out
    assert f"{folder / 'rules/substances.toml'}:{rule_line}: unknown key 'unles' in rules[{rule}] (did you mean 'unless'?)" in out


@pytest.mark.parametrize("old, new, message", [
    ("posts_per_account = 50", 'posts_per_account = "fifty"', "crawl.posts_per_account must be a whole number, not 'fifty'"),
    ('timezone = "America/Toronto"', 'timezone = "Eastern"', "board.timezone must be an IANA timezone name"),
    ("timeout_seconds = 20\n", "timeout_seconds = 20\nconcurrency = 0\n", "crawl.concurrency must be at least 1, not 0"),
    ("allow_private_addresses = false", 'allow_private_addresses = "false"',
     "crawl.allow_private_addresses must be true or false, not 'false'"),
    ("timeout_seconds = 20\n", "timeout_seconds = -1\n", "crawl.timeout_seconds must be above 0, not -1"),
    ("max_body_bytes = 5_000_000", "max_body_bytes = -5", "crawl.max_body_bytes must be at least 1, not -5"),
    ("grace_minutes = 360", "grace_minutes = -10", "schedule.grace_minutes must be at least 0, not -10"),
    ("retries = 3", "retries = -1", "crawl.retries must be at least 0, not -1"),
    ("attempts = 3", "attempts = 0", "mail.attempts must be at least 1, not 0"),
    ('nightly = "30 2 * * *"', 'nightly = "at night"', "schedule.nightly must be a cron expression"),
    ('# "mrdsb-news" = "6h"', '"mrdsb-news" = "twice"', "schedule.accounts.mrdsb-news must be an interval"),
    ('# "mrdsb-news" = "6h"', '"mrdsb-newz" = "6h"', "schedule.accounts: unknown account 'mrdsb-newz' (did you mean 'mrdsb-news'?)"),
    ('security = "starttls"', 'security = "tls"', "mail.security must be one of starttls, ssl, none, not 'tls'"),
    ('alert_categories = ["explicit", "hostile"]', 'alert_categories = ["explicit", "hostil"]',
     "digest.alert_categories: 'hostil' must be a category"),
])
def test_a_bad_setting_is_one_line_and_no_work_starts(folder, data_dir, capsys, old, new, message):
    line = _edit(folder / "settings.toml", old, new)
    status, out = _check(folder, capsys)
    assert status == 1 and any(p.startswith(f"{folder / 'settings.toml'}:{line}: {message}") for p in out), out
    # Any command that works on the folder refuses it before starting (exit 2, no traceback, no hang).
    assert main(["--config", str(folder), "run", "nightly", "--dry-run", str(folder / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not data_dir.exists()  # no database was even created


def test_load_app_raises_one_error_listing_every_problem_of_every_file(folder):
    _edit(folder / "settings.toml", "posts_per_account = 50", 'posts_per_account = "fifty"')
    _edit(folder / "recipients.toml", 'scope = "school:birchwood-ps"', 'scope = "school:birchwood"')
    _edit(folder / "recipients.toml", '"weekly", "alerts"]', '"weekly", "monthly"]')
    with pytest.raises(ConfigError) as error:
        load_app(folder)
    lines = str(error.value).splitlines()
    assert len(lines) == 3 and len(error.value.problems) == 3
    assert any("unknown school 'birchwood' in scope" in line for line in lines)
    assert any("'monthly' must be one of nightly, weekly, alerts" in line for line in lines)


def test_typed_settings_carry_their_defaults(folder):
    text = (folder / "settings.toml").read_text()
    (folder / "settings.toml").write_text(re.sub(r"(?ms)^\[mail\].*", "[mail]\nsecurity = \"ssl\"\n", text))
    settings = load_settings(folder)
    assert settings.crawl.concurrency == 8 and settings.crawl.max_body_bytes == 5_000_000
    assert settings.mail.effective_port == 465 and settings.mail.host == "localhost"
    assert settings.client_settings().max_bytes == 5_000_000 and settings.crawl.timeout_seconds == 20.0


def test_the_review_address_is_kept_without_its_trailing_slash(folder):
    _edit(folder / "settings.toml", 'base_url = ""', 'base_url = "https://review.example.org/"')
    web = load_settings(folder).web
    assert web.base_url == "https://review.example.org" and web.secure_cookies


@pytest.mark.parametrize("old, new, message", [
    ('name = "Birchwood Public School"', 'name = "Birchwood\\nPublic School"', "must be without control characters"),
    ('name = "Cedar Heights Music"', 'name = "Cedar Heights\\u007fMusic"', "must be without control characters"),
    ('id = "cedar-heights-music"', 'id = "../../x"', "must be an id of ASCII letters"),
    ('id = "cedar-heights-music"', 'id = "cédar music"', "must be an id of ASCII letters"),
    ('id = "cedar-heights-ss"', 'id = ".hidden"', "must be an id of ASCII letters"),
])
def test_names_and_ids_are_refused_with_their_line(folder, old, new, message):
    line = _edit(folder / "accounts.toml", old, new)
    _, problems = check_registry(folder / "accounts.toml")
    assert any(p.line == line and message in p.message for p in problems), problems


def test_kind_team_is_accepted(folder):
    _edit(folder / "accounts.toml", 'kind = "club"', 'kind = "team"')
    registry, problems = check_registry(folder / "accounts.toml")
    assert problems == [] and registry.get("cedar-heights-music").kind == "team"


def test_import_refuses_control_characters_and_bad_ids_and_keeps_the_file_readable(folder, tmp_path, capsys):
    sheet = tmp_path / "accounts.csv"
    with sheet.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "kind", "school", "platform", "url"])
        writer.writerow(["del-club", "Chess\x7fClub", "club", "birchwood-ps", "rss", "https://example.org/a"])
        writer.writerow(["nl-club", "Chess\nClub", "club", "birchwood-ps", "rss", "https://example.org/b"])
        writer.writerow(["../../x", "Escape", "club", "birchwood-ps", "rss", "https://example.org/c"])
        writer.writerow(["good-team", "Hawks", "team", "birchwood-ps", "rss", "https://example.org/d"])
    assert main(["--config", str(folder), "accounts", "import", str(sheet)]) == 1
    out = capsys.readouterr().out
    assert f"{sheet}:2: account 'del-club': name must be without control characters" in out
    assert f"{sheet}:3: account 'nl-club': name must be without control characters" in out  # a quoted cell spans lines 3-4
    assert f"{sheet}:5: account '../../x': id must be an id of ASCII letters" in out
    assert "added 1 account to" in out
    assert main(["--config", str(folder), "check"]) == 0


def test_a_file_that_does_not_parse_does_not_hide_the_others(folder, capsys):
    (folder / "policy.toml").write_text('[categories.hostile]\nseverity = "high\n')
    _edit(folder / "settings.toml", "retries = 3", "retries = -1")
    status, out = _check(folder, capsys)
    assert status == 1
    assert any(line.startswith(f"{folder / 'policy.toml'}:2: ") for line in out)
    assert any(line.startswith(f"{folder / 'settings.toml'}:") and "crawl.retries" in line for line in out)


def test_every_setting_of_the_tree_is_in_the_readme_and_in_check_settings(capsys):
    readme = (REPO / "README.md").read_text(encoding="utf-8").split("### settings.toml", 1)[1].split("\n### ", 1)[0]
    assert main(["check", "--settings"]) == 0
    listed = capsys.readouterr().out
    for key, _default, _meaning in defaults():
        assert f"`{key}`" in readme, f"README does not document the setting `{key}`"
        assert listed.count(f"\n{key} = ") + listed.startswith(f"{key} = ") == 1


def test_check_folder_gives_the_typed_parts_of_a_valid_folder():
    folder = check_folder(DEFAULT_CONFIG_DIR)
    assert folder.problems == []
    assert folder.settings.crawl.posts_per_account == 50 and folder.settings.mail.sender.endswith("<schoolaudit@example.org>")
    assert [r.scope for r in folder.recipients][:3] == ["board", "board", "school:birchwood-ps"]


@pytest.mark.parametrize("name, old, new, message", [
    ("rules/text_model.toml", "enabled = true", 'enabled = "false"', "enabled must be true or false, not 'false'"),
    ("rules/text_model.toml", "threshold = 0.5", "threshold = 2", "threshold must be at most 1, not 2"),
    ("rules/text_model.toml", "[thresholds]", "[thresholds]\nhostil = 0.7", "thresholds.hostil: 'hostil' is not a category"),
    ("rules/student_photo_image.toml", "processes = 0", "processes = -1", "workers.processes must be at least 0, not -1"),
    ("rules/student_photo_image.toml", 'model = "int8"', 'model = "int4"', "detector.model must be one of int8, fp32"),
    ("rules/hostile.toml", 'requires_check = "all_expected"', 'requires_check = "all_expect"',
     "unknown check 'all_expect' (did you mean 'all_expected'?)"),
    ("rules/substances.toml", "'\\b(dandelions?|invasive)\\b'", "'(?i)weeds'",  # fine alone, not as the auditors join it
     ".unless: '(?i)weeds' must be a regular expression (global flags not at the start"),
    ("policy.toml", 'severity = "low"', 'severity = "lowest"', "categories.endorsement_repost.severity must be one of"),
    ("policy.toml", "[categories.privacy]", "[categories.privcy]", "unknown key 'privcy' in [categories] (did you mean 'privacy'?)"),
])
def test_a_bad_rules_or_policy_value_is_one_line(folder, capsys, name, old, new, message):
    line = _edit(folder / name, old, new)
    status, out = _check(folder, capsys)
    assert status == 1 and len(out) == 2, out
    assert out[0].startswith(f"{folder / name}:{line}: ") and message in out[0], out


def test_a_rules_file_no_auditor_reads_is_named(folder, capsys):
    (folder / "rules/hostile.toml").rename(folder / "rules/hostle.toml")
    status, out = _check(folder, capsys)
    assert status == 1
    assert out[0].startswith(f"{folder / 'rules/hostle.toml'}:1: no auditor reads rules/hostle.toml (did you mean 'hostile'?)")


def test_lines_finds_keys_in_rows_subtables_and_past_multiline_strings():
    from schoolaudit.config.schema import Lines
    lines = Lines('[[rules]]\nid = "a"\ntext = """\nfake = 1\n"""\n[[rules]]\nid = "b"\n[rules.extra]\n'
                  'near = 3\n[a]\n"quoted-key" = 1\nb.c = 2\n')
    assert lines.of(("rules", 0, "id")) == 2 and lines.of(("rules", 1, "id")) == 7
    assert lines.of(("rules", 0, "fake")) == 1  # inside a string: not a key; the row's header line
    assert lines.of(("rules", 1, "extra", "near")) == 9
    assert lines.of(("a", "quoted-key")) == 11 and lines.of(("a", "b", "c")) == 12 and lines.of(("zzz",)) == 1


def test_patterns_found_valid_are_remembered_and_a_bad_one_is_still_named(folder, capsys, tmp_path, monkeypatch):
    """Compiling every pattern is most of reading a configuration: those this Python compiled before
    are kept in the cache folder and not compiled again; a bad pattern is named every time."""
    from auditors import cache
    from schoolaudit.config import schema

    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_known", None)
    monkeypatch.setattr(cache, "_found", set())
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "rules-valid-0123").write_bytes(b"")  # a marker of earlier versions: pruned
    (tmp_path / "cache" / "patterns-valid-other1.json").write_text("[]")
    (tmp_path / "cache" / "patterns-valid-other2.json").write_text("[]")
    assert _check(folder, capsys)[0] == 0
    kept = next((tmp_path / "cache").glob(cache._known_file())).read_text(encoding="utf-8")
    assert "dandelions" in kept
    assert not list((tmp_path / "cache").glob("rules-valid-*"))
    assert len(list((tmp_path / "cache").glob("patterns-valid-*"))) == cache.KEPT_KNOWN_FILES
    line = _edit(folder / "rules/substances.toml", "'\\b(dandelions?|invasive)\\b'", "'(unclosed'")
    monkeypatch.setattr(cache, "_known", None)  # a new process: the patterns come from the cache folder
    monkeypatch.setattr(cache, "_found", set())
    status, out = _check(folder, capsys)
    assert status == 1 and out[0].startswith(f"{folder / 'rules/substances.toml'}:{line}: ") and "missing )" in out[0], out
    monkeypatch.setattr(cache, "_known", None)
    monkeypatch.setattr(cache, "_found", set())
    monkeypatch.setattr(cache, "re", None)  # a known pattern is not compiled again
    assert schema._compiles(r"\b(dandelions?|invasive)\b") is None
