"""Shared bits of the benchmark scripts: a table printer and a CSV writer."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ganbench.results import atomic_write


def report(rows: list[dict], title: str, out: Path, name: str) -> pd.DataFrame:
    """Print ``rows`` as a table and write them to ``out/name.csv``."""
    frame = pd.DataFrame(rows)
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    Console().print(table)
    atomic_write(Path(out) / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))
    return frame
