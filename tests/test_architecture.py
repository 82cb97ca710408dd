"""The layers of the house hold: import-linter's contracts (pyproject.toml) are all kept.

README.md ("Layers") draws them: the core imports no loading, store, audit, job, command
line or clock, what the customer receives is built on the core alone, and each library
(durable-rules, Babel, Jinja2, SQL, YAML, the terminal) is imported only where it lives.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_every_import_contract_is_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " kept, 0 broken." in result.stdout, result.stdout


def test_a_core_module_that_imported_the_store_would_break_a_contract(tmp_path):
    """The contracts are not vacuous: a copy of the code whose pricing imports the store fails them."""
    import shutil

    copy = tmp_path / "copy"
    for name in ("engine", "invoices"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    pricing = copy / "engine" / "core" / "pricing.py"
    pricing.write_text(pricing.read_text().replace("from .matching import", "from ..store import Store  # noqa\nfrom .matching import", 1))
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=copy, capture_output=True, text=True,
                            env={"PYTHONPATH": str(copy), "PATH": ""})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "engine.core.pricing -> engine.store" in result.stdout
