"""One configuration file read for checking: its data, where its keys are, and its problems."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from schoolaudit.config.schema import Lines, validate


class ConfigError(Exception):
    """Problems in configuration files; str() is one `FILE:LINE: message` line per problem."""

    def __init__(self, message: str = "", problems: "list[Problem] | None" = None):
        self.problems = list(problems or [])
        super().__init__(message or "\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ConfigFile:
    """A TOML file of the folder: `data` is {} when it is missing or unreadable (then said in `problems`)."""

    path: Path
    data: dict = field(default_factory=dict)
    lines: Lines = field(default_factory=lambda: Lines(""))
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path, required: bool = True) -> "ConfigFile":
        file = cls(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if required:
                file.problems.append(Problem(path, 1, "file not found"))
            return file
        except (OSError, UnicodeDecodeError) as exc:
            file.problems.append(Problem(path, 1, f"cannot read: {exc}"))
            return file
        file.lines = Lines(text)
        try:
            file.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            file.problems.append(Problem(path, int(line.group(1)) if line else 1, str(exc)))
        return file

    def add(self, key_path: tuple, message: str) -> None:
        self.problems.append(Problem(self.path, self.lines.of(key_path), message))

    def check(self, schema) -> bool:
        """Validate the data against `schema`, adding every problem; True when there was none."""
        before = len(self.problems)
        validate(schema, self.data, (), self.add)
        return len(self.problems) == before

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError(problems=self.problems)
