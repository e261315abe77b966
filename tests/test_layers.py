"""The layering is a checked contract: import-linter's contracts in pyproject.toml hold, and tests mirror the package."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_contracts_say_what_the_layout_promises():
    contracts = {c["name"]: c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
                 ["contracts"]}
    forbidden = {name: (set(c["source_modules"]), set(c["forbidden_modules"])) for name, c in contracts.items()
                 if c["type"] == "forbidden"}
    packages = {p.name for p in (ROOT / "ganbench").iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in (ROOT / "ganbench").glob("*.py") if p.stem not in ("__init__", "cli")}
    everything = {f"ganbench.{name}" for name in packages | modules}
    sources, targets = forbidden["only sweep imports Ray"]
    assert targets == {"ray"} and sources == everything - {"ganbench.sweep"}
    sources, targets = forbidden["only search and sweep import Optuna"]
    assert targets == {"optuna"} and sources == everything - {"ganbench.sweep", "ganbench.search"}
    assert {"ganbench.training", "ganbench.sweep"} <= forbidden["report reads results folders: it imports neither "
                                                               "training nor sweep"][1]
    assert any(c["type"] == "acyclic_siblings" and c["ancestors"] == ["ganbench"] for c in contracts.values())


def test_tests_mirror_the_package():
    packages = sorted(p.name for p in (ROOT / "ganbench").iterdir() if (p / "__init__.py").exists())
    missing = [name for name in packages if not list((ROOT / "tests" / name).glob("test_*.py"))]
    assert not missing, f"no tests/<package>/test_*.py for: {missing}"
