"""leaderboard.html: one self-contained page (no network needed): header, sortable table, plots inlined.

The table shows its primary columns (``headline.headline_columns``) and hides the others until the reader
clicks "show all columns"; the plots sit in a grid that reflows with the window, each under its title.
"""
from __future__ import annotations

import base64
import html
import re
import struct
from pathlib import Path

import pandas as pd

#: click a header to sort; numbers sort by the mean before " ± " or " ["
_SORT_JS = """
document.querySelectorAll('table.board th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const asc = th.dataset.order !== 'asc'; th.dataset.order = asc ? 'asc' : 'desc';
  const key = tr => { const t = tr.cells[col].dataset.sort ?? tr.cells[col].textContent;
                      const x = parseFloat(t); return isNaN(x) ? t : x; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); }).forEach(tr => body.appendChild(tr));
}));
document.querySelectorAll('button.columns').forEach(button => button.addEventListener('click', () => {
  const all = button.nextElementSibling.querySelector('table').classList.toggle('all');
  button.textContent = all ? button.dataset.fewer : button.dataset.more;
}));
"""

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table.board { border-collapse: collapse; font-size: 13px; }
table.board th { cursor: pointer; background: #f0f0f0; position: sticky; top: 0; }
table.board th, table.board td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
table.board td.best { font-weight: bold; background: #e8f5e9; }
table.board th[data-order="asc"]::after { content: " ▲"; } table.board th[data-order="desc"]::after { content: " ▼"; }
table.board:not(.all) .extra { display: none; } table.board .text { text-align: left; }
div.scroll { overflow: auto; max-height: 85vh; max-width: 100%; width: fit-content; }
button.columns { margin: 0 0 .5em; font-size: 13px; cursor: pointer; }
ul.header { font-size: 13px; } img.grid { width: 96px; image-rendering: pixelated; }
div.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 480px), 1fr));
             grid-auto-flow: dense; gap: 1.5em; }
div.plots figure { margin: 0; } div.plots img { width: 100%; height: auto; }
div.plots figcaption { font-weight: 600; margin-bottom: .3em; }
div.plots figure.wide { grid-column: 1 / -1; } div.plots figure.wide img { width: auto; max-width: 100%; }
"""
#: columns of picture paths, shown as the pictures themselves
PICTURE_COLUMNS = ("samples", "strip")
#: a plot wider than this (width / height: the two-panel equilibrium, the throughput bars) takes a whole row
WIDE = 2.5
#: plot titles the file name alone would not make clear; the rest read "curves_reverse_kl" as "Curves: reverse kl"
PLOT_TITLES = {
    "k_effect": "Effect of k (D steps per G step)", "dirac": "Dirac-GAN trajectories",
    "equilibrium": "Equilibrium: D(x), D(G(z)) and V(D,G)", "samples": "Samples during training",
    "budget": "Best objective vs search budget (trials)", "budget_compute": "Best objective vs compute spent",
    "objective": "Objective per cell", "effects": "Main effect of each axis (paired B - A)",
    "image_metrics": "Image metrics over training", "image_samples": "Real data, generated samples, strip over training",
}


def inline_code(text: str) -> str:
    """Escape, then turn Markdown `code` into <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def _sort_key(text: str) -> str:
    return text.split(" ± ")[0].split(" [")[0].strip("*")


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def plot_title(path: Path) -> str:
    """'curves_modes_covered.png' -> 'Curves: modes covered'; the few unclear names from PLOT_TITLES."""
    if path.stem in PLOT_TITLES:
        return PLOT_TITLES[path.stem]
    first, _, rest = path.stem.partition("_")
    words = f"{first}: {rest}" if first == "curves" and rest else path.stem
    return words.replace("_", " ").capitalize()


def to_html(title: str, description: str, header: list[str], table: pd.DataFrame, best: pd.DataFrame,
            images: list[Path], pictures_root: Path | None = None, primary: list[str] | None = None) -> str:
    """The page; ``images`` are PNGs embedded as data URIs so the file stands alone.

    Columns outside ``primary`` (default: none outside) are hidden behind a "show all columns" button. A
    ``samples`` column (paths relative to ``pictures_root``) shows each row's sample grid inline, always, and a
    ``strip`` column its strip over training (a row of samples per evaluation).
    """
    shown = set(table.columns if primary is None else [*primary, *PICTURE_COLUMNS])
    extra = {c: "" if c in shown else "extra" for c in table.columns}
    align = {c: "" if any(_is_number(_sort_key(str(v))) for v in table[c]) else "text" for c in table.columns}
    head = "".join(f"<th{_class(extra[c], align[c])}>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for i in table.index:
        cells = []
        for c in table.columns:
            text = str(table.at[i, c])
            if c in PICTURE_COLUMNS and text and pictures_root is not None and (Path(pictures_root) / text).exists():
                cells.append(f'<td><img class="grid" alt="{html.escape(text)}" '
                             f'src="{_data_uri(Path(pictures_root) / text)}"></td>')
                continue
            cls = _class("best" if bool(best.at[i, c]) else "", extra[c], align[c])
            cells.append(f'<td{cls} data-sort="{html.escape(_sort_key(text))}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    hidden = sum(1 for c in extra.values() if c)
    figures = [f'<figure{_class("wide" if _aspect(path) > WIDE else "")}><figcaption>{html.escape(plot_title(path))}'
               f'</figcaption><img alt="{html.escape(plot_title(path))}" src="{_data_uri(path)}"></figure>'
               for path in images]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(description)}</p>" if description else "",
        '<ul class="header">' + "".join(f"<li>{inline_code(item)}</li>" for item in header) + "</ul>",
        # the button toggles the table in its next sibling
        f'<button type="button" class="columns" data-more="show all columns ({hidden} more)" '
        f'data-fewer="show the primary columns only">show all columns ({hidden} more)</button>' if hidden else "",
        f'<div class="scroll"><table class="board"><thead><tr>{head}</tr></thead><tbody>',
        *rows,
        "</tbody></table></div>",
        '<h2>Plots</h2><div class="plots">' if figures else "",
        *figures,
        "</div>" if figures else "",
        f"<script>{_SORT_JS}</script>",
        "</body></html>", "",
    ])


def _aspect(png: Path) -> float:
    """Width / height from the PNG header (IHDR: two big-endian uint32 at byte 16)."""
    width, height = struct.unpack(">II", Path(png).read_bytes()[16:24])
    return width / height


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _class(*names: str) -> str:
    joined = " ".join(n for n in names if n)
    return f' class="{joined}"' if joined else ""
