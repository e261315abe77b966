"""Command line: run / list / validate / report / compare / reproduce."""
from __future__ import annotations

import argparse
import faulthandler
import signal
import sys
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ganbench.errors import UserError
from ganbench.options import component_options
from ganbench.registry import METRICS, REGISTRIES, UnknownNameError, load_all
from ganbench.suite import SuiteError, load_suite

RESULTS_ROOT = Path("results")
EXTRA_FORMATS = ("latex", "jsonl")


def _add_suite_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("suite", help="suite YAML file, e.g. suites/quick.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a suite value, e.g. --set budget.steps=500 (repeatable)")
    _add_import_arg(p)


def _add_import_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import a plugin first: a module name, or a .py file relative to the current directory, "
                        "whose losses, models, datasets and variants register themselves (repeatable)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bench.py", description="Benchmark GAN variants, losses and D:G step ratios.")
    ap.add_argument("--debug", action="store_true", help="print the Python traceback of any error")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite on Ray and write its results and leaderboard")
    _add_suite_args(run)
    run.add_argument("--out", type=Path, help="results folder (default results/<suite name>)")
    run.add_argument("--address", help="join a Ray cluster ('auto' or HOST:PORT) instead of starting a local one")
    run.add_argument("--max-concurrent", type=int, metavar="N", help="at most N trials at once")
    run.add_argument("--storage", metavar="URL",
                     help="Optuna storage for searched suites: an RDB URL (postgresql://, mysql://, sqlite:///) "
                          "for clusters; default: a journal file optuna.journal in the results folder")
    run.add_argument("--fresh", action="store_true", help="move an earlier run in the folder aside and start over")
    run.add_argument("--timings", action="store_true",
                     help="print how long each fixed part took (Ray start, first dispatch, training, tables, plots) "
                          "on one line at the end; run.json keeps them under 'timings' either way")
    val = sub.add_parser("validate", help="check a suite and print the trials it plans (a row per cell, the first "
                                          f"{VALIDATE_ROWS}), running nothing")
    _add_suite_args(val)
    ls = sub.add_parser("list", help="list registered models, losses, datasets and metrics")
    ls.add_argument("kind", nargs="?", choices=sorted(REGISTRIES), help="one family (default: all)")
    _add_import_arg(ls)
    run.add_argument("--profile", action="store_true",
                     help="trace the first trial with torch.profiler: <out>/profile/<trial_id>.json.gz and .txt")
    run.add_argument("--format", dest="formats", action="append", choices=EXTRA_FORMATS, default=[],
                     help="also write the leaderboard as LaTeX (booktabs) or JSON lines (repeatable)")
    rep = sub.add_parser("report", help="rebuild a results folder's tables and plots from its stored trials")
    rep.add_argument("folder", type=Path)
    rep.add_argument("--format", dest="formats", action="append", choices=EXTRA_FORMATS, default=[],
                     help="also write the leaderboard as LaTeX (booktabs) or JSON lines (repeatable)")
    cmp = sub.add_parser("compare", help="per-cell differences between two results folders, or with --by the levels "
                                         "of one axis within a folder, with significance tests")
    cmp.add_argument("folder_a", type=Path)
    cmp.add_argument("folder_b", type=Path, nargs="?", help="the second folder (not with --by)")
    cmp.add_argument("--by", metavar="AXIS", help="one folder: contrast each pair of AXIS's levels, paired on the "
                                                  "other axes and the seed, and its main effect")
    cmp.add_argument("--include-throughput", action="store_true",
                     help="count throughput metrics (wall_s, queue_s, steps/s, memory) in the Holm correction")
    cmp.add_argument("--metric", dest="metrics", action="append", metavar="M",
                     help="compare this metric (repeatable; default: every metric with a direction)")
    cmp.add_argument("--alpha", type=_probability, default=0.05, help="significance level in (0, 1) (default 0.05)")
    cmp.add_argument("--out", type=Path, help="folder for compare-*.csv/.md (default: FOLDER_B, or FOLDER with --by)")
    rpr = sub.add_parser("reproduce", help="run a paper's protocol suite (or read its results folder) and compare "
                                           "it with the paper's table: reproduce.md/.csv/.html")
    rpr.add_argument("target", help="a protocol suite (suites/papers/*.yaml) or the results folder of one")
    rpr.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="override a suite value, e.g. --set budget.steps=5000 (repeatable; listed as deviations)")
    _add_import_arg(rpr)
    rpr.add_argument("--out", type=Path, help="results folder (default results/<suite name>)")
    rpr.add_argument("--address", help="join a Ray cluster ('auto' or HOST:PORT) instead of starting a local one")
    rpr.add_argument("--max-concurrent", type=int, metavar="N", help="at most N trials at once")
    rpr.add_argument("--alpha", type=_probability, default=0.05, help="significance level in (0, 1) (default 0.05)")
    return ap


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text}")
    return value


