"""The leaderboard's text: the notes a reader needs to cite a table (protocol, statistics, how image metrics were
measured, the search, the environment) and leaderboard.md, those notes above the table."""
from __future__ import annotations

import pandas as pd

from ganbench.metrics import LOG4, Metric
from ganbench.report.display import display_table, interval_kinds
from ganbench.report.ideal import ideal_header
from ganbench.report.ties import ALPHA
from ganbench.suite import Suite


def image_protocol(trials: pd.DataFrame | None) -> list[str]:
    """How FID & co. were measured (DESIGN: record n_real, n_fake, the feature network and versions)."""
    if trials is None or "image_eval.feature_net" not in trials:
        return []
    rows = trials.dropna(subset=["image_eval.feature_net"])
    if rows.empty:
        return []
    lines = []
    for net, group in rows.groupby("image_eval.feature_net"):
        r = group.iloc[0]
        lines.append(
            f"image metrics: features and logits of the classifier `{net}` (test accuracy "
            f"{float(r['image_eval.feature_net_acc']):.1%}); FID/KID/precision/recall/density/coverage against "
            f"{int(r['image_eval.n_real'])} real training images ({int(r['image_eval.n_real_pairwise'])} for the "
            f"k-NN metrics, k = {int(r['image_eval.nearest_k'])}) and {int(r['image_eval.n_fake'])} generated; KID "
            f"over {int(r['image_eval.kid_subsets'])} subsets; Parzen window sigma picked on "
            f"{int(r['image_eval.n_parzen_val'])} held-out images, log-likelihood of {int(r['image_eval.n_parzen_test'])} "
            f"others (parzen_ll_se: its standard error); torchmetrics {r['image_eval.torchmetrics']}, "
            f"prdc {r['image_eval.prdc']}; scores from this feature network compare only with each other"
        )
    return lines


def header_items(suite: Suite, run_info: dict | None, datasets: dict[str, dict],
                 trials: pd.DataFrame | None = None, intervals: str = "") -> list[str]:
    """What a reader needs to cite the table: protocol, statistics, environment (Markdown inline syntax).
    ``intervals``: ``interval_kinds``' line, which interval each metric column shows."""
    info = run_info or {}
    env = info.get("environment", {})
    protocols = sorted({record["protocol"] for record in datasets.values()})
    cuda = f", CUDA {env['cuda']}" if env.get("cuda") else ""
    return [
        f"suite hash `{info.get('suite_hash', suite.suite_hash())}`; {len(suite.cells())} cells x "
        f"{len(suite.seeds)} seeds; budget {suite.budget.steps} steps, evaluation every {suite.budget.eval_every}",
        "statistics: mean and 95% Student-t interval over the seeds of complete trials (mean ± half-width, or "
        "mean [low, high] where the metric's range cut it); "
        "diverged, pruned and failed trials are excluded from the means and counted in their columns; "
        "leaderboard.csv has the shown interval (_low/_high, its kind in _interval), the t half-width (_ci95), "
        "the BCa bootstrap interval (_boot_low/_boot_high) and each cell's Holm-adjusted "
        "p against the best (_p_vs_best: paired t when both ran the same seeds, else Welch; Holm over the "
        "headline metrics x cells, and separately over the other metrics x cells)",
        f"V(D,G) at the equilibrium D = 1/2 is -log 4 = {-LOG4:.4f}; equilibrium_gap is mean |D - 1/2| "
        "(only for losses whose optimal D is p_data/(p_data+p_g)); ↑/↓ = higher/lower is better; bold: the best "
        f"(per dataset) and every cell not significantly worse (Holm-adjusted paired/Welch tests, alpha {ALPHA:g})",
        *([intervals] if intervals else []),
        f"data: {'; '.join(protocols)}",
        *image_protocol(trials),
        *ideal_header(datasets),
        *([_search_line(suite)] if suite.search is not None else []),
        f"environment: ganbench {env.get('ganbench_version', '?')} (commit `{(env.get('git_commit') or '?')[:12]}`), "
        f"torch {env.get('torch', '?')}{cuda}, ray {env.get('ray', '?')}, optuna {env.get('optuna', '?')}, "
        f"python {env.get('python', '?')}; {env.get('device_name', '?')}, {env.get('cpu_count', '?')} CPUs; "
        f"run started {info.get('started_at', '?')[:16].replace('T', ' ')} UTC",
    ]


def to_markdown(board: pd.DataFrame, metrics: list[Metric], suite: Suite, run_info: dict | None,
                datasets: dict[str, dict], trials: pd.DataFrame | None = None) -> str:
    table, best = display_table(board, metrics, suite, datasets)
    table = table.mask(best, "**" + table + "**")
    for column, link in (("samples", "grid"), ("strip", "strip")):
        if column in table:
            table[column] = [f"[{link}]({path})" if path else "" for path in table[column]]
    lines = [
        f"# Leaderboard: {suite.name}",
        "",
        *([suite.description, ""] if suite.description else []),
        *[f"- {item}" for item in header_items(suite, run_info, datasets, trials,
                                               interval_kinds(board, metrics, suite, datasets))],
        "",
        table.to_markdown(index=False),
        "",
    ]
    return "\n".join(lines)


def _search_line(suite: Suite) -> str:
    s = suite.search
    assert s is not None
    return (f"search: an Optuna study per cell, {s.n_trials} trials each ({s.sampler} sampler, {s.pruner} pruner, "
            f"training seed {s.seed}), objective {s.objective.metric} ({s.objective.resolved_direction()}); "
            f"objective_best/median/worst are over each cell's complete search trials; the metric columns are "
            f"the best parameters re-run on seeds {suite.seeds}")
