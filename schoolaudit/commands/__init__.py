"""The commands of `schoolaudit`, in the order `--help` lists them.

Each row names a module that defines `HELP` (one line), `EXAMPLE` (a command line),
`add_arguments(parser)` and `run(args) -> int`. Add a command by adding a module and a row;
tests check that every command here is documented in README.md. Other packages add commands,
listed after these, through the entry-point group `schoolaudit.commands` (value = the module).
"""
from __future__ import annotations

import logging
from auditors.plugins import entry_points

log = logging.getLogger(__name__)

#: The entry-point group through which an installed package adds commands (README: Extending schoolaudit).
PLUGIN_GROUP = "schoolaudit.commands"

COMMANDS: dict[str, str] = {
    "demo": "schoolaudit.commands.demo",
    "check": "schoolaudit.commands.check",
    "audit": "schoolaudit.commands.audit",
    "accounts": "schoolaudit.commands.accounts",
    "findings": "schoolaudit.commands.findings",
    "export": "schoolaudit.commands.export",
    "run": "schoolaudit.commands.run",
    "runs": "schoolaudit.commands.runs",
    "serve": "schoolaudit.commands.serve",
    "web": "schoolaudit.commands.web",
    "users": "schoolaudit.commands.users",
    "preview-digest": "schoolaudit.commands.preview",
    "fetch": "schoolaudit.commands.fetch",
    "scan-image": "schoolaudit.commands.scan_image",
    "classify": "schoolaudit.commands.classify",
}


def plugin_commands() -> dict[str, str]:
    """{command: module} of installed plugins; a plugin never replaces a command already taken."""
    commands = {}
    for entry in entry_points(group=PLUGIN_GROUP):
        if entry.name in COMMANDS or entry.name in commands:
            log.warning("command plugin %s ignored: command %r is taken", entry.value, entry.name)
        else:
            commands[entry.name] = entry.value
    return commands
