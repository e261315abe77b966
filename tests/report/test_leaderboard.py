"""Leaderboards rebuilt from a results folder alone: statistics, HTML, LaTeX, JSON lines."""
from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import pandas as pd
import pytest

from ganbench.report import write_report
from ganbench.results import ResultsStore, write_suite
from ganbench.report.stats import mean_ci95
from ganbench.suite import validate_suite
from ganbench.sweep.trial import run_trials

SUITE = {"name": "rep", "seeds": [0, 1], "budget": {"steps": 30, "eval_every": 15},
         "grid": {"model": ["mlp"], "loss": ["minimax", "hinge"], "d_steps_per_g_step": [1, 2], "dataset": ["ring8"]},
         "params": {"batch_size": 32, "hidden": 16, "eval_samples": 300, "device": "cpu"}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A real (tiny) run: every trial trained in-process, stored as the sweep stores it."""
    out = tmp_path_factory.mktemp("rep")
    suite = validate_suite(SUITE)
    store = ResultsStore(out)
    for cfg in suite.trial_configs():
        [result] = run_trials([cfg], suite.axes())
        store.add({**result.row, "phase": "grid"}, result.curves, result.snapshots)
    write_suite(out, suite.model_dump(mode="json"), {"suite_hash": suite.suite_hash(), "started_at": "2026-01-01T00:00"})
    write_report(out, ("latex", "jsonl"))
    return out


def test_interval_of_identical_values_has_zero_width_and_one_value_has_none():
    assert mean_ci95([0.25, 0.25, 0.25]) == (0.25, 0.0, 3)
    mean, hw, n = mean_ci95([0.7])
    assert (mean, n) == (0.7, 1) and math.isnan(hw)
    assert mean_ci95([1.0, math.nan, 3.0])[2] == 2  # NaN is missing, not a value


def test_t_interval_matches_the_textbook_value():
    # n = 4, mean 2.5, sd = 1.29099; t_{0.975, 3} = 3.182446 -> half-width 2.054283
    mean, hw, n = mean_ci95([1, 2, 3, 4])
    assert mean == 2.5 and hw == pytest.approx(3.182446 * 1.290994 / 2, rel=1e-5)


def test_rebuilt_report_equals_the_one_written_at_run_time(folder):
    names = ("leaderboard.csv", "leaderboard.md", "leaderboard.html", "leaderboard.tex", "leaderboard.jsonl")
    before = {n: (folder / n).read_bytes() for n in names}
    write_report(folder, ("latex", "jsonl"))
    assert {n: (folder / n).read_bytes() for n in names} == before


def test_leaderboard_means_are_the_means_of_the_trials(folder):
    trials = pd.read_parquet(folder / "trials.parquet")
    board = pd.read_csv(folder / "leaderboard.csv")
    for row in board.itertuples():
        mine = trials[(trials.loss == row.loss) & (trials.d_steps_per_g_step == row.d_steps_per_g_step)]
        assert row.n_seeds == 2
        assert row.high_quality_frac_mean == pytest.approx(mine.high_quality_frac.mean())


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.tags, self._row = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self._row = []

    def handle_data(self, data):
        if self._row is not None and self.tags and self.tags[-1] in ("td", "th"):
            self._row.append(data)

    def handle_endtag(self, tag):
        if tag == "tr":
            self.rows.append(self._row)
            self._row = None
        if self.tags:
            self.tags.pop()


def test_html_parses_and_has_every_cell_and_embedded_plots(folder):
    page = (folder / "leaderboard.html").read_text()
    parser = _Cells()
    parser.feed(page)
    header, body = parser.rows[0], parser.rows[1:]
    assert header[:4] == ["model", "loss", "d_steps_per_g_step", "dataset"]
    assert {(r[1], r[2]) for r in body} == {("minimax", "1"), ("minimax", "2"), ("hinge", "1"), ("hinge", "2")}
    assert "data:image/png;base64," in page
    assert "src=\"http" not in page and "href=\"http" not in page  # nothing fetched from the network


def test_latex_is_a_booktabs_table_with_one_line_per_cell(folder):
    tex = (folder / "leaderboard.tex").read_text()
    assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 1
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    assert len(body) == 4 and all(line.endswith(r"\\") for line in body)
    assert r"$\pm$" in tex and "_" not in tex.replace(r"\_", "")


def test_jsonl_has_one_object_per_cell_with_nulls_for_nan(folder):
    lines = (folder / "leaderboard.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 4 and all("modes_covered_mean" in r for r in rows)
