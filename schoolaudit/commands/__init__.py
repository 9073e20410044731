"""The commands of `schoolaudit`, in the order `--help` lists them.

Each row names a module that defines `HELP` (one line), `EXAMPLE` (a command line),
`add_arguments(parser)` and `run(args) -> int`. Add a command by adding a module and a row;
tests check that every command here is documented in README.md.
"""

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
