"""The crawling process of a night holds no library it never uses (its memory adds to the workers')."""
import subprocess
import sys

from tests.conftest import REPO


def test_crawling_process_does_not_import_numpy(tmp_path):
    # sqlite-utils imports numpy when it can, only to name numpy values' column types: 15 MB resident
    probe = ("import sys\nimport schoolaudit.pipeline, schoolaudit.scheduler\nfrom records.store import Store\n"
             "Store(sys.argv[1]).close()\nprint([m for m in ('numpy', 'pandas') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "a.db")], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_store_still_works_beside_numpy(tmp_path):
    # numpy imported first (as in a worker): sqlite-utils is imported as usual and numpy stays importable
    probe = ("import sys, numpy\nfrom records.store import Store\nstore = Store(sys.argv[1])\n"
             "print(store.schema_version > 0, 'numpy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "a.db")], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.split() == ["True", "True"]
