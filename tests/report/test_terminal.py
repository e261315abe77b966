"""The compact table `bench.py run` and `report` print: headline columns only, fits 120 columns, ties marked."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from ganbench.registry import METRICS, load_all
from ganbench.report.headline import headline_metrics
from ganbench.report.terminal import MARK, WIDTH, compact_table, folder_summary
from ganbench.suite import validate_suite

RESULTS = Path(__file__).resolve().parents[2] / "results"
PUBLISHED = sorted(d for d in RESULTS.iterdir() if (d / "suite.yaml").is_file() and (d / "trials.parquet").is_file())

GRID = {"name": "t", "seeds": [0, 1, 2], "budget": {"steps": 10, "eval_every": 5},
        "grid": {"model": ["mlp"], "loss": ["minimax", "hinge", "nonsaturating"], "dataset": ["ring8"]}}
MODES = {"ring8": {"primary_metric": "modes_covered", "protocol": "ring"}}


def render(renderable, width: int = WIDTH) -> str:
    console = Console(width=width, record=True)
    console.print(renderable)
    return console.export_text()


def frames(losses: list[str], modes: list[str], best_rows: set[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A display table as ``leaderboard.display_table`` shapes it, and its ``best`` frame."""
    table = pd.DataFrame({"model": "mlp", "loss": losses, "dataset": "ring8", "n_seeds": "3",
                          "modes_covered ↑": modes, "wall_s ↓": "1 ± 0.1"})
    best = pd.DataFrame(False, index=table.index, columns=table.columns)
    best.loc[sorted(best_rows), "modes_covered ↑"] = True
    return table, best


@pytest.fixture(scope="module")
def metrics():
    load_all()
    return [METRICS.get("modes_covered"), METRICS.get("wall_s")]


def test_published_suites_exist():
    assert len(PUBLISHED) >= 10  # a moved results/ folder would make the next test check nothing


@pytest.mark.parametrize("folder", PUBLISHED, ids=lambda d: d.name)
def test_every_published_table_fits_120_columns_with_nothing_cut(folder):
    text = render(folder_summary(folder))
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert "…" not in text  # rich's mark of a squeezed cell
    assert "leaderboard.md" in text  # where the full table is


def test_constant_axes_are_dropped_and_varying_ones_kept(metrics):
    suite = validate_suite(GRID)
    table, best = frames(["minimax", "hinge", "nonsaturating"], ["8 ± 0", "7 ± 1", "6 ± 2"], {0})
    headers = [c.header for c in compact_table(table, best, metrics, suite, MODES).columns]
    assert headers[:2] == ["loss", "seeds"]  # model and dataset have one value each
    assert "modes ↑" in headers and "wall_s ↓" not in headers  # throughput is no headline metric


def test_every_cell_tied_with_the_best_carries_the_mark(metrics):
    suite = validate_suite(GRID)
    table, best = frames(["minimax", "hinge", "nonsaturating"], ["8 ± 0", "8 ± 0", "6 ± 2"], {0, 1})
    lines = render(compact_table(table, best, metrics, suite, MODES)).splitlines()
    marked = {line.split()[0] for line in lines if line.rstrip().endswith(MARK)}
    assert marked == {"minimax", "hinge"}


def test_long_axis_values_are_shortened_and_a_narrow_terminal_loses_metrics_not_characters(metrics):
    suite = validate_suite(GRID)
    long = ["minimax_with_a_very_long_variant_name_" + s for s in ("one", "two", "three")]
    table, best = frames(long, ["8 ± 0", "7 ± 1", "6 ± 2"], {0})
    table["high_quality_frac ↑"] = ["0.1234 ± 0.0567"] * 3
    best["high_quality_frac ↑"] = False
    both = [METRICS.get("high_quality_frac")] + metrics
    wide = render(compact_table(table, best, both, suite, MODES))
    shown = [line.split()[0] for line in wide.splitlines() if "3/3" in line]
    assert len(set(shown)) == 3 and all("~" in v and len(v) < len(long[0]) for v in shown)  # cut, still distinct
    narrow = render(compact_table(table, best, both, suite, MODES, width=48), width=48)
    assert "modes" in narrow and "hq_frac" not in narrow and "…" not in narrow


def test_headline_metrics_per_data_kind_objective_first_at_most_four():
    suite = validate_suite(GRID)
    images = {"digits": {"primary_metric": "fid"}}
    measured = ["fid", "kid", "precision", "recall", "density", "wall_s"]
    assert headline_metrics(measured, suite, images) == ["fid", "kid", "precision", "recall"]
    dirac = {"dirac": {"primary_metric": "dirac_distance"}}
    assert headline_metrics(["dirac_distance", "equilibrium_gap"], suite, dirac) == ["dirac_distance"]
    searched = validate_suite({**GRID, "search": {"n_trials": 2, "objective": {"metric": "reverse_kl"},
                                                  "space": {"lr_g": {"type": "float", "low": 1e-4, "high": 1e-3}}}})
    measured = ["modes_covered", "high_quality_frac", "reverse_kl", "wall_s"]
    assert headline_metrics(measured, searched, MODES) == ["reverse_kl", "modes_covered", "high_quality_frac"]


def test_a_run_with_no_metric_still_shows_its_cells():
    """Every trial failed: no metric column, but the cells and their seed counts are still a table."""
    suite = validate_suite(GRID)
    table = pd.DataFrame({"model": "mlp", "loss": ["minimax", "hinge", "nonsaturating"], "dataset": "ring8",
                          "n_seeds": "0"})
    best = pd.DataFrame(False, index=table.index, columns=table.columns)
    out = compact_table(table, best, [], suite, MODES)
    assert [c.header for c in out.columns] == ["loss", "seeds"]
    assert "0/3" in render(out)
