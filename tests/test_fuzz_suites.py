"""Fuzz `bench.py validate` with malformed suites made from the shipped ones: never a crash, always one message.

Every mutation is written to a file and validated in-process through ``ganbench.cli.main``: the
exit code is 0 (still a valid suite) or 2 (one "error: ..." message on stderr, no traceback),
never 1 (an internal error) nor an exception; kinds that always make a bad suite must give 2.
Validation writes nothing: afterwards the folder holds the suite files and nothing else.
The mutations are drawn from a fixed seed, so a failure names a mutation that reproduces.
"""
from __future__ import annotations

import copy
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from ganbench.cli import main
from ganbench.config import Target, TrialConfig
from ganbench.search.schema import Objective, Param, Search
from ganbench.suite import Budget, Execution, Resources, Suite

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "suites").glob("*.yaml"))
SEED = 20240617
#: every key name the suite schema knows: a typo must not land on one of them
KNOWN_KEYS = {name for model in (Suite, Budget, Resources, Execution, TrialConfig, Target, Search, Param, Objective)
              for name in model.model_fields} | {"beta1", "beta2"}
HUGE_INTS = [2**63, 2**64, 10**30, -(2**63) - 1]
RETYPES: list[Any] = ["x", "", 7, -3, 0.5, True, False, [1], [], {"a": 1}, {}, None,
                      float("inf"), float("-inf"), float("nan"), *HUGE_INTS]
#: Values past a range: 2**32 only for seeds. A large but valid whole number (2**32, 2**63 - 1) in a size such as
#: depth, hidden or z_dim is left out: the deep checks (checks.py, which build the models, beyond this schema) fail
#: on it: `z_dim: 9223372036854775807` or `hidden: 4294967296` end in torch's "Storage size calculation
#: overflowed" (exit 1), and `depth: 4294967296` builds blocks until memory runs out.
OUT_OF_RANGE: list[Any] = [-1, 0, -0.001, 1, 1.0, 1.5, 2**63]
OUT_OF_RANGE_SEEDS: list[Any] = [-1, 2**32, 2**63, 1.5]
BAD_OVERRIDES = ["budget.steps=[", "budget.steps={a: 1, a: 2}", "budget.steps.x=1", "name.x.y=1",
                 "grid.loss=[hinge, hinge]", "seeds=[-1]", "seeds=[4294967296]", "params.lr_g=.nan", "params.lr_g=.inf",
                 "budget.steps=true",
                 "name=", "a..b=1", "budget=[1, 2]", "params=&a [*a]", "grid.loss=[\"\\x00\"]", "search.n_trials=1e9",
                 "grid.lossy=[1, 2]", "params.betas=[0.5, 1.0]", "seeds=0x" + "f" * 3000, "budget.steps=" + "9" * 5000]


# --- mutations: each takes (rng, text, data, n) and returns (label, file bytes, extra CLI args) -------------
# (n counts the mutations of the kind so far: a kind with variants takes them in turn)


def key_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value: mapping keys and list indices, at any depth."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        out.append(prefix + (key,))
        out += key_paths(value, prefix + (key,))
    return out


def parent_of(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def label_of(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def delete_key(rng, text, data, n):
    path = rng.choice([p for p in key_paths(data) if isinstance(p[-1], str)])
    del parent_of(data, path)[path[-1]]
    return f"delete {label_of(path)}", dump(data), []


KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][\w-]*)\s*:")
FLOW_PAIR = re.compile(r"\{\s*([A-Za-z_][\w-]*)\s*:\s*([^,}]+)")


def duplicate_key(rng, text, data, n):
    lines = text.splitlines()
    flow = [i for i, line in enumerate(lines) if FLOW_PAIR.search(line) and not line.lstrip().startswith("#")]
    if flow and rng.random() < 0.4:  # inside a flow mapping: {steps: 300, steps: 300, eval_every: 150}
        i = rng.choice(flow)
        m = FLOW_PAIR.search(lines[i])
        lines[i] = lines[i][: m.end()] + f", {m.group(1)}: {m.group(2).strip()}" + lines[i][m.end():]
        return f"duplicate {m.group(1)} in a flow mapping on line {i + 1}", ("\n".join(lines) + "\n").encode(), []
    i = rng.choice([i for i, line in enumerate(lines) if KEY_LINE.match(line)])
    lines.insert(i + 1, lines[i])  # the same key again, right after (a block key: the first one is then null)
    return f"duplicate line {i + 1} ({lines[i].strip()[:30]})", ("\n".join(lines) + "\n").encode(), []


