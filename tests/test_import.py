"""`accounts import FILE.csv`: good rows appended to accounts.toml (still valid), bad rows reported by line."""
from __future__ import annotations

from schoolaudit.cli import main
from schoolaudit.config import check_registry


def test_import_keeps_good_rows_and_reports_bad_ones_by_line(demo_config, tmp_path, capsys):
    sheet = tmp_path / "accounts.csv"
    sheet.write_text(
        "id,name,kind,school,platform,url,handle,contacts\n"
        'birchwood-choir,"Birchwood Choir, ""Junior""",club,birchwood-ps,rss,https://example.org/choir/feed,,'
        "choir@example.org; music@example.org\n"
        "bad-platform,Bad,club,birchwood-ps,myspace,https://example.org/x,,\n"
        "birchwood-ps-news,Duplicate,school,birchwood-ps,rss,https://example.org/dup,,\n"
        "cedar-art,Cedar Art,club,no-such-school,rss,https://example.org/art,,\n"
        "cedar-bsky,Cédar Heights on Bluesky,club,cedar-heights-ss,bluesky,,cedarheights.example,\n"
        ",,,,,,,\n"
        "cedar-no-target,Cedar,club,cedar-heights-ss,rss,,,\n",
        encoding="utf-8")
    assert main(["--config", str(demo_config), "accounts", "import", str(sheet)]) == 1
    out = capsys.readouterr().out
    assert f"{sheet}:3: account 'bad-platform': unknown platform 'myspace'" in out
    assert f"{sheet}:4: duplicate account id 'birchwood-ps-news'" in out
    assert f"{sheet}:5: account 'cedar-art': unknown school 'no-such-school'" in out
    assert f"{sheet}:8: account 'cedar-no-target': needs a 'url' or a 'handle'" in out
    assert "added 2 account(s)" in out
    registry, problems = check_registry(demo_config / "accounts.toml")
    assert problems == []
    choir = registry.get("birchwood-choir")
    assert choir.name == 'Birchwood Choir, "Junior"' and choir.contacts == ("choir@example.org", "music@example.org")
    assert registry.get("cedar-bsky").name == "Cédar Heights on Bluesky" and registry.get("cedar-bsky").target == "cedarheights.example"
    assert main(["--config", str(demo_config), "accounts", "check"]) == 0


def test_import_names_missing_columns(demo_config, tmp_path, capsys):
    sheet = tmp_path / "wrong.csv"
    sheet.write_text("name,url\nX,https://example.org\n")
    before = (demo_config / "accounts.toml").read_text()
    assert main(["--config", str(demo_config), "accounts", "import", str(sheet)]) == 1
    assert "missing column(s): id, kind, platform" in capsys.readouterr().out
    assert (demo_config / "accounts.toml").read_text() == before
