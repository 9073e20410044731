"""Where the database, images and reports go when settings.toml does not say: the platform's data folder.

Never next to the configuration folder: /etc/schoolaudit is not writable by the service user.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_ENV = "SCHOOLAUDIT_DATA"


def default_data_dir() -> Path:
    """$SCHOOLAUDIT_DATA; else $STATE_DIRECTORY (systemd's StateDirectory=, e.g. /var/lib/schoolaudit);
    else the user's data folder: $XDG_DATA_HOME/schoolaudit or ~/.local/share/schoolaudit on Linux,
    ~/Library/Application Support/schoolaudit on macOS, %LOCALAPPDATA%\\schoolaudit on Windows."""
    for variable in (DATA_ENV, "STATE_DIRECTORY"):
        if os.environ.get(variable):
            return Path(os.environ[variable].split(":")[0]).expanduser().resolve()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "schoolaudit"