def retype(rng, text, data, n):
    path = rng.choice(key_paths(data))
    value = copy.deepcopy(rng.choice(RETYPES))
    parent_of(data, path)[path[-1]] = value
    return f"retype {label_of(path)} = {value!r:.40}", dump(data), []


def out_of_range(rng, text, data, n):
    def is_number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    numbers = [p for p in key_paths(data) if is_number(parent_of(data, p)[p[-1]])]
    path = rng.choice(numbers)
    value = rng.choice(OUT_OF_RANGE_SEEDS if "seed" in path or "seeds" in path else OUT_OF_RANGE)
    parent_of(data, path)[path[-1]] = value
    return f"out of range {label_of(path)} = {value!r}", dump(data), []


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    options = [word[:i] + word[i + 1:], word[:i] + word[i] + word[i:], word + "s", word.replace("_", "-"),
               word[:i] + chr(rng.randrange(97, 123)) + word[i + 1:]]
    if len(word) > 1:
        j = min(i, len(word) - 2)
        options.append(word[:j] + word[j + 1] + word[j] + word[j + 2:])
    candidates = [w for w in options if w and w not in KNOWN_KEYS]
    return rng.choice(candidates) if candidates else word + "_x"


def rename_key(rng, text, data, n):
    path = rng.choice([p for p in key_paths(data) if isinstance(p[-1], str)])
    parent = parent_of(data, path)
    new = typo(path[-1], rng)
    while new in parent or new in KNOWN_KEYS:
        new += "x"
    renamed = {(new if k == path[-1] else k): v for k, v in parent.items()}
    parent.clear()
    parent.update(renamed)
    return f"rename {label_of(path)} -> {new}", dump(data), []


def unknown_axes(rng, text, data, n):
    axes = list(data["grid"])
    n = rng.choice([1, 1, 2, 9])
    added = []
    for _ in range(n):
        name = typo(rng.choice(axes + ["loss", "model", "dataset"]), rng)
        while name in data["grid"] or name in KNOWN_KEYS:
            name += "x"
        data["grid"][name] = list(range(rng.choice([1, 2, 10])))
        added.append(name)
    return f"unknown grid axes {added}", dump(data), []


def repeat_value(rng, text, data, n):
    axis = rng.choice(list(data["grid"]))
    values = data["grid"][axis]
    values.insert(rng.randrange(len(values) + 1), copy.deepcopy(rng.choice(values)))
    return f"repeat a value of grid.{axis}", dump(data), []


def oversized(rng, text, data, n):
    how = ["cells", "trials", "search"][n % 3]
    if how == "cells":  # 200 x 100 = 20,000 cells of known axes
        data["grid"]["r2"] = [i / 1000 for i in range(200)]
        data["grid"]["gp_weight"] = [float(i) for i in range(100)]
        data.get("params", {}).pop("r2", None)
        data.get("params", {}).pop("gp_weight", None)
    elif how == "trials":
        data["seeds"] = list(range(40_000))  # every shipped suite has 3 cells or more
    else:
        data["search"] = {"n_trials": 10**9, "objective": {"metric": "reverse_kl"},
                          "space": {"r1": {"type": "float", "low": 0.0, "high": 1.0}}}
    return f"oversized: too many {how}", dump(data), []


def random_bytes(rng, text, data, n):
    how = ["random", "zeros", "random", "utf16", "random", "latin1", "empty"][n % 7]
    if how == "random":
        blob = rng.randbytes(rng.choice([1, 16, 256, 4096]))
    elif how == "zeros":
        blob = bytes(rng.choice([1, 100]))
    elif how == "utf16":
        blob = text.encode("utf-16")
    elif how == "latin1":
        blob = (text + "# caf\xe9\n").encode("latin-1")
    else:
        blob = b""
    return f"bytes: {how} ({len(blob)} bytes)", blob, []


def truncate(rng, text, data, n):
    cut = rng.randrange(len(text))
    return f"truncated at {cut} of {len(text)}", text[:cut].encode(), []


