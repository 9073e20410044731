"""Text from posts and servers reaches the terminal without its control codes (ANSI escapes, CR,
bidirectional overrides): `findings`, `accounts status`, `runs` and `audit` print it escaped."""
from __future__ import annotations

import json

from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.terminal import printable

CLEAR_SCREEN, TITLE, RED = "\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b[31m"


def test_printable_shows_control_characters_and_keeps_text_and_line_breaks():
    assert printable(f"{RED}vape\x1b[0m\rok\u202eevil\x9b1m\nnext é 🙂") == \
        "\\x1b[31mvape\\x1b[0m\\rok\\u202eevil\\x9b1m\nnext é 🙂"


def _unsafe(out: str) -> bool:
    return any(c in out for c in "\x1b\x07\r\x9b\u202e")


def test_commands_print_hostile_post_and_server_text_escaped(site_dir, demo_config, capsys):
    feed = site_dir / "feeds" / "cedar-robotics.json"
    data = json.loads(feed.read_text())
    data["items"][1]["content_text"] = f"Friday mood: vape clouds {CLEAR_SCREEN}and zero homework{RED}.{TITLE} Who's in?"
    feed.write_text(json.dumps(data))
    assert main(["--config", str(demo_config), "audit", "cedar-robotics"]) == 0
    capsys.readouterr()
    app = load_app(demo_config)
    run_id = app.store.start_run("nightly")
    app.store.record_check(run_id, "cedar-robotics", "error", f"server said {CLEAR_SCREEN}all good\rfine")
    app.store.finish_run(run_id, "failed", detail=f"{TITLE}stopped")
    app.close()

    assert main(["--config", str(demo_config), "findings", "--account", "cedar-robotics"]) == 0
    out = capsys.readouterr().out
    assert "vape clouds \\x1b[2J\\x1b[Hand" in out and not _unsafe(out)
    assert main(["--config", str(demo_config), "accounts", "status"]) == 0
    out = capsys.readouterr().out
    assert "server said \\x1b[2J\\x1b[Hall good\\rfine" in out and not _unsafe(out)
    assert main(["--config", str(demo_config), "runs"]) == 0
    out = capsys.readouterr().out
    assert "\\x1b]0;pwned\\x07stopped" in out and not _unsafe(out)
