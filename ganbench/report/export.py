"""Leaderboards for papers and pipelines: LaTeX (booktabs) and JSON lines."""
from __future__ import annotations

import json
import math

import pandas as pd

def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("{", r"\{"), ("}", r"\}"), ("$", r"\$")):
        text = text.replace(a, b)
    return text.replace("±", r"$\pm$").replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$")


def to_latex(table: pd.DataFrame, best: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (\\usepackage{booktabs}); the best of each column in bold."""
    cols = list(table.columns)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{_latex_escape(caption)}}}",
             rf"\label{{{label}}}", r"\begin{tabular}{" + "l" * len(cols) + "}", r"\toprule",
             " & ".join(_latex_escape(str(c)) for c in cols) + r" \\", r"\midrule"]
    for i in table.index:
        cells = [_latex_escape(str(table.at[i, c])) for c in cols]
        cells = [rf"\textbf{{{t}}}" if bool(best.at[i, c]) else t for t, c in zip(cells, cols)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def to_jsonl(board: pd.DataFrame) -> str:
    """One JSON object per cell with every column of leaderboard.csv (NaN -> null)."""
    def clean(v):
        if isinstance(v, float) and math.isnan(v):
            return None
        return v.item() if hasattr(v, "item") else v

    return "".join(json.dumps({k: clean(v) for k, v in row.items()}) + "\n" for row in board.to_dict("records"))
