"""The results folder of one suite run: atomic writes, resume bookkeeping.

Layout of ``results/<suite>/``::

    suite.yaml        the suite as run (resolved, defaults filled in)
    run.json          suite hash, environment, command, times
    trials.parquet    one row per trial (identity, status, final metrics, throughput, environment)
    curves.parquet    one row per (trial, step, metric): long format
    samples/<trial_id>.npz  generated points at each evaluation (toy data only)
    samples/<trial_id>-<picture>.png  sample grid, interpolation or translations (image data)
    leaderboard.csv/.md  one row per cell (written by ganbench.report)
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from ganbench.errors import UserError
from ganbench.status import Status  # noqa: F401  (re-exported: results.Status, as before)


#: trials in these states are finished: a rerun does not redo them (a failed one is retried)
FINISHED = (Status.COMPLETE, Status.DIVERGED, Status.PRUNED)
CURVE_COLUMNS = ["trial_id", "step", "metric", "value"]
SAMPLES_DIR = "samples"


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Write via a temp file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


class ResultsError(UserError):
    """A results folder that cannot be used as it is (a damaged file, another suite's rows)."""


def read_table(path: Path) -> pd.DataFrame:
    """A Parquet table of a results folder; a damaged one is a ResultsError naming it, not a traceback."""
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for truncated or foreign files
        raise ResultsError(f"{path}: cannot be read ({type(err).__name__}: {err}); restore it from a copy, or move "
                           f"the folder aside (bench.py run --fresh does) and run again") from None


def read_results(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, curves) of a results folder, as its tables hold them: one row per trial (cell, params, seed, status,
    final metrics, ...) and one per (trial_id, step, metric, value) of the curves; an empty frame for a table not
    written yet. A folder without suite.yaml is a ResultsError."""
    folder = Path(folder)
    if not (folder / "suite.yaml").is_file():
        raise ResultsError(f"{folder}: not a results folder (no suite.yaml)")
    trials_path, curves_path = folder / "trials.parquet", folder / "curves.parquet"
    trials = read_table(trials_path) if trials_path.exists() else pd.DataFrame()
    curves = read_table(curves_path) if curves_path.exists() else pd.DataFrame(columns=CURVE_COLUMNS)
    return trials, curves


class ResultsStore:
    """Trials and curves of one run, kept in memory and flushed atomically after each trial.

    A flush merges by trial id with what is on disk when the file changed since this store last
    read or wrote it: rows written by anyone else are kept, never dropped (the folder lock makes
    a second writer rare; this makes it harmless).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.trials_path = self.folder / "trials.parquet"
        self.curves_path = self.folder / "curves.parquet"
        self.rows: list[dict] = []
        self.curves: list[tuple] = []
        self._seen: tuple | None = None  # (mtime_ns, size) of trials.parquet when last read or written
        self._load()

    def _load(self) -> None:
        if self.trials_path.exists():
            self.rows = read_table(self.trials_path).to_dict("records")
        if self.curves_path.exists():
            self.curves = list(read_table(self.curves_path).itertuples(index=False, name=None))
        self._seen = _stamp(self.trials_path)

    def _merge_from_disk(self) -> None:
        """Take in rows (and their curves) that another writer added since we last looked."""
        if _stamp(self.trials_path) == self._seen:
            return
        mine = {r["trial_id"] for r in self.rows}
        theirs = [r for r in read_table(self.trials_path).to_dict("records") if r["trial_id"] not in mine]
        if not theirs:
            return
        ids = {r["trial_id"] for r in theirs}
        extra = [c for c in read_table(self.curves_path).itertuples(index=False, name=None) if c[0] in ids] \
            if self.curves_path.exists() else []
        self.rows = theirs + self.rows
        self.curves = extra + self.curves

    def add(self, row: dict, curves: list[tuple], snapshots: list[tuple[int, np.ndarray]] = (),
            pictures: dict[str, np.ndarray] | None = None) -> None:
        """Record a trial, replacing an earlier attempt of the same trial (e.g. a failed one).

        ``snapshots`` (step, generated points) go to samples/<trial_id>.npz and ``pictures``
        (name -> uint8 image) to samples/<trial_id>-<name>.png, files per trial so a large
        sweep never rewrites them.
        """
        for name, picture in (pictures or {}).items():
            atomic_write(picture_path(self.folder, row["trial_id"], name), lambda tmp: _save_png(tmp, picture))
        if len(snapshots):
            steps = np.array([s for s, _ in snapshots], dtype=np.int64)
            points = np.stack([p for _, p in snapshots]).astype(np.float32)
            atomic_write(self.folder / SAMPLES_DIR / f"{row['trial_id']}.npz",
                         lambda tmp: _save_npz(tmp, steps=steps, points=points))
        self.rows = [r for r in self.rows if r["trial_id"] != row["trial_id"]] + [row]
        self.curves = [c for c in self.curves if c[0] != row["trial_id"]] + list(curves)
        self.flush()

    def add_profile(self, trial_id: str, trace_gz: bytes, table: str) -> list[Path]:
        """profile/<trial_id>.json.gz (open in Perfetto or chrome://tracing) and a summary table."""
        folder = self.folder / "profile"
        atomic_write(folder / f"{trial_id}.json.gz", lambda tmp: tmp.write_bytes(trace_gz))
        atomic_write_text(folder / f"{trial_id}.txt", table + "\n")
        return [folder / f"{trial_id}.json.gz", folder / f"{trial_id}.txt"]

    def trials_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def curves_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.curves, columns=CURVE_COLUMNS)

    def flush(self) -> None:
        self._merge_from_disk()
        trials, curves = self.trials_frame(), self.curves_frame()
        atomic_write(self.curves_path, lambda tmp: curves.to_parquet(tmp, index=False))
        atomic_write(self.trials_path, lambda tmp: trials.to_parquet(tmp, index=False))
        self._seen = _stamp(self.trials_path)


