"""leaderboard.html in a real headless Chromium: sorting by a header click, the column toggle, the plot grid.

Skipped where Playwright's Python package or a Chromium executable is missing (CI has neither):
`pip install playwright` and `apt-get install chromium`; `playwright install` is not needed.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ganbench.report import write_report

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable on PATH (apt-get install chromium)")

#: a published run, 4 cells x 5 seeds, with plots; the page is rebuilt from a copy, results/ stays untouched
PUBLISHED = Path(__file__).resolve().parents[2] / "results" / "pacgan-ring"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("board") / PUBLISHED.name
    shutil.copytree(PUBLISHED, folder)
    write_report(folder)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        requests = []
        tab.on("request", lambda r: requests.append(r.url))
        tab.goto((folder / "leaderboard.html").as_uri())
        tab.requests = requests
        yield tab
        browser.close()


def column(page, name: str) -> list[str]:
    """The cells of the column whose header starts with ``name``, top to bottom."""
    headers = page.locator("table.board th").all_inner_texts()
    index = next(i for i, h in enumerate(headers) if h.startswith(name))
    return page.locator(f"table.board tbody tr td:nth-child({index + 1})").all_inner_texts()


def means(cells: list[str]) -> list[float]:
    return [float(c.split(" ± ")[0]) for c in cells]


def test_clicking_a_header_sorts_the_rows_and_clicking_again_reverses_them(page):
    before = column(page, "variant")
    page.locator("table.board th", has_text="modes_covered").click()
    ascending = means(column(page, "modes_covered"))
    assert ascending == sorted(ascending) and column(page, "variant") != before
    page.locator("table.board th", has_text="modes_covered").click()
    assert means(column(page, "modes_covered")) == sorted(ascending, reverse=True)
    assert sorted(column(page, "variant")) == sorted(before)  # rows moved whole, none lost


def test_the_toggle_reveals_the_hidden_columns_and_hides_them_again(page):
    hidden = page.locator("table.board th", has_text="n_diverged")
    primary = page.locator("table.board th", has_text="modes_covered")
    assert not hidden.is_visible() and primary.is_visible()
    page.locator("button.columns").click()
    assert hidden.is_visible() and page.locator("table.board td.extra").first.is_visible()
    page.locator("button.columns").click()
    assert not hidden.is_visible()


def test_plots_sit_side_by_side_under_titles_and_nothing_comes_from_the_network(page, tmp_path):
    figures = page.locator("div.plots figure")
    assert figures.count() >= 2
    boxes = [figures.nth(i).bounding_box() for i in range(figures.count())]
    assert len({round(b["y"]) for b in boxes}) < len(boxes)  # a grid: some plots share a row
    assert all(t.strip() for t in page.locator("div.plots figcaption").all_inner_texts())
    assert all(url.startswith(("file:", "data:")) for url in page.requests)
    page.screenshot(path=tmp_path / "leaderboard.png", full_page=True)  # renders to the end without error
