"""`bench.py run --profile`: the first trial's torch.profiler trace, in-process (no Ray)."""
from __future__ import annotations

import gzip
import json

from ganbench.config import TrialConfig
from ganbench.results import ResultsStore
from ganbench.sweep.trial import PROFILE_SCHEDULE, run_trials


def test_profiled_trial_returns_a_chrome_trace_of_the_training_ops(tmp_path):
    cfg = TrialConfig(model="mlp", loss="hinge", dataset="ring8", steps=50, eval_every=50, batch_size=16,
                      hidden=8, eval_samples=100, device="cpu")
    [out] = run_trials([cfg], ["loss"], profile=True)
    assert out.row["status"] == "complete"
    trace_gz, table = out.profile
    events = json.loads(gzip.decompress(trace_gz))["traceEvents"]
    names = {e.get("name", "") for e in events}
    assert any("addmm" in n or "linear" in n for n in names)  # the MLP's matrix products were traced
    steps = {e["name"] for e in events if e.get("name", "").startswith("ProfilerStep#")}
    assert len(steps) == PROFILE_SCHEDULE["active"]  # only the scheduled window
    assert "Self CPU" in table
    paths = ResultsStore(tmp_path).add_profile(out.row["trial_id"], trace_gz, table)
    assert all(p.stat().st_size > 0 for p in paths)


def test_unprofiled_trial_has_no_trace():
    cfg = TrialConfig(model="mlp", loss="hinge", dataset="ring8", steps=5, eval_every=5, batch_size=8,
                      hidden=8, eval_samples=50, device="cpu")
    assert run_trials([cfg], ["loss"])[0].profile is None
    assert [out.profile for out in run_trials([cfg, cfg], ["loss"], profile=True)] == [None, None]  # a stacked batch
