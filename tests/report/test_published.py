"""Published results rebuild from the folder alone: byte for byte, even where the data or its registry entry is gone."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ganbench.registry import DATASETS, LOSSES
from ganbench.report import write_report

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("leaderboard.csv", "leaderboard.md", "leaderboard.html")


def rebuild(name: str, tmp_path: Path) -> Path:
    folder = shutil.copytree(ROOT / "results" / name, tmp_path / name)
    for table in TABLES:
        (folder / table).unlink()
    write_report(folder)
    return folder


@pytest.mark.parametrize("name, dataset", [("ring-losses", "ring8"), ("stacked-digits-modes", "stacked_digits")])
def test_a_report_rebuilds_identically_with_the_dataset_unregistered(name, dataset, tmp_path, monkeypatch):
    monkeypatch.delitem(DATASETS._items, dataset)  # as on a machine without the data or a later ganbench
    with pytest.raises(ValueError, match="unknown dataset"):
        DATASETS.get(dataset)
    folder = rebuild(name, tmp_path)
    for table in TABLES:
        assert (folder / table).read_bytes() == (ROOT / "results" / name / table).read_bytes(), table
    published_plots = sorted(p.name for p in (ROOT / "results" / name / "plots").iterdir())
    assert sorted(p.name for p in (folder / "plots").iterdir()) == published_plots


def test_a_report_rebuilds_after_a_loss_it_names_was_renamed(tmp_path, monkeypatch):
    monkeypatch.delitem(LOSSES._items, "hinge")
    folder = rebuild("ring-losses", tmp_path)
    assert (folder / "leaderboard.md").read_bytes() == (ROOT / "results/ring-losses/leaderboard.md").read_bytes()


REPRODUCED = sorted(p.parent.name for p in (ROOT / "results").glob("*/reproduce.md"))


@pytest.mark.parametrize("name", REPRODUCED)
def test_a_published_reproduction_rebuilds_identically(name, tmp_path):
    from ganbench.report.reproduce import reproduce_folder, write_reproduction

    folder = shutil.copytree(ROOT / "results" / name, tmp_path / name)
    write_reproduction(reproduce_folder(folder))
    for table in ("reproduce.md", "reproduce.csv", "reproduce.html"):
        assert (folder / table).read_bytes() == (ROOT / "results" / name / table).read_bytes(), table