def cmd_compare(args: argparse.Namespace, console: Console) -> None:
    from ganbench.report.compare import compare_runs, render, write_comparison

    for name in args.metrics or []:
        METRICS.get(name)  # an unknown metric is an error that lists the valid ones
    if args.by is not None or args.folder_b is None:
        return cmd_compare_by(args, console)
    frame = compare_runs(args.folder_a, args.folder_b, args.metrics, alpha=args.alpha,
                         include_throughput=args.include_throughput)
    console.print(render(frame))
    paths = write_comparison(frame, args.out or args.folder_b, f"compare-{args.folder_a.name}-vs-{args.folder_b.name}")
    console.print(f"written: {', '.join(str(p) for p in paths)}")


def cmd_compare_by(args: argparse.Namespace, console: Console) -> None:
    from ganbench.report.contrasts import contrasts, render_contrasts, write_contrasts

    if args.by is None or args.folder_b is not None:
        raise UserError("compare: give two folders (A B), or one folder and --by AXIS")
    frame = contrasts(args.folder_a, args.by, args.metrics, include_throughput=args.include_throughput,
                      alpha=args.alpha)
    console.print(render_contrasts(frame))
    paths = write_contrasts(frame, args.out or args.folder_a)
    console.print(f"written: {', '.join(str(p) for p in paths)}", soft_wrap=True)


def cmd_reproduce(args: argparse.Namespace, out: Console, err: Console) -> int:
    """A results folder is read as it is; a suite is checked against its reference, run, then read.
    Returns the exit code: EXIT_TRIALS_FAILED when a trial of the run ended failed."""
    from ganbench.references import table_for_suite
    from ganbench.report.reproduce import render, reproduce_folder, write_reproduction
    from ganbench.suite import read_suite

    target = Path(args.target)
    if target.is_dir():
        if args.overrides:
            raise UserError(f"--set: {target} is a results folder; --set changes a suite before it runs")
        if not (target / "suite.yaml").is_file():
            raise SuiteError(f"{target}: not a results folder (no suite.yaml) and not a suite file")
        table_for_suite(read_suite(target / "suite.yaml").name)  # no reference: say so before reading trials
        folder, ran = target, False
    else:
        # the reference and the data first: a protocol this machine cannot run is named as such
        planned = read_suite(target, args.overrides)
        paper, table = table_for_suite(planned.name)
        check_runnable(planned, table, str(target))
        suite = load_suite(target, args.overrides)
        from ganbench.sweep.driver import run_suite

        folder = args.out or RESULTS_ROOT / suite.name
        run_suite(suite, folder, address=args.address, max_concurrent=args.max_concurrent, console=err,
                  source=str(target))
        ran = True
    rep = reproduce_folder(folder, alpha=args.alpha)
    paths = write_reproduction(rep)
    out.print(render(rep))
    out.print(f"written: {', '.join(str(p) for p in paths)}", soft_wrap=True)
    return report_failures(folder, err) if ran else 0


def report_failures(folder: Path, err: Console) -> int:
    """A run's closing lines: trials whose metrics could not all be computed, then, when some trials failed,
    their count and where their errors are: EXIT_TRIALS_FAILED then, else 0. Called once everything (tables,
    plots, run.json) is written."""
    from ganbench.sweep.driver import failure_lines, notes_lines

    for line in notes_lines(folder):
        err.print(Text(line, style="yellow"), highlight=False, soft_wrap=True)
    lines = failure_lines(folder)
    for i, line in enumerate(lines):  # the last one, the count, in red
        err.print(Text(line, style="red" if i == len(lines) - 1 else ""), highlight=False, soft_wrap=True)
    return EXIT_TRIALS_FAILED if lines else 0


