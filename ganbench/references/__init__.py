"""Paper tables the harness reproduces: one YAML file per paper in this folder, validated by a schema.

A ``Table`` names the protocol suite that reproduces it (``suite``: the suite's name, as in
``suites/papers/<suite>.yaml``), the paper's protocol in words and as suite values (``settings``:
dotted suite keys, as ``--set`` takes them, plus ``n_seeds`` for the paper's run count), each row's
reported numbers with their spread and run count, and the paper's claims as checkable statements:

- a comparison: cell ``a``'s metric is greater (or less) than cell ``b``'s;
- a threshold: a cell's metric ends below (or above) a value (Dirac-GAN: "converges").

Values are in the harness's units (a paper's 98.2 % is 0.982 here). ``bench.py reproduce`` reads these
with ``table_for_suite``; ``ganbench.report.reproduce`` compares a results folder with them.
"""
from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ganbench.errors import UserError

__all__ = ["AuthorSetting", "Claim", "Margin", "QualityFloor", "Paper", "ReferenceError", "Reported", "Row", "Table", "load_papers", "table_for_suite"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ReferenceError(UserError):
    """A reference file that does not validate, or a suite that has no reference data."""


class Reported(BaseModel):
    """One number as the paper reports it: value, the ± after it, what that ± is, over how many runs."""

    model_config = _STRICT
    value: float
    spread: Optional[float] = Field(None, ge=0, description="the ± the paper prints (None: none printed)")
    spread_kind: Literal["se", "sd", "ci95"] = Field("se", description="standard error, deviation, or 95% half-width")
    n: Optional[int] = Field(None, ge=1, description="runs (or examples) the spread is over")

    def sd(self) -> Optional[float]:
        """The standard deviation behind the spread, where it can be recovered (None: unknown)."""
        from scipy import stats

        if self.spread is None or self.n is None:
            return None
        if self.spread_kind == "sd":
            return self.spread
        se = self.spread if self.spread_kind == "se" else self.spread / stats.t.ppf(0.975, max(self.n - 1, 1))
        return se * self.n ** 0.5

    def text(self) -> str:
        spread = f" ± {self.spread:g} ({self.spread_kind})" if self.spread is not None else ""
        return f"{self.value:g}{spread}" + (f", n = {self.n}" if self.n else "")


class Row(BaseModel):
    """A row of the paper's table: which cell of the protocol suite it is, and what the paper reports for it."""

    model_config = _STRICT
    label: str = Field(description="the row as the paper names it, e.g. PacGAN2")
    cell: dict[str, Any] = Field(min_length=1, description="grid axis values that pick the suite's cell")
    values: dict[str, Reported] = Field(default_factory=dict, description="metric -> the paper's number")
    note: str = ""


class Claim(BaseModel):
    """A qualitative statement of the paper, as a test on the protocol suite's results."""

    model_config = _STRICT
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    statement: str
    metric: str
    #: comparison: a's metric is ``direction`` than b's
    a: Optional[dict[str, Any]] = None
    b: Optional[dict[str, Any]] = None
    direction: Optional[Literal["greater", "less"]] = None
    #: threshold: ``cell``'s metric ends below (or above) ``threshold``
    cell: Optional[dict[str, Any]] = None
    below: Optional[float] = None
    above: Optional[float] = None
    #: the metric is a function of the trial's config, not of its seed (e.g. a Jacobian's spectral radius):
    #: its value decides, with no test and no p-value
    deterministic: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> "Claim":
        comparison = (self.a, self.b, self.direction)
        threshold = (self.cell, self.below if self.below is not None else self.above)
        if all(v is not None for v in comparison) and all(v is None for v in (self.cell, self.below, self.above)):
            return self
        if all(v is not None for v in threshold) and all(v is None for v in comparison) \
                and (self.below is None or self.above is None):
            return self
        raise ValueError(f"claim {self.id!r}: give either a, b and direction (a comparison) or cell and one of "
                         "below/above (a threshold)")

    @property
    def kind(self) -> str:
        return "comparison" if self.a is not None else "threshold"


class AuthorSetting(BaseModel):
    """One setting of the authors' protocol, with where it was read, and how the protocol suite meets it.

    ``key`` (a dotted suite key, as ``--set`` takes it) when the harness expresses the setting: the protocol
    suite must then hold ``value`` unless ``deviation`` says how and why it does not. A setting with no key
    is either ``builtin`` (where the harness does it, e.g. ``ganbench/metrics/modes.py: 3 std``) or a
    ``deviation``; tests/references pins every protocol suite against this list.
    """

    model_config = _STRICT
    name: str = Field(description="the setting in words, e.g. 'G learning rate'")
    value: Any = Field(description="the authors' value, in the harness's units where it has a key")
    source: str = Field(min_length=3, description="where it was read: 'owner/repo: path' (code) or 'paper, Sec. N'")
    key: Optional[str] = Field(None, description="dotted suite key expressing it (params.lr_g, budget.steps, ...)")
    builtin: str = Field("", description="where the harness does it without a suite key")
    deviation: str = Field("", description="how and why the protocol suite departs from it (listed in reproduce.md)")

    @model_validator(mode="after")
    def _met_or_declared(self) -> "AuthorSetting":
        if self.key is None and bool(self.builtin) == bool(self.deviation):
            raise ValueError(f"setting {self.name!r} has no suite key: give exactly one of builtin (where the harness "
                             "does it) or deviation (how the protocol suite departs)")
        return self


class Margin(BaseModel):
    """The equivalence margin of one metric: ours - paper inside ± value counts as the same result."""

    model_config = _STRICT
    value: float = Field(gt=0, description="absolute margin, in the metric's units")
    reason: str = Field(min_length=3, description="why this difference is negligible for the paper's table")


class QualityFloor(BaseModel):
    """A coverage claim compares generators of the paper's quality only: below the floor it is not judged."""

    model_config = _STRICT
    metric: str = Field("high_quality_frac", description="the quality metric whose cell mean is checked")
    floor: float = Field(description="the least mean quality (over each cell of the claim) that is judged")
    applies_to: list[str] = Field(min_length=1, description="claim metrics the floor guards (modes_covered, ...)")
    reason: str = Field(min_length=3)


class Table(BaseModel):
    """One table (or figure) of a paper, reproduced by the suite named ``suite``."""

    model_config = _STRICT
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    suite: str = Field(description="name of the protocol suite (suites/papers/<suite>.yaml) that reproduces it")
    protocol: str = Field(description="the paper's protocol in words")
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="the protocol as suite values: dotted keys as --set takes them (budget.steps, params.lr_g, "
                    "grid.dataset, ...) and n_seeds for the paper's number of runs")
    differences: list[str] = Field(default_factory=list,
                                   description="ways even the protocol suite differs from the paper, always listed")
    rows: list[Row] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    requires: str = Field("", description="what the machine needs to run it (e.g. local MNIST files)")
    authors: list[AuthorSetting] = Field(default_factory=list,
                                         description="the authors' protocol setting by setting, each with its source")
    margins: dict[str, Margin] = Field(default_factory=dict, description="metric -> equivalence margin for `agrees`")
    quality_floor: Optional[QualityFloor] = None


