"""Entry point: `schoolaudit COMMAND ...`, built from the table in `schoolaudit.commands`."""
from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from crawler import secrets
from records.store import StoreBusy
from schoolaudit.commands import COMMANDS, plugin_commands
from schoolaudit.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schoolaudit",
        description="Audit the public posts of a school board's official accounts against its social-media procedure.",
        epilog="Example: schoolaudit demo --out /tmp/demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="DIR",
                        help="configuration folder (default: $SCHOOLAUDIT_CONFIG, ./config, or the bundled example)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        _add_command(subparsers, name, import_module(module_name))
    for name, module_name in plugin_commands().items():
        try:
            _add_command(subparsers, name, import_module(module_name))
        except Exception as exc:  # a broken plugin costs its own command only
            print(f"schoolaudit: command {name!r} is off: its plugin {module_name} failed to load "
                  f"({type(exc).__name__}: {exc})", file=sys.stderr)
    return parser


def _add_command(subparsers, name: str, module) -> None:
    sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP,
                                epilog=f"Example: {module.EXAMPLE}",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(sub)
    sub.set_defaults(run=module.run)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    secrets.install_log_redaction()  # no token or password in any log line, whatever prints it
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except ConfigError as exc:
        print(f"schoolaudit: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreBusy as exc:
        print(f"schoolaudit: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("schoolaudit: interrupted; the database is consistent and the next run picks up.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