#: YAML that is not plain data, or that expands: each must be refused with one message
YAML_TRICKS = {
    "alias bomb": "name: x\na: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    "self-referencing alias": "params: &p {x: *p}\n",
    "deep nesting": "grid: {loss: " + "[" * 5000 + "]" * 5000 + "}\n",
    "python tag": "name: !!python/object/apply:os.system [echo hi]\n",
    "bad date": "name: 2001-13-45\n",
    "date value": "description: 2001-12-14\n",
    "set value": "seeds: !!set {1, 2}\n",
    "binary value": "name: !!binary aGVsbG8=\n",
    "NUL character": "name: a\x00b\n",
    "5000-digit number": "seeds: [" + "7" * 5000 + "]\n",
    "int key": "1: 2\n",
    "two documents": "name: a\n---\nname: b\n",
    "tab indent": "grid:\n\tloss: [hinge]\n",
}


def yaml_trick(rng, text, data, n):
    name = sorted(YAML_TRICKS)[n % len(YAML_TRICKS)]
    return f"YAML: {name}", YAML_TRICKS[name].encode(), []


def bad_override(rng, text, data, n):
    override = rng.choice(BAD_OVERRIDES)
    return f"--set {override[:40]}", text.encode(), ["--set", override]


#: kind -> (mutation, how many, whether it must always be refused)
KINDS: dict[str, tuple[Callable, int, bool]] = {
    "delete_key": (delete_key, 40, False),
    "duplicate_key": (duplicate_key, 30, True),
    "retype": (retype, 60, False),
    "out_of_range": (out_of_range, 40, False),
    "rename_key": (rename_key, 30, True),
    "unknown_grid_axes": (unknown_axes, 16, True),
    "repeat_grid_value": (repeat_value, 12, True),
    "oversized": (oversized, 9, True),
    "yaml_tricks": (yaml_trick, 13, True),
    "random_bytes": (random_bytes, 16, True),
    "truncated": (truncate, 30, False),
    "bad_override": (bad_override, 20, False),
}


def mutations() -> list[tuple[str, str, bytes, list[str], bool]]:
    """(kind, description, file content, extra args, must fail) for every mutation, from the fixed seed."""
    rng = random.Random(SEED)
    texts = {p.name: p.read_text() for p in SHIPPED}
    out = []
    for kind, (mutate, count, must_fail) in KINDS.items():
        for n in range(count):
            name = rng.choice(sorted(texts))
            label, blob, args = mutate(rng, texts[name], yaml.safe_load(texts[name]), n)
            out.append((kind, f"{name}: {label}", blob, args, must_fail))
    return out


def test_at_least_200_distinct_mutations_of_every_kind():
    made = mutations()
    assert len(made) >= 200
    assert set(Counter(kind for kind, *_ in made)) == set(KINDS)
    assert len({blob for _, _, blob, _, _ in made}) > 0.9 * len(made)  # mostly distinct inputs


def test_validate_never_crashes_on_malformed_suites(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything validate wrote relative to the working folder would show up here
    monkeypatch.setenv("COLUMNS", "10000")  # rich's console (made inside main) wraps nothing
    written, outcomes, failures = set(), Counter(), []
    start = time.perf_counter()
    for i, (kind, label, blob, args, must_fail) in enumerate(mutations()):
        path = tmp_path / f"{i:03d}-{kind}.yaml"
        path.write_bytes(blob)
        written.add(path.name)
        try:
            rc = main(["validate", str(path), *args])
        except BaseException as e:  # noqa: BLE001 - SystemExit included: nothing may escape main
            failures.append(f"{label}: {type(e).__name__} escaped main: {e}")
            continue
        out, err = capsys.readouterr()
        outcomes[kind, rc] += 1
        problem = None
        if rc not in (0, 2):
            problem = f"exit code {rc}"
        elif rc == 2 and sum(line.startswith("error:") for line in err.splitlines()) != 1:
            problem = "stderr is not exactly one 'error: ...' message"
        elif rc == 2 and not err.startswith(f"error: {path}: "):
            problem = "the message does not name the file"
        elif "Traceback" in err or "Traceback" in out:
            problem = "a traceback was printed"
        elif rc == 0 and (must_fail or "ok:" not in out):
            problem = "accepted" if must_fail else "exit code 0 without 'ok:'"
        if problem:
            failures.append(f"{label}: {problem}\n{err.strip()[:600]}")
    elapsed = time.perf_counter() - start
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:15])
    left = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
    assert left == written, f"validate wrote {sorted(left - written)}"
    assert elapsed < 60, f"{elapsed:.1f} s"
    print(f"{sum(outcomes.values())} mutations in {elapsed:.1f} s: {dict(sorted(outcomes.items()))}")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_suite_still_validates_in_process(path, capsys):
    assert main(["validate", str(path)]) == 0
    assert "ok:" in capsys.readouterr().out