def check_runnable(suite, table, source: str) -> None:
    """A protocol whose data this machine lacks (e.g. local MNIST files) is reported as not runnable here."""
    from ganbench.datasets.local import unavailable
    from ganbench.suite import suite_datasets

    for name in suite_datasets(suite):
        missing = unavailable(name)  # a file check, no parsing; the run's own checks load the data once
        if missing is not None:
            needs = f" It needs {table.requires}." if table.requires else ""
            raise UserError(f"{source}: not runnable here: {missing}{needs} Its reference "
                            f"({table.title}) stays unchecked on this machine.")


def cmd_list(kind: str | None, console: Console) -> None:
    """Each family's names and descriptions; an entry a plugin registered says so, with the plugin's module."""
    load_all()
    for name in [kind] if kind else sorted(REGISTRIES):
        registry = REGISTRIES[name]
        table = Table(title=name, show_header=False, title_justify="left", box=None)
        for item in registry.names():
            module = registry.origin(item)
            mark = Text(f"[plugin {module}] ", style="cyan") if module else Text("")
            options = component_options(item) if module and name in ("models", "losses") else None
            own = " Options: " + ", ".join(f"{item}.{key}={field.default}" for key, field in
                                            options.model_fields.items()) if options else ""
            table.add_row(Text(item, style="bold"), mark + Text(registry.describe(item) + own))
        console.print(table)


#: exit codes: bad input or environment; interrupted by Ctrl-C (128 + SIGINT) or by SIGTERM (128 + SIGTERM)
EXIT_USER, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143
#: exit code of a run (or reproduce) that wrote everything but in which some trial ended 'failed'
EXIT_TRIALS_FAILED = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: finished trials are already saved; the run stops and can resume."""


#: set when SIGTERM arrived: a library that catches the Terminated raised inside its own blocking call (Ray's
#: ray.wait) may re-raise it as a plain KeyboardInterrupt, and the exit code must still say SIGTERM (143)
_sigterm_received = False


def _on_sigterm(signum, frame) -> None:
    global _sigterm_received
    _sigterm_received = True
    raise Terminated()


def _handle_interrupts() -> tuple:
    """SIGINT raises KeyboardInterrupt and SIGTERM Terminated, whatever was inherited; returns the previous handlers.

    Python installs its Ctrl-C handler only when SIGINT is not ignored at start, and a non-interactive shell
    starts a background job (`bench.py run ... &`) with SIGINT ignored: without this, `kill -INT` did nothing.
    """
    return signal.signal(signal.SIGINT, signal.default_int_handler), signal.signal(signal.SIGTERM, _on_sigterm)


def main(argv: list[str] | None = None) -> int:
    if not faulthandler.is_enabled():  # a native crash (Ray, torch) prints every thread's Python stack
        faulthandler.enable()
    args = parser().parse_args(argv)
    out, err = Console(), Console(stderr=True)
    global _sigterm_received
    _sigterm_received = False
    previous = _handle_interrupts()
    try:
        code = run_command(args, out, err)
    except (UserError, UnknownNameError) as e:
        if args.debug:
            traceback.print_exc()
        # Text: a message's [..] is not markup; soft wrap: a long path is never split by a line break
        err.print(Text("error: ", style="red") + Text(str(e)), highlight=False, soft_wrap=True)
        return EXIT_USER
    except KeyboardInterrupt as e:
        terminated = isinstance(e, Terminated) or _sigterm_received
        why = "terminated (SIGTERM)" if terminated else "interrupted"
        hint = ": finished trials are saved; rerun the same command to resume" if args.command == "run" else ""
        err.print(why + hint, soft_wrap=True)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except Exception as e:  # a bug of ours: one line, the traceback on request
        if args.debug:
            raise
        err.print(Text(f"internal error: {type(e).__name__}: {e}", style="red"), highlight=False, soft_wrap=True)
        err.print("rerun with --debug for the traceback, and please report it")
        return 1
    finally:
        for signum, handler in zip((signal.SIGINT, signal.SIGTERM), previous):
            if handler is not None:  # None: a handler not installed from Python, which cannot be put back
                signal.signal(signum, handler)
    return code


def run_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run the command; its exit code (0, or EXIT_TRIALS_FAILED after a run with failed trials)."""
    if getattr(args, "imports", None):
        from ganbench.plugins import import_plugins

        import_plugins(args.imports)
    if args.command == "list":
        cmd_list(args.kind, out)
    elif args.command == "validate":
        cmd_validate(args, out)
    elif args.command == "compare":
        cmd_compare(args, out)
    elif args.command == "reproduce":
        if args.max_concurrent is not None and args.max_concurrent < 1:
            raise SuiteError(f"--max-concurrent: must be >= 1, got {args.max_concurrent}")
        return cmd_reproduce(args, out, err)
    elif args.command == "report":
        if not (args.folder / "suite.yaml").exists():
            raise SuiteError(f"{args.folder}: not a results folder (no suite.yaml)")
        from ganbench.report import write_report

        board = write_report(args.folder, tuple(args.formats))
        print_summary(board.parent, out)
        out.print(f"leaderboard: {board} (and .csv, .html; plots in {args.folder / 'plots'})")
    elif args.command == "run":
        if args.max_concurrent is not None and args.max_concurrent < 1:
            raise SuiteError(f"--max-concurrent: must be >= 1, got {args.max_concurrent}")
        suite = load_suite(args.suite, args.overrides)
        from ganbench.sweep.driver import run_suite

        # the summary prints as soon as the tables are written, while the plots still render
        board = run_suite(suite, args.out or RESULTS_ROOT / suite.name, address=args.address,
                          max_concurrent=args.max_concurrent, fresh=args.fresh, storage=args.storage,
                          formats=tuple(args.formats), profile=args.profile, console=err, source=args.suite,
                          on_tables=lambda board: print_summary(board.parent, out))
        out.print(f"tables in {board.parent}: leaderboard.md/.csv/.html, trials.parquet, curves.parquet; "
                  f"plots in {board.parent / 'plots'}")
        if args.timings:
            from ganbench.results import read_run_info
            from ganbench.sweep.timings import timings_line

            out.print(timings_line(read_run_info(board.parent)["timings"]), soft_wrap=True)
        return report_failures(board.parent, err)
    return 0


