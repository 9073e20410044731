"""The packages stand on one another as README.md's "How it works" says: arrows run one way, no circles.

Every import counts, at the top of a module, inside a function or under TYPE_CHECKING: an import made
only for an annotation still ties the two modules together for a reader.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("records", "crawler", "auditors", "reports", "schoolaudit")
#: what each package may import of the others (README.md: schoolaudit -> reports -> auditors, crawler -> records)
MAY_IMPORT = {
    "records": set(),
    "crawler": {"records"},
    "auditors": {"records"},
    "reports": {"records", "auditors"},
    "schoolaudit": {"records", "crawler", "auditors", "reports"},
}
#: offline build scripts, run from a checkout and never imported at run time: they read the labelled
#: posts through the application (README.md says so)
BUILD_SCRIPTS = "auditors/models/"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The project modules `path` imports: `from package import module` is that module, `from module
    import name` the module."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update(f"{node.module}.{alias.name}" if _is_module(f"{node.module}.{alias.name}") else node.module
                         for alias in node.names)
    return {name for name in names if name.split(".")[0] in PACKAGES}


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}
    return {module: {name for name in _imports(path) if name in paths and name != module}
            for module, path in paths.items()}


def test_packages_import_only_the_packages_below_them():
    offenders = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.relative_to(REPO).as_posix().startswith(BUILD_SCRIPTS):
                continue
            above = {name.split(".")[0] for name in _imports(path)} - MAY_IMPORT[package] - {package}
            offenders += [f"{path.relative_to(REPO)} imports {name}" for name in sorted(above)]
    assert offenders == []


def test_no_modules_import_each_other_in_a_circle():
    graph = _graph()
    circles, state = [], {}  # state: 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in sorted(graph[module]):
            if state.get(name) == 1:
                circles.append(" -> ".join(path[path.index(name):] + [name]))
            elif name not in state:
                visit(name, path + [name])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_circle_check_sees_an_import_made_only_for_annotations(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from records.store import Store\n")
    assert _imports(module) == {"records.store"}
