"""A user's runs under results/ stay out of `git status`; every published entry stays visible to git."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                                reason="needs git and the repository")


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)


def ignored(*paths: str) -> set[str]:
    return set(git("check-ignore", "--no-index", *paths).stdout.split())


def test_every_published_entry_of_results_is_seen_by_git():
    """A file a report adds to a published folder (a new plot) must not be silently ignored."""
    entries = sorted({path.split("/")[1] for path in git("ls-files", "results").stdout.split()})
    assert "ring-losses" in entries and "README.md" in entries
    new_files = [f"results/{e}/new-plot.png" if "." not in e else f"results/{e}" for e in entries]
    assert not ignored(*new_files), "published results entries that .gitignore hides: add a !/results/NAME/ line"


def test_a_users_runs_and_moved_aside_folders_are_ignored():
    runs = ["results/quick/trials.parquet", "results/my-study/leaderboard.md", "results/ring-losses.old-20270101/x",
            "results/ring-losses-2/run.json", "results/ring-losses/.lock"]
    assert ignored(*runs) == set(runs)