def print_summary(folder: Path, out: Console) -> None:
    """The compact leaderboard, fitted to the terminal; a pipe or a log file gets 120 columns, not rich's 80."""
    from ganbench.report.terminal import WIDTH, folder_summary

    if not out.is_terminal:
        out = Console(file=out.file, width=WIDTH)
    out.print(folder_summary(folder, out.width))


def cmd_validate(args: argparse.Namespace, out: Console) -> None:
    from ganbench.checks import check_suite

    suite = load_suite(args.suite, args.overrides)
    check_suite(suite, args.suite)
    cells = len(suite.cells())
    if suite.search is None:
        out.print(f"{args.suite}: ok: {cells} cells x {len(suite.seeds)} seeds = "
                  f"{len(suite.trial_configs())} trials of {suite.budget.steps} steps", markup=False, soft_wrap=True)
    else:
        n = suite.search.n_trials
        out.print(f"{args.suite}: ok: {cells} cells x ({n} search trials + {len(suite.seeds)} confirmation "
                  f"seeds) = {cells * (n + len(suite.seeds))} trials of at most {suite.budget.steps} steps; "
                  f"searching {', '.join(suite.search.space)} with {suite.search.sampler}/{suite.search.pruner}",
                  markup=False, soft_wrap=True)
    print_planned_trials(suite, out)


#: `validate` lists at most this many cells, then says how many more
VALIDATE_ROWS = 20


def print_planned_trials(suite, out: Console, limit: int = VALIDATE_ROWS) -> None:
    """The trials `validate` plans: a line saying what every cell runs (its seeds; for a search, its study's
    trials, then the best parameters on the seeds) and the axes that do not vary, then a row per cell."""
    cells, axes = suite.cells(), suite.axes()
    varying = [a for a in axes if len({repr(c[a]) for c in cells}) > 1] or axes[:1]
    fixed = " ".join(f"{a}={cells[0][a]}" for a in axes if a not in varying)
    seeds = ", ".join(map(str, suite.seeds))
    if suite.search is None:
        each = f"seeds {seeds}"
    else:
        each = f"{suite.search.n_trials} search trials (seed {suite.search.seed}), then the best on seeds {seeds}"
    out.print(f"planned: each cell x {each}" + (f"; every cell {fixed}" if fixed else ""), markup=False,
              soft_wrap=True)
    table = Table(box=None)
    for axis in ["#", *varying]:
        table.add_column(axis, overflow="fold")
    for i, cell in enumerate(cells[:limit]):
        table.add_row(str(i + 1), *(str(cell[a]) for a in varying))
    out.print(table)
    if len(cells) > limit:
        out.print(f"... and {len(cells) - limit} more cells ({len(cells)} in all)")


if __name__ == "__main__":
    sys.exit(main())
