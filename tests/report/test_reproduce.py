"""bench.py reproduce on a results folder: planted per-seed values against the PacGAN grid table.

The trials are synthetic (values drawn around planted means): what is tested is the matching of the
paper's rows and claims to cells, the verdicts, the deviation list and the files, not training.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ganbench.cli import main
from ganbench.report.reproduce import reproduce_folder, write_reproduction
from ganbench.suite import read_suite

ROOT = Path(__file__).resolve().parents[2]
GRID = ROOT / "suites" / "papers" / "pacgan-grid.yaml"
SEEDS = [0, 1, 2, 3, 4]
#: planted (mean, sd) of modes_covered per variant: GAN near the paper's 17.3, PacGAN2 10 s.e. below its 23.8
PLANTED = {"gan": (17.3, 1.0), "pacgan2": (21.5, 0.5), "pacgan3": (24.6, 0.5), "pacgan4": (24.8, 0.3)}


def results_folder(path: Path, quality: float = 0.9) -> Path:
    suite = read_suite(GRID, ["budget.steps=10000", f"seeds={SEEDS}"])
    rng = np.random.default_rng(0)
    rows, curves = [], []
    for cell in suite.cells():
        mean, sd = PLANTED[cell["variant"]]
        for seed in SEEDS:
            trial = f"{cell['variant']}-{seed}"
            kl = rng.normal(0.3, 0.05)
            rows.append({"trial_id": trial, "cell": suite.cell_label(cell), "seed": seed, "status": "complete",
                         "phase": "grid", "modes_covered": rng.normal(mean, sd), "high_quality_frac": quality,
                         "reverse_kl": kl, "reverse_kl_hq": kl})
            # over training: every cell starts at GAN's level, then moves to its final value by step 2000
            for step, share in ((1000, 0.0), (2000, 1.0), (3000, 1.0)):
                value = PLANTED["gan"][0] + share * (rows[-1]["modes_covered"] - PLANTED["gan"][0])
                curves += [{"trial_id": trial, "step": step, "metric": "modes_covered",
                            "value": value + (0 if share else rng.normal(0, 1.0))},
                           {"trial_id": trial, "step": step, "metric": "high_quality_frac", "value": quality}]
    rows.append({"trial_id": "dead", "cell": suite.cell_label(suite.cells()[0]), "seed": 9, "status": "diverged",
                 "phase": "grid", "modes_covered": 0.0})  # not complete: never counted
    path.mkdir(parents=True)
    (path / "suite.yaml").write_text(yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False))
    pd.DataFrame(rows).to_parquet(path / "trials.parquet", index=False)
    pd.DataFrame(curves).to_parquet(path / "curves.parquet", index=False)
    return path


def pick(frame: pd.DataFrame, kind: str, item: str, metric: str) -> pd.Series:
    hit = frame[(frame["kind"] == kind) & (frame["item"] == item) & (frame["metric"] == metric)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_rows_claims_and_deviations(tmp_path):
    rep = reproduce_folder(results_folder(tmp_path / "run"))
    f = rep.frame
    gan = pick(f, "value", "GAN", "modes_covered")
    # 17.3 against 17.3 ± 0.8 (s.e.) with the grid's margin of 2 modes: equivalent
    assert gan["verdict"] == "agrees" and gan["ours_n"] == 5  # the diverged seed is not a value
    assert gan["margin"] == 2 and -2 < gan["diff_low"] < gan["diff_high"] < 2
    assert pick(f, "value", "PacGAN2", "modes_covered")["verdict"] == "differs"  # 2.3 below, outside ± 2
    kl_metric = "reverse_kl_hq" if "reverse_kl_hq" in set(f["metric"]) else "reverse_kl"
    assert pick(f, "value", "PacGAN2", kl_metric)["verdict"] == "differs"  # 0.3 vs the paper's 0.13 ± 0.04
    central = pick(f, "claim", "PacGAN2 covers more modes than GAN (the paper's central claim)", "modes_covered")
    assert central["verdict"] == "holds" and central["p_value"] <= central["p_adjusted"] < 0.05
    kl = f[(f["kind"] == "claim") & f["metric"].str.startswith("reverse_kl")].iloc[0]
    assert kl["verdict"] == "inconclusive"  # the planted KLs do not differ
    assert "budget.steps: 400000 in the paper, 10000 here" in rep.deviations
    assert "seeds (runs per row): 10 in the paper, 5 here" in rep.deviations


def test_coverage_claims_below_the_quality_floor_are_not_judged(tmp_path):
    f = reproduce_folder(results_folder(tmp_path / "run", quality=0.03)).frame
    central = pick(f, "claim", "PacGAN2 covers more modes than GAN (the paper's central claim)", "modes_covered")
    assert central["verdict"] == "inconclusive (low quality)" and "quality floor" in central["note"]
    assert central["p_value"] < 0.05  # tested all the same: the test is not the problem, the generators are


def test_verdicts_over_training_and_the_step_they_settle(tmp_path):
    rep = reproduce_folder(results_folder(tmp_path / "run"))
    over = rep.over
    assert list(over.verdicts.columns) == [1000, 2000, 3000]
    central = "claim: grid-pac2-modes"
    # at step 1000 every cell sits at GAN's level: no claim yet; from 2000 on, the final values
    assert over.verdicts.loc[central, 1000] != "holds" and over.verdicts.loc[central, 3000] == "holds"
    assert over.stable_from[central] == 2000
    final = rep.frame[rep.frame["kind"] == "claim"].set_index("paper")["verdict"]
    assert over.verdicts.loc[central, 3000] == final["grid-pac2-modes"]  # the last step is the final verdict
    written = write_reproduction(rep)
    assert (tmp_path / "run" / "plots" / "verdicts_over_training.png").stat().st_size > 0
    md = written[0].read_text()
    assert "## Verdicts over training" in md and "fixed from step" in md


def test_cli_reads_a_folder_without_running_and_writes_three_files(tmp_path, capsys):
    folder = results_folder(tmp_path / "run")
    before = (folder / "trials.parquet").read_bytes()
    assert main(["reproduce", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "holds" in out and "deviation" in out
    for ext in ("md", "csv", "html"):
        assert (folder / f"reproduce.{ext}").stat().st_size > 0
    assert (folder / "trials.parquet").read_bytes() == before
    md = (folder / "reproduce.md").read_text()
    assert "## Deviations from the paper's protocol" in md and "budget.steps: 400000 in the paper" in md
    csv = pd.read_csv(folder / "reproduce.csv")
    assert set(csv["verdict"]) <= {"agrees", "differs", "inconclusive", "holds", "fails", "not run", "-",
                                   "inconclusive (low quality)"}
    assert {"margin", "diff_low", "diff_high", "min_detectable", "p_adjusted"} <= set(csv.columns)


def test_cli_refuses_a_suite_with_no_reference_data(capsys):
    assert main(["reproduce", str(ROOT / "suites" / "ring-losses.yaml")]) == 2
    err = capsys.readouterr().err
    assert "has no reference data" in err and "pacgan-grid" in err


def test_cli_refuses_set_on_a_results_folder(tmp_path, capsys):
    folder = results_folder(tmp_path / "run")
    assert main(["reproduce", str(folder), "--set", "budget.steps=5"]) == 2
    assert "--set" in capsys.readouterr().err


def test_a_missing_cell_is_reported_not_run(tmp_path):
    _ = results_folder(tmp_path / "run")
    folder = tmp_path / "run"
    suite = read_suite(GRID, [f"seeds={SEEDS}", "grid.variant=[gan, pacgan2]"])
    (folder / "suite.yaml").write_text(yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False))
    f = reproduce_folder(folder).frame
    assert pick(f, "value", "PacGAN4", "modes_covered")["verdict"] == "not run"
    assert "no cell of suite pacgan-grid has variant=pacgan4" in pick(f, "value", "PacGAN4", "modes_covered")["note"]
    write_reproduction(reproduce_folder(folder))  # writes with not-run rows too


def test_a_claims_only_table_on_a_list_grid(tmp_path):
    """Mescheder et al.'s Dirac-GAN table has claims and no numbers; its suite is a list of grids."""
    suite = read_suite(ROOT / "suites" / "papers" / "mescheder-dirac.yaml")
    converging = lambda c: c["consensus"] > 0 or c["r1"] > 0 or c["r2"] > 0 or c["instance_noise"] > 0  # noqa: E731
    rows = [{"cell": suite.cell_label(c), "seed": s, "status": "complete", "phase": "grid",
             "dirac_distance": 1e-40 if converging(c) else 1.4,
             "dirac_spectral_radius": 0.97 if converging(c) else 1.0} for c in suite.cells() for s in suite.seeds]
    folder = tmp_path / "dirac"
    folder.mkdir()
    (folder / "suite.yaml").write_text(yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False))
    pd.DataFrame(rows).to_parquet(folder / "trials.parquet", index=False)
    rep = reproduce_folder(folder)
    claims = rep.frame[rep.frame["kind"] == "claim"]
    assert len(claims) == 16 and set(claims["verdict"]) == {"holds"}
    assert claims["p_value"].isna().all()  # deterministic: decided by the radius, not tested
    assert rep.frame[rep.frame["kind"] == "value"].empty
    assert [d for d in rep.deviations if not d.startswith("always:")] == []
    md = (write_reproduction(rep)[0]).read_text()
    assert "## The paper's claims" in md and "## The paper's rows" not in md


def test_cli_reports_a_protocol_whose_data_is_missing_as_not_runnable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANBENCH_DATA_DIR", str(tmp_path / "no-data"))
    out = tmp_path / "out"
    assert main(["reproduce", str(ROOT / "suites" / "papers" / "goodfellow-mnist.yaml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not runnable here" in err and "train-images-idx3-ubyte" in err and "Traceback" not in err
    assert not out.exists()  # nothing is made for a run that cannot start
