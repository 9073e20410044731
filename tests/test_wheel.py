"""The wheel installs anywhere: built from the source tree, installed in a fresh venv with no source
tree on its path, it carries every module and data file and `schoolaudit demo` runs to the end.

Offline: the wheel is built without build isolation, installed with --no-deps --no-index, and the
new venv sees this test environment's dependencies through a .pth file listing its site-packages
(a listed folder's own .pth files are not run, so this project's editable finder stays out).
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from schoolaudit.demo import DEMO_DIR

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]
#: Source folder -> where its files are in the wheel (pyproject.toml maps config/ into schoolaudit).
WHEEL_FOLDERS = {"records": "records", "crawler": "crawler", "auditors": "auditors", "reports": "reports",
                 "schoolaudit": "schoolaudit", "config": "schoolaudit/example_config"}
NOT_SOURCE = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory) -> Path:
    """What a wheel is built from: pyproject.toml, README.md, LICENSE and the package folders, nothing else."""
    source = tmp_path_factory.mktemp("wheel") / "src"
    for folder in WHEEL_FOLDERS:
        shutil.copytree(REPO / folder, source / folder, ignore=NOT_SOURCE)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    return source


@pytest.fixture(scope="module")
def wheel(source_tree) -> Path:
    dist = source_tree.parent / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "--no-index", "-w", str(dist), str(source_tree)], capture_output=True, text=True)
    assert build.returncode == 0, f"pip wheel failed (is the test extra installed?):\n{build.stderr}"
    return next(dist.glob("schoolaudit-*.whl"))


def test_the_wheel_holds_every_module_and_data_file_of_the_source_tree(source_tree, wheel):
    expected = {f"{WHEEL_FOLDERS[folder]}/{path.relative_to(source_tree / folder).as_posix()}"
                for folder in WHEEL_FOLDERS for path in (source_tree / folder).rglob("*") if path.is_file()}
    with zipfile.ZipFile(wheel) as archive:
        missing = expected - set(archive.namelist())
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_a_fresh_venv_with_only_the_wheel_runs_the_demo(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        tmp_path).strip())
    (purelib / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
         tmp_path)

    where = _run([str(python), "-c", "import schoolaudit, schoolaudit.config as c; "
                                     "print(schoolaudit.__file__); print(c.DEFAULT_CONFIG_DIR)"], tmp_path).split()
    assert [Path(p).is_relative_to(purelib) for p in where] == [True, True], where

    out = tmp_path / "demo"
    demo = subprocess.run([str(env_dir / "bin" / "schoolaudit"), "demo", "--out", str(out)], cwd=tmp_path,
                          env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0 and "Traceback" not in demo.stderr, demo.stdout + demo.stderr
    registry = tomllib.loads((DEMO_DIR / "accounts.toml").read_text())
    assert f"{len(registry['accounts'])} accounts checked" in demo.stdout
    assert f"Report: {out / 'index.html'}" in demo.stdout
    assert registry["board"]["name"] in (out / "index.html").read_text(encoding="utf-8")


def _clean_env() -> dict[str, str]:
    """This environment without what would point the new venv back at the source tree or its configuration."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCHOOLAUDIT_CONFIG", "VIRTUAL_ENV")}


def _run(command: list[str], cwd: Path) -> str:
    """Run outside the repository: `python -c` puts its working folder first on the path."""
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True, env=_clean_env()).stdout
