"""Every protocol suite (suites/papers/<suite>.yaml) holds its reference's authors' settings, entry by entry.

For each ``authors`` entry with a ``key``, the suite's value (``n_seeds``: its number of seeds; any other key:
dotted into ``suite.model_dump(mode="json")``) equals the authors' ``value``, unless the entry declares a
``deviation``, and then it differs (a deviation that no longer departs is stale). Every ``settings`` key of a table
is also an authors entry with the same value, so the two lists never disagree.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ganbench.config import same_value
from ganbench.references import load_papers
from ganbench.suite import read_suite

ROOT = Path(__file__).resolve().parents[2]
PAPERS = ROOT / "suites" / "papers"
TABLES = [(paper, table) for paper in load_papers() for table in paper.tables
          if (PAPERS / f"{table.suite}.yaml").exists()]
IDS = [f"{paper.key}-{table.id}" for paper, table in TABLES]
_MISSING = object()


def suite_value(suite, key: str):
    if key == "n_seeds":
        return len(suite.seeds)
    node = suite.model_dump(mode="json")
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


@pytest.mark.parametrize("paper,table", TABLES, ids=IDS)
def test_the_protocol_suite_holds_every_keyed_author_setting(paper, table):
    suite = read_suite(PAPERS / f"{table.suite}.yaml")
    wrong = []
    for setting in table.authors:
        if setting.key is None:
            continue
        actual = suite_value(suite, setting.key)
        equal = actual is not _MISSING and same_value(actual, setting.value)
        if setting.deviation and equal:
            wrong.append(f"{setting.key}: declared a deviation, but the suite holds the authors' {setting.value!r}")
        elif not setting.deviation and not equal:
            shown = "nothing" if actual is _MISSING else repr(actual)
            wrong.append(f"{setting.key}: the authors' {setting.value!r} ({setting.source}), the suite {shown}")
    assert wrong == []


@pytest.mark.parametrize("paper,table", TABLES, ids=IDS)
def test_every_setting_is_an_author_setting_of_the_same_value(paper, table):
    keyed = {s.key: s for s in table.authors if s.key is not None}
    if not table.authors:
        pytest.skip(f"{paper.key} {table.id} has no authors list yet")
    missing = sorted(set(table.settings) - set(keyed))
    assert missing == [], f"settings keys with no authors entry: {missing}"
    for key, value in table.settings.items():
        assert same_value(keyed[key].value, value), key


@pytest.mark.parametrize("paper,table", TABLES, ids=IDS)
def test_each_key_is_listed_once(paper, table):
    keys = [s.key for s in table.authors if s.key is not None]
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []


def test_the_pacgan_tables_pin_the_protocol_options():
    pacgan = next(paper for paper in load_papers() if paper.key == "pacgan")
    for table in pacgan.tables:
        keys = {s.key for s in table.authors}
        assert {"params.train_set_size", "params.g_per_pac_slot", "params.g_norm_momentum", "params.g_norm_eps",
                "params.g_norm_gamma_init", "budget.eval_every", "n_seeds"} <= keys
        # every source names the authors' repository (or a library their code runs on) and a path in it
        assert all(":" in s.source and "/" in s.source for s in table.authors)
        # the rows and the KL claims read the authors' reverse KL (high-quality samples only)
        assert all("reverse_kl" not in row.values for row in table.rows)
        assert {c.metric for c in table.claims if "kl" in c.id} == {"reverse_kl_hq"}
        lowest = min(row.values["high_quality_frac"].value for row in table.rows)
        assert table.quality_floor.floor == pytest.approx(lowest / 2)