def _stamp(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def finished_ids(rows: list[dict]) -> set[str]:
    """Ids of the trials a rerun must not redo."""
    return {r["trial_id"] for r in rows if r["status"] in FINISHED}


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to the temp name
        np.savez_compressed(f, **arrays)


def _save_png(path: Path, picture: np.ndarray) -> None:
    from matplotlib.image import imsave

    with open(path, "wb") as f:
        imsave(f, picture, format="png", cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255)


def picture_path(folder: Path, trial_id: str, name: str) -> Path:
    return Path(folder) / SAMPLES_DIR / f"{trial_id}-{name}.png"


def read_snapshots(folder: Path, trial_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, points[n_evals, n, dim]) saved for a trial, or None."""
    path = Path(folder) / SAMPLES_DIR / f"{trial_id}.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return data["steps"], data["points"]


def write_suite(folder: Path, suite_dump: dict, run_info: dict) -> None:
    header = "# The suite as run: defaults filled in, overrides applied. Rerun with bench.py run on this file.\n"
    atomic_write_text(folder / "suite.yaml", header + yaml.safe_dump(suite_dump, sort_keys=False))
    write_run_info(folder, run_info)


def write_run_info(folder: Path, run_info: dict) -> None:
    """run.json, written atomically in one format (sorted keys), whoever writes it."""
    atomic_write_text(Path(folder) / "run.json", json.dumps(run_info, indent=2, sort_keys=True) + "\n")


def read_run_info(folder: Path) -> dict | None:
    """run.json of a results folder (None when there is none); a damaged one is a ResultsError."""
    path = Path(folder) / "run.json"
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsError(f"{path}: cannot be read ({err}); restore it from a copy, or move the folder aside "
                           f"(bench.py run --fresh does) and run again") from None
    if not isinstance(info, dict):
        raise ResultsError(f"{path}: not a run record (a JSON object expected)")
    return info
