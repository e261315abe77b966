"""The README's claims that can be checked mechanically, and every suite's header against the suite it heads.

README: every flag of a `bench.py` command (and of `ray start` / `ray status`, and of a benchmark script) that it
shows exists; every repo-relative path it names (suites/, results/, ganbench/, benchmarks/, tests/) exists, and
so does every file of its Layout block; every link into a section (#anchor) finds a heading.
Suites: a header (the comment lines before the first key) names its suite, carries no internal issue notes,
points only to README sections that exist, and its facts agree with the grid: the k values (`k = 1 vs 5`,
`k in {1, 3}`), the number of seeds (`two seeds`) and, where it names losses, exactly the losses the grid runs.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ganbench.cli import parser
from ganbench.registry import LOSSES, load_all
from ganbench.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SUITES = sorted((ROOT / "suites").rglob("*.yaml"))


# --- the README's own text ----------------------------------------------------------------------


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[^\n]*\n(.*?)```", text, re.S)


def code_spans(text: str) -> list[str]:
    """Inline code outside the fenced blocks, a span that breaks across lines read as one line."""
    prose = re.sub(r"```[^\n]*\n.*?```", "", text, flags=re.S)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]


def command_lines(text: str) -> list[str]:
    """Every command the README shows: code block lines (their `# comment` cut off) and inline code spans."""
    lines = [re.sub(r"\s#\s.*$", "", line) for block in code_blocks(text) for line in block.splitlines()]
    return [line.strip() for line in lines + code_spans(text) if line.strip()]


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors: a heading lowercased, its punctuation but - and _ dropped, spaces as hyphens."""
    prose = re.sub(r"```[^\n]*\n.*?```", "", text, flags=re.S)
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", prose, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def subcommand_flags() -> dict[str, set[str]]:
    """bench.py's flags per subcommand ('' for the top level's)."""
    ap = parser()
    flags = {"": {s for a in ap._actions for s in a.option_strings}}
    sub = next(a for a in ap._actions if a.choices and isinstance(a.choices, dict))
    for name, p in sub.choices.items():
        flags[name] = flags[""] | {s for a in p._actions for s in a.option_strings}
    return flags


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def test_every_bench_flag_the_readme_shows_exists_for_its_command():
    flags = subcommand_flags()
    checked = 0
    for line in command_lines(README):
        for match in re.finditer(r"bench\.py(?:\s+(\w+))?((?:\s+\S+)*)", line):
            command, rest = match.group(1) or "", match.group(2)
            if command not in flags:  # `bench.py` named in prose, not run
                continue
            for flag in FLAG.findall(rest):
                assert flag in flags[command], f"README: `{line}`: bench.py {command} has no {flag}"
                checked += 1
    every = set().union(*flags.values())
    scripts = " ".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.py"))
    from ray.scripts.scripts import start

    ray_start = {o for p in start.params for o in p.opts}
    for span in code_spans(README):
        if span.startswith("--"):  # a bare flag: bench.py's, a benchmark script's (`--smoke`) or ray start's
            flag = FLAG.match(span).group()
            assert flag in every or f'"{flag}"' in scripts or flag in ray_start, \
                f"README: `{span}`: neither a bench.py command, a benchmark script nor ray start has {flag}"
            checked += 1
    assert checked > 20


def test_every_ray_and_benchmark_flag_the_readme_shows_exists():
    from ray.scripts import scripts  # click commands: each option's spellings

    checked = 0
    for line in command_lines(README):
        ray = re.search(r"\bray (start|status|stop|get-auth-token)\b(.*)", line)
        if ray:
            options = {o for p in scripts.cli.commands[ray.group(1)].params for o in p.opts}
            for flag in FLAG.findall(ray.group(2)):
                assert flag in options, f"README: `{line}`: ray {ray.group(1)} has no {flag}"
                checked += 1
        script = re.search(r"(benchmarks/\w+\.py)(.*)", line)
        if script:
            source = (ROOT / script.group(1)).read_text()
            for flag in FLAG.findall(script.group(2)):
                assert f'"{flag}"' in source, f"README: `{line}`: {script.group(1)} has no {flag}"
                checked += 1
    assert "--smoke" in README and checked >= 5


PATH = re.compile(r"(?<![\w/.<-])((?:suites|results|ganbench|benchmarks|tests)/[\w./<>*-]*)")


def repo_paths(text: str) -> set[str]:
    """Repo-relative paths, placeholders left out (results/<suite>/, results/A, suites/papers/<suite>.yaml)."""
    found = {p.rstrip(".") for p in PATH.findall(text)}
    return {p for p in found if not re.search(r"[<*]|/[A-Z]+(/|$)", p)}


def test_every_repo_path_the_readme_names_exists():
    paths = repo_paths(README) | {link.split("#")[0] for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README)}
    assert len(paths) > 50
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"README names paths that do not exist: {missing}"


