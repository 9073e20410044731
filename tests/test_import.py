"""`accounts import FILE.csv`: good rows appended to accounts.toml (still valid), bad rows reported by line."""
from __future__ import annotations

from schoolaudit.cli import main
from schoolaudit.config import check_registry
from schoolaudit.importer import COLUMNS


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
    assert "added 2 accounts to" in out
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


def test_import_reads_what_french_excel_writes(demo_config, tmp_path, capsys):
    """Windows-1252, semicolons, CRLF, an extra `notes` column, a school named in `school_name`."""
    sheet = tmp_path / "comptes.csv"
    sheet.write_bytes(
        "id;name;kind;school;school_name;platform;url;handle;contacts;notes\r\n"
        "ecole-st-jean-news;École Saint-Jean;school;;École Saint-Jean;rss;https://example.org/sj/feed;;"
        "direction@example.org;à revoir\r\n"
        "bad id;X;club;birchwood-ps;;rss;https://example.org/x;;;\r\n"
        "birchwood-hawks;Birchwood Hawks;team;birchwood-ps;;rss;https://example.org/hawks;;;\r\n"
        "élèves;X;club;birchwood-ps;;rss;https://example.org/y;;;\r\n".encode("cp1252"))
    assert main(["--config", str(demo_config), "accounts", "import", str(sheet)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{sheet}:1: ignoring column(s) notes (columns: {', '.join(COLUMNS)})"
    assert out[1].startswith(f"{sheet}:3: account 'bad id': id must be an id of ASCII letters")
    assert out[2].startswith(f"{sheet}:5: account 'élèves': id must be an id of ASCII letters")
    assert out[3].startswith("added 2 accounts and 1 school (ecole-saint-jean) to ")
    registry, problems = check_registry(demo_config / "accounts.toml")
    assert problems == []
    assert registry.schools["ecole-saint-jean"] == "École Saint-Jean"
    assert registry.get("ecole-st-jean-news").school == "ecole-saint-jean"
    assert registry.get("birchwood-hawks").kind == "team"


def test_import_of_a_missing_or_binary_file_is_one_line(demo_config, tmp_path, capsys):
    assert main(["--config", str(demo_config), "accounts", "import", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().out == f"schoolaudit: {tmp_path / 'nope.csv'}: no such file\n"
    binary = tmp_path / "sheet.xlsx"
    binary.write_bytes(b"PK\x03\x04\x81\x8d\x8f\x90\x9d")
    assert main(["--config", str(demo_config), "accounts", "import", str(binary)]) == 2
    assert "not a text file in UTF-8, UTF-16 or Windows-1252" in capsys.readouterr().out


def test_import_reads_utf16_tab_separated(demo_config, tmp_path, capsys):
    """Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated."""
    sheet = tmp_path / "unicode.txt"
    sheet.write_text("id\tname\tkind\tschool\tplatform\turl\n"
                     "cedar-art\tArts visuels Cédar\tclub\tcedar-heights-ss\trss\thttps://example.org/art\n",
                     encoding="utf-16")
    assert main(["--config", str(demo_config), "accounts", "import", str(sheet)]) == 0
    registry, _ = check_registry(demo_config / "accounts.toml")
    assert registry.get("cedar-art").name == "Arts visuels Cédar"
