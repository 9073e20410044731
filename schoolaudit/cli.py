"""Entry point: `schoolaudit COMMAND ...`, built from the table in `schoolaudit.commands`."""
from __future__ import annotations

import argparse
import ast
import logging
import os
import re
import sys
import tokenize
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from crawler import secrets
from records.errors import StoreBusy
from schoolaudit.commands import COMMANDS, plugin_commands


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: only the command it names is imported (with what it needs); the others
    are listed with their one-line help, read from their source, so `--help` starts at once."""
    parser = argparse.ArgumentParser(
        prog="schoolaudit",
        description="Audit the public posts of a school board's official accounts against its social-media procedure.",
        epilog="Example: schoolaudit demo --out /tmp/demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen_command(sys.argv[1:] if argv is None else argv)
    for name, module_name in COMMANDS.items():
        if name == chosen:
            _add_command(subparsers, name, import_module(module_name))
        else:
            subparsers.add_parser(name, help=_summary(module_name))
    for name, module_name in plugin_commands().items():
        try:
            _add_command(subparsers, name, import_module(module_name))
        except Exception as exc:  # a broken plugin costs its own command only
            print(f"schoolaudit: command {name!r} is off: its plugin {module_name} failed to load "
                  f"({type(exc).__name__}: {exc})", file=sys.stderr)
    return parser


def _chosen_command(argv: list[str]) -> str | None:
    """The command `argv` names: its first word that is neither a global option nor an option's value."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


#: Where a command module's `HELP = ...` statement starts.
HELP_STATEMENT = re.compile(r"^HELP = ", re.MULTILINE)


def _summary(module_name: str) -> str:
    """A command module's HELP line, read from its source without importing it (only the statement
    is parsed: parsing every command's whole source was a tenth of `--help`). The statement is read
    as Python reads it, to the end of its logical line, so brackets and continued lines are fine."""
    source = Path(find_spec(module_name).origin).read_text(encoding="utf-8")
    found = HELP_STATEMENT.search(source)
    if not found:
        return ""
    lines = iter(source[found.end():].splitlines(keepends=True))
    value = []
    for token in tokenize.generate_tokens(lambda: next(lines, "")):
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            break
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            value.append(token)
    return ast.literal_eval(tokenize.untokenize(value).strip())


class _VersionAction(argparse._VersionAction):
    """--version, the installed version looked up only when asked: importlib.metadata is slow to import."""

    def __call__(self, parser, namespace, values, option_string=None):
        self.version = f"schoolaudit {_version()}"
        super().__call__(parser, namespace, values, option_string)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("schoolaudit")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


CONFIG_HELP = ("configuration folder (default: $SCHOOLAUDIT_CONFIG, else ./config when it has a settings.toml, "
               "else the bundled example, whose data goes to the platform data folder; "
               "every command says on stderr which folder and database it uses)")


def add_global_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """--config and --verbose, accepted before the command and after it (`findings --config DIR`).
    After the command their default is SUPPRESS, so that one given before is not overwritten."""
    extra = {"default": argparse.SUPPRESS} if after_command else {}
    parser.add_argument("--config", metavar="DIR", help=CONFIG_HELP, **extra)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr", **extra)


def _add_command(subparsers, name: str, module) -> None:
    sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP,
                                epilog=f"Example: {module.EXAMPLE}",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(sub)
    for parser in (sub, *_nested_parsers(sub)):
        add_global_options(parser, after_command=True)
    sub.set_defaults(run=module.run)


def _nested_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of a command's own sub-commands (`accounts import`), which need the options too."""
    return [nested for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for nested in dict.fromkeys(action.choices.values())]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    secrets.install_log_redaction()  # no token or password in any log line, whatever prints it
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    from schoolaudit.config import ConfigError  # here: `--help` reads no configuration

    try:
        code = args.run(args) or 0
        sys.stdout.flush()  # inside the try: a closed pipe is noticed here, not at interpreter exit
        return code
    except ConfigError as exc:
        print(f"schoolaudit: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreBusy as exc:
        print(f"schoolaudit: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `schoolaudit findings | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except KeyboardInterrupt:
        print("schoolaudit: interrupted; the database is consistent and the next run picks up.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
