"""A results folder is reported where torch is not installed: ``bench.py report`` and ``compare`` in a process whose
``import torch`` fails, as on a laptop that only reads published results."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "dirac"  # a small published folder (14 trials): a leaderboard, effects, plots
TABLES = ("leaderboard.csv", "leaderboard.md", "leaderboard.html")

#: run before anything else in the child: torch and its submodules cannot be imported, as if not installed
NO_TORCH = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (torch is blocked in this test)", name=name)
        return None

sys.meta_path.insert(0, NoTorch())
"""


def bench_without_torch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``bench.py ARGS`` with torch unimportable; the child exits 3 if torch got into sys.modules regardless."""
    code = NO_TORCH + f"""
sys.path.insert(0, {str(ROOT)!r})
from ganbench.cli import main
code = main({list(args)!r})
sys.exit(3 if "torch" in sys.modules else code)
"""
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_blocker_blocks_torch(tmp_path):
    res = subprocess.run([sys.executable, "-c", NO_TORCH + "import torch"], capture_output=True, text=True)
    assert res.returncode == 1 and "torch is blocked in this test" in res.stderr


def test_report_and_compare_run_without_torch(tmp_path):
    published = ROOT / "results" / FOLDER
    folder = shutil.copytree(published, tmp_path / FOLDER)
    for table in TABLES:
        (folder / table).unlink()
    shutil.rmtree(folder / "plots")
    res = bench_without_torch("report", str(folder), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    for table in TABLES:  # written, and as published
        assert (folder / table).read_bytes() == (published / table).read_bytes(), table
    assert sorted(p.name for p in (folder / "plots").iterdir()) == sorted(p.name for p in (published / "plots").iterdir())

    other = shutil.copytree(folder, tmp_path / "again")
    res = bench_without_torch("compare", str(folder), str(other), "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert any((tmp_path / "cmp").glob(f"compare-{FOLDER}-vs-again*.md")), list((tmp_path / "cmp").iterdir())
    res = bench_without_torch("compare", str(folder), "--by", "loss", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
