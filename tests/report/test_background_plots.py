"""The report writes its tables first and renders the plots meanwhile in forked processes: same files, same bytes."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from ganbench.report import plots, write_report
from ganbench.report.plots import BackgroundPlots
from tests.report.test_plots import make_suite, run_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    suite = make_suite({"loss": ["minimax", "hinge"], "d_steps_per_g_step": [1, 2], "dataset": ["ring8"]}, seeds=(0,))
    return run_folder(tmp_path_factory.mktemp("ring"), suite)


def test_on_tables_runs_once_the_tables_are_written_and_before_the_page_that_shows_the_plots(folder, tmp_path):
    copy = shutil.copytree(folder, tmp_path / "copy")
    seen, timings = {}, {}

    def on_tables(board: Path) -> None:
        names = ("leaderboard.csv", "leaderboard.md", "leaderboard.html")
        seen.update({name: (copy / name).exists() for name in names})
        seen["board"] = board

    assert write_report(copy, on_tables=on_tables, timings=timings) == copy / "leaderboard.md"
    assert seen == {"leaderboard.csv": True, "leaderboard.md": True, "leaderboard.html": False,
                    "board": copy / "leaderboard.md"}
    assert (copy / "leaderboard.html").exists() and (copy / "plots" / "k_effect.png").exists()
    assert set(timings) == {"report_s", "plots_s"} and min(timings.values()) >= 0


def test_forked_workers_write_the_same_plots_byte_for_byte_in_the_same_order(folder, tmp_path):
    here, forked = shutil.copytree(folder, tmp_path / "here"), shutil.copytree(folder, tmp_path / "forked")
    with BackgroundPlots(here, workers=0) as drawn_here:
        in_process = drawn_here.paths()
    with BackgroundPlots(forked, workers=2) as drawn_forked:
        assert drawn_forked.forked  # a one-thread test process
        in_workers = drawn_forked.paths()
    assert [p.name for p in in_workers] == [p.name for p in in_process]
    assert [p.name for p in in_process] == [name for name in plots.PLOTS if (here / "plots" / name).exists()]
    for a, b in zip(in_process, in_workers):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_with_another_thread_running_the_plots_are_drawn_in_this_process(folder, tmp_path, monkeypatch):
    def no_fork(*args, **kwargs):
        raise AssertionError("forked while another thread ran")

    monkeypatch.setattr(plots, "ProcessPoolExecutor", no_fork)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with BackgroundPlots(shutil.copytree(folder, tmp_path / "copy")) as drawing:
            assert not drawing.forked
            written = drawing.paths()
    finally:
        stop.set()
        other.join()
    assert {p.name for p in written} >= {"k_effect.png", "modes.png"}
