"""Reference data (ganbench/references/*.yaml): schema-valid, and tied to protocol suites that run the paper's protocol."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganbench.references import ReferenceError, load_papers, parse_paper, table_for_suite
from ganbench.report.reproduce import deviations
from ganbench.suite import load_suite, read_suite

ROOT = Path(__file__).resolve().parents[2]
PAPERS = ROOT / "suites" / "papers"
TABLES = [(paper, table) for paper in load_papers() for table in paper.tables]
IDS = [f"{paper.key}-{table.id}" for paper, table in TABLES]


def test_the_issue_s_papers_are_all_there():
    keys = {paper.key for paper in load_papers()}
    assert {"pacgan", "mescheder2018", "r3gan", "goodfellow2014"} <= keys
    assert {table.suite for _, table in TABLES} == {p.stem for p in PAPERS.glob("*.yaml")}


@pytest.mark.parametrize("paper,table", TABLES, ids=IDS)
def test_the_protocol_suite_is_the_paper_s_protocol(paper, table):
    suite = read_suite(PAPERS / f"{table.suite}.yaml")
    assert suite.name == table.suite
    # run as shipped, the only deviations are the ones the reference lists for every run
    assert [d for d in deviations(table, suite) if not d.startswith("always: ")] == []


@pytest.mark.parametrize("paper,table", TABLES, ids=IDS)
def test_every_row_and_claim_picks_one_cell(paper, table):
    from ganbench.report.judge import cell_of as _cell_of

    suite = read_suite(PAPERS / f"{table.suite}.yaml")
    patterns = [row.cell for row in table.rows if "tfd" not in row.cell.values()]
    patterns += [c for claim in table.claims for c in ((claim.a, claim.b) if claim.kind == "comparison" else (claim.cell,))]
    for pattern in patterns:
        label, why = _cell_of(suite, pattern)
        assert label is not None, why


def test_protocol_suites_validate_where_their_data_is_here():
    for path in PAPERS.glob("*.yaml"):
        if path.stem != "goodfellow-mnist":  # needs local MNIST files
            load_suite(path)


def test_a_changed_budget_is_a_deviation():
    _, table = table_for_suite("pacgan-grid")
    suite = read_suite(PAPERS / "pacgan-grid.yaml", ["budget.steps=5000", "seeds=[0,1,2,3,4]", "params.lr_g=0.001"])
    found = deviations(table, suite)
    assert "budget.steps: 400000 in the paper, 5000 here" in found
    assert "seeds (runs per row): 10 in the paper, 5 here" in found
    assert "params.lr_g: 0.0001 in the paper, 0.001 here" in found


def test_a_data_substitute_is_a_deviation():
    _, table = table_for_suite("goodfellow-mnist")
    suite = read_suite(PAPERS / "goodfellow-mnist.yaml", ["grid.dataset=[digits]"])
    assert "grid.dataset: [mnist] in the paper, [digits] here" in deviations(table, suite)


def test_a_suite_without_reference_data_is_refused_by_name():
    with pytest.raises(ReferenceError, match=r"suite 'dirac' has no reference data.*pacgan-grid"):
        table_for_suite("dirac")


@pytest.mark.parametrize("change,problem", [
    (lambda p: p.pop("citation"), "citation"),
    (lambda p: p["tables"][0]["rows"][0]["values"]["modes_covered"].update(spread=-1), "spread"),
    (lambda p: p["tables"][0]["claims"][0].update(below=0.5), "either a, b and direction"),
    (lambda p: p["tables"][0]["rows"][0]["values"]["modes_covered"].update(spread_kind="iqr"), "spread_kind"),
    (lambda p: p["tables"][0].update(colour="red"), "colour"),
])
def test_a_bad_reference_file_is_named_with_its_problem(change, problem):
    raw = yaml.safe_load((ROOT / "ganbench" / "references" / "pacgan.yaml").read_text())
    change(raw)
    with pytest.raises(ReferenceError, match=problem) as err:
        parse_paper(raw, "ganbench/references/pacgan.yaml")
    assert "ganbench/references/pacgan.yaml" in str(err.value)


def test_a_value_changed_from_the_protocol_suite_is_a_deviation_too():
    from ganbench.report.reproduce import protocol_suite

    _, table = table_for_suite("r3gan-stacked-digits")  # the paper states no budget: the protocol suite does
    run = read_suite(PAPERS / "r3gan-stacked-digits.yaml", ["budget.steps=1500", "params.eval_samples=2500"])
    found = deviations(table, run, protocol_suite("r3gan-stacked-digits"))
    assert "budget.steps: 20000 in the protocol suite, 1500 here" in found
    assert "params.eval_samples: 26000 in the protocol suite, 2500 here" in found
    assert [d for d in deviations(table, read_suite(PAPERS / "r3gan-stacked-digits.yaml"),
                                  protocol_suite("r3gan-stacked-digits")) if not d.startswith("always")] == []