class Paper(BaseModel):
    model_config = _STRICT
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    citation: str
    url: str = ""
    tables: list[Table] = Field(min_length=1)


def parse_paper(raw: Any, source: str) -> Paper:
    """Validate one reference mapping; a ReferenceError names the file and every problem."""
    try:
        return Paper.model_validate(raw)
    except ValidationError as err:
        problems = [f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in err.errors()]
        raise ReferenceError(f"{source}: invalid reference data:\n  " + "\n  ".join(problems)) from None


@cache
def load_papers() -> tuple[Paper, ...]:
    """Every shipped reference file, validated (a bad one is an error naming it)."""
    papers = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            papers.append(parse_paper(yaml.safe_load(entry.read_text()), f"ganbench/references/{entry.name}"))
    suites = [table.suite for paper in papers for table in paper.tables]
    twice = sorted({s for s in suites if suites.count(s) > 1})
    if twice:
        raise ReferenceError(f"ganbench/references: suite(s) {', '.join(twice)} reproduce more than one table")
    return tuple(papers)


def table_for_suite(suite_name: str) -> tuple[Paper, Table]:
    """The paper table reproduced by the suite called ``suite_name``; ReferenceError when there is none."""
    for paper in load_papers():
        for table in paper.tables:
            if table.suite == suite_name:
                return paper, table
    known = ", ".join(sorted(t.suite for p in load_papers() for t in p.tables))
    raise ReferenceError(f"suite {suite_name!r} has no reference data: no table in ganbench/references/*.yaml names "
                         f"it; suites with paper tables: {known} (suites/papers/)")
