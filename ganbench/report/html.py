"""leaderboard.html: one self-contained page (no network needed): header, sortable table, plots inlined."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd

#: click a header to sort; numbers sort by the mean before " ± "
_SORT_JS = """
document.querySelectorAll('table.board th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const asc = th.dataset.order !== 'asc'; th.dataset.order = asc ? 'asc' : 'desc';
  const key = tr => { const t = tr.cells[col].dataset.sort ?? tr.cells[col].textContent;
                      const x = parseFloat(t); return isNaN(x) ? t : x; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); }).forEach(tr => body.appendChild(tr));
}));
"""

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table.board { border-collapse: collapse; font-size: 13px; }
table.board th { cursor: pointer; background: #f0f0f0; position: sticky; top: 0; }
table.board th, table.board td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
table.board td.best { font-weight: bold; background: #e8f5e9; }
ul.header { font-size: 13px; } figure { display: inline-block; margin: 1em; } img { max-width: 640px; }
img.grid { width: 96px; image-rendering: pixelated; }
"""


def inline_code(text: str) -> str:
    """Escape, then turn Markdown `code` into <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def _sort_key(text: str) -> str:
    return text.split(" ± ")[0].strip("*")


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def to_html(title: str, description: str, header: list[str], table: pd.DataFrame, best: pd.DataFrame,
            images: list[Path], pictures_root: Path | None = None) -> str:
    """The page; ``images`` are PNGs embedded as data URIs so the file stands alone.

    A ``samples`` column (paths relative to ``pictures_root``) shows each row's sample grid inline.
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for i in table.index:
        cells = []
        for c in table.columns:
            text = str(table.at[i, c])
            cls = ' class="best"' if bool(best.at[i, c]) else ""
            if c == "samples" and text and pictures_root is not None and (Path(pictures_root) / text).exists():
                cells.append(f'<td><img class="grid" alt="{html.escape(text)}" '
                             f'src="{_data_uri(Path(pictures_root) / text)}"></td>')
                continue
            cells.append(f'<td{cls} data-sort="{html.escape(_sort_key(text))}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    figures = []
    for path in images:
        figures.append(f'<figure><img alt="{html.escape(path.stem)}" src="{_data_uri(path)}">'
                       f"<figcaption>{html.escape(path.name)}</figcaption></figure>")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(description)}</p>" if description else "",
        '<ul class="header">' + "".join(f"<li>{inline_code(item)}</li>" for item in header) + "</ul>",
        f'<table class="board"><thead><tr>{head}</tr></thead><tbody>',
        *rows,
        "</tbody></table>",
        "<h2>Plots</h2>" if figures else "",
        *figures,
        f"<script>{_SORT_JS}</script>",
        "</body></html>", "",
    ])
