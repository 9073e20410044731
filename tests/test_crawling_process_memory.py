"""The night's crawling process holds no library it never uses (its memory adds to the workers')."""
import os
import subprocess
import sys
from importlib import import_module

from auditors.text import RuleAuditor
from auditors.registry import NO_RULE_AUDITORS
from tests.conftest import REPO


def test_crawling_process_does_not_import_numpy(tmp_path):
    # reading the configuration imported the text model, and opening the store sqlite-utils: both import
    # numpy (15 MB resident), which the crawling process never uses
    probe = ("import sys\nfrom schoolaudit.app import load_app\nfrom schoolaudit.scheduler import run_job\n"
             "import schoolaudit.pipeline\napp = load_app(None, announce=False)\napp.store.close()\n"
             "print([m for m in ('numpy', 'pandas') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO,
                            env={**os.environ, "SCHOOLAUDIT_DATA": str(tmp_path), "SCHOOLAUDIT_CONFIG": ""})
    assert result.stdout.strip() == "[]"


def test_auditors_left_unimported_by_a_policy_are_no_rule_auditors():
    for row in NO_RULE_AUDITORS:
        module, _, name = row.partition(":")
        cls = getattr(import_module(module), name)
        assert not (isinstance(cls, type) and issubclass(cls, RuleAuditor)), row


def test_store_still_works_beside_numpy(tmp_path):
    # numpy imported first (as in a worker): sqlite-utils is imported as usual and numpy stays importable
    probe = ("import sys, numpy\nfrom records.store import Store\nstore = Store(sys.argv[1])\n"
             "print(store.schema_version > 0, 'numpy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "a.db")], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.split() == ["True", "True"]
