"""Trial identity: the config hash of every published trial is pinned; new fields cannot re-id them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pandas as pd
import pytest
from pydantic import Field

from ganbench.config import TrialConfig
from ganbench.roles import role

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = sorted((ROOT / "results").glob("*/trials.parquet"))


def published_rows() -> list[dict]:
    return [row for path in PUBLISHED for row in pd.read_parquet(path).to_dict("records")]


def test_there_are_published_trials_to_pin():
    assert len(PUBLISHED) >= 7 and len(published_rows()) >= 100


def test_every_published_trial_keeps_its_config_hash():
    for row in published_rows():
        cfg = TrialConfig(**json.loads(row["params"]))
        assert cfg.config_hash() == row["config_hash"], row["trial_id"]
        if row.get("phase", "grid") in ("grid", "confirm"):
            assert cfg.config_hash() == row["trial_id"]


def test_a_field_added_later_leaves_ids_alone_at_its_default_and_changes_them_when_set():
    class Later(TrialConfig):
        a_new_option: Optional[str] = Field(None, json_schema_extra=role("method"))

    row = published_rows()[0]
    params = json.loads(row["params"])
    assert Later(**params).config_hash() == row["config_hash"]
    assert Later(**params, a_new_option="on").config_hash() != row["config_hash"]


@pytest.mark.parametrize("key, value", [("amp", "bf16"), ("d_norm", "spectral"), ("cycle_weight", 5.0)])
def test_a_later_key_set_away_from_its_default_changes_the_id(key, value):
    base = TrialConfig(model="mlp", loss="hinge", dataset="ring8")
    assert base.model_copy(update={key: value}).config_hash() != base.config_hash()