def test_every_file_of_the_layout_block_exists():
    """An entry (a path at the line's start, or an indented name under the last folder) is where it says; a file
    its description names (`budget.py`, `used by checks.py`) exists in the package."""
    block = next(b for b in code_blocks(README) if b.startswith("bench.py "))
    package = {p.name for p in (ROOT / "ganbench").rglob("*.py")}
    here = ROOT
    for line in block.splitlines():
        entry = re.match(r"(\S+)", line) or re.match(r"\s+(\w+\.py)\s", line)
        if entry:
            path = (ROOT if line[0] != " " else here) / entry.group(1)
            assert path.exists(), f"README Layout: {path.relative_to(ROOT)} does not exist"
            if line[0] != " ":  # a top-level entry: the folder the indented names below it are in
                here = path if path.is_dir() else path.parent
        described = line[entry.end():] if entry else line
        for name in re.findall(r"\b(\w+\.py)\b", described):
            assert name == "bench.py" or name in package, f"README Layout: no ganbench/**/{name}"


def test_every_section_link_finds_its_heading():
    for target, anchor in re.findall(r"\]\(([^)#]*)#([^)]+)\)", README):
        text = (ROOT / target).read_text() if target else README
        assert anchor in heading_anchors(text), f"README links to {target}#{anchor}: no such heading"


# --- each suite's header against its grid --------------------------------------------------------


def header(path: Path) -> str:
    lines = path.read_text().splitlines()
    comments = [line for line in lines[:next(i for i, l in enumerate(lines) if not l.startswith("#"))]]
    return "\n".join(line.lstrip("#").strip() for line in comments)


def suite_values(path: Path, key: str) -> set:
    """The values ``key`` takes over the suite's trials (presets applied; a searched key at its default)."""
    return {getattr(cfg, key) for cfg in load_suite(path).trial_configs()}


NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}


def stated_k(text: str) -> list[set[int]]:
    """`k = 1`, `k = 1 vs 5`, `k in {1, 3}`: each statement's set of k."""
    found = re.findall(r"\bk\s*(?:=|in)\s*(\{[^}]*\}|\d+(?:\s*vs\.?\s*\d+)*)", text)
    return [{int(n) for n in re.findall(r"\d+", f)} for f in found]


def stated_seeds(text: str) -> list[int]:
    found = re.findall(rf"\b(\d+|{'|'.join(NUMBERS)})\s+(?:fresh\s+)?seeds\b", text, re.I)
    return [int(n) if n.isdigit() else NUMBERS[n.lower()] for n in found]


def named_losses(text: str) -> set[str]:
    """The registered losses a text names (`non-saturating`, `WGAN-GP`); `saturating` alone and `standard`
    (Mescheder et al.'s "standard GAN") are minimax."""
    load_all()
    names = {re.sub(r"[-_]", "", n): n for n in LOSSES.names()}
    found = set()
    for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9_-]*", text):
        norm = re.sub(r"[-_]", "", token.lower())
        if norm in names:
            found.add(names[norm])
        elif norm in ("saturating", "standard"):
            found.add("minimax")
    return found


@pytest.mark.parametrize("path", SUITES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_suites_header_names_it_and_carries_no_internal_notes(path):
    text, data = header(path), yaml.safe_load(path.read_text())
    assert text, f"{path.name}: no header comment"
    assert data["name"] in text, f"{path.name}: the header does not name its suite {data['name']!r}"
    assert not re.search(r"\bissue[- ]?\d", text, re.I), f"{path.name}: the header carries an internal issue note"
    for section in re.findall(r"README[^\"\n]{0,12}\"([^\"]+)\"", text):
        section = " ".join(section.split())
        anchor = re.sub(r"[^\w\- ]", "", section.lower()).replace(" ", "-")
        assert anchor in heading_anchors(README), f"{path.name}: README has no section {section!r}"
    for anchor in re.findall(r"README(?:\.md)?#([\w-]+)", text):
        assert anchor in heading_anchors(README), f"{path.name}: README has no section #{anchor}"


@pytest.mark.parametrize("path", SUITES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_suites_header_and_description_agree_with_its_grid(path):
    data = yaml.safe_load(path.read_text())
    k, losses = suite_values(path, "d_steps_per_g_step"), suite_values(path, "loss")
    for where, text in (("header", header(path)), ("description", str(data.get("description", "")))):
        for stated in stated_k(text):
            assert stated == k, f"{path.name}: the {where} says k = {sorted(stated)}, the suite runs {sorted(k)}"
        for n in stated_seeds(text):
            assert n == len(data["seeds"]), f"{path.name}: the {where} says {n} seeds, the suite runs " \
                                            f"{len(data['seeds'])}"
        named = named_losses(text)
        if named:
            assert named == losses, f"{path.name}: the {where} names the losses {sorted(named)}, the suite " \
                                    f"runs {sorted(losses)}"


def test_the_rules_catch_what_they_are_for():
    assert stated_k("k = 1, two seeds") == [{1}] and stated_k("k = 1 vs 5; k in {1, 3}") == [{1, 5}, {1, 3}]
    assert stated_k("(k=1, 3 seeds, 1500 steps)") == [{1}] and stated_seeds("re-run on 3 fresh seeds") == [3]
    assert stated_seeds("k = 1, two seeds") == [2]
    assert named_losses("Saturating (minimax) vs non-saturating G loss") == {"minimax", "nonsaturating"}
    assert named_losses("LSGAN (CycleGAN's choice) vs hinge, WGAN-GP") == {"lsgan", "hinge", "wgan-gp"}
    assert repo_paths("`results/<suite>/`, `results/A`, suites/quick.yaml.") == {"suites/quick.yaml"}
