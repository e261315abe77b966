"""One results folder, one run: checked before anything is created, locked for the whole run, and
never left half-made (a run that fails before recording a trial removes the folder it created).

The lock is an exclusive ``flock`` on ``<folder>/.lock``, which names its holder (PID, host, start):
a second run into the same folder exits naming it. The kernel drops the lock when the holder dies,
even by SIGKILL, so a crashed run never blocks its own resume. (On a network filesystem without
working flock, give each run its own --out.)
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ganbench.errors import UserError
from ganbench.plugins import loaded as loaded_plugins
from ganbench.results import ResultsError, read_run_info, read_table
from ganbench.suite import Suite, SuiteError, read_suite

LOCK_NAME = ".lock"


def check_out_path(out: Path) -> None:
    """The folder can be made and written: not a file, and its nearest existing ancestor writable."""
    existing = next(p for p in [out, *out.parents] if p.exists())
    if not existing.is_dir():
        raise UserError(f"--out {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot write in {existing} (permission denied)")


def recorded_suite_hashes(out: Path) -> dict[str, str]:
    """Where the folder says which suite it holds: run.json, the trials' rows, suite.yaml."""
    found: dict[str, str] = {}
    info = read_run_info(out)
    if info and info.get("suite_hash"):
        found["run.json"] = info["suite_hash"]
    if (out / "trials.parquet").exists():
        rows = read_table(out / "trials.parquet")
        for value in rows["suite_hash"].dropna().unique() if "suite_hash" in rows else ():
            found.setdefault("trials.parquet", str(value))
            if str(value) != found["trials.parquet"]:
                raise ResultsError(f"{out / 'trials.parquet'}: holds the rows of several suites; give a new --out")
    if (out / "suite.yaml").exists():
        try:
            found["suite.yaml"] = read_suite(out / "suite.yaml").suite_hash()
        except SuiteError as err:
            raise ResultsError(f"{out / 'suite.yaml'}: cannot be read as a suite ({err})") from None
    return found


def check_same_suite(suite: Suite, out: Path) -> None:
    """Refuse to mix two suites in one folder, whichever of its files says so."""
    for where, value in recorded_suite_hashes(out).items():
        if value != suite.suite_hash():
            raise ResultsError(
                f"{out}: holds a run of a different suite ({where}: hash {value}, this one {suite.suite_hash()}); "
                f"{start_over_hint(out)}")
    check_same_plugins(out)


def check_same_plugins(out: Path) -> None:
    """Refuse to resume a folder whose trials ran another version of a plugin imported now (an edited file):
    the new trials get new ids, and the old rows would stand beside them in the folder's tables."""
    if not loaded_plugins():
        return
    recorded = {p.get("module"): p.get("version") for p in (read_run_info(out) or {}).get("plugins") or []
                if isinstance(p, dict)}
    for plugin in loaded_plugins():
        before = recorded.get(plugin.module)
        if before is not None and before != plugin.version:
            raise ResultsError(
                f"{out}: its trials ran plugin {plugin.module} {before}, not {plugin.version} as {plugin.source} is "
                f"now; {start_over_hint(out)}")


def start_over_hint(out: Path) -> str:
    """How to run anyway: a new folder, named; `--fresh` only for a folder no git repository tracks (moving a
    published results folder aside inside the repository would delete it from the user's checkout)."""
    new = f"rerun with --out {new_folder(out)} for a new folder"
    if is_tracked(out):
        return f"{new} ({out} is published in this repository: --fresh would move it aside)"
    return f"{new}, or --fresh to move the old run aside"


def new_folder(out: Path) -> Path:
    """``<out>-2`` (or the first of -3, -4, ... that does not exist yet)."""
    n = 2
    while out.with_name(f"{out.name}-{n}").exists():
        n += 1
    return out.with_name(f"{out.name}-{n}")


def is_tracked(folder: Path) -> bool:
    """Whether git tracks files in ``folder`` (a published results folder); False without git or a repository."""
    try:
        listed = subprocess.run(["git", "-C", str(folder), "ls-files", "--", "."], capture_output=True, text=True,
                                timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return listed.returncode == 0 and bool(listed.stdout.strip())


class FolderLock:
    """An exclusive lock on the folder for as long as this run holds it."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 300).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(f"{self.path.parent}: in use by another run ({holder}); wait for it to finish, "
                            f"or give this run its own --out") from None
        os.ftruncate(fd, 0)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.pwrite(fd, f"PID {os.getpid()} on {socket.gethostname()} since {started}".encode(), 0)
        self.fd = fd

    def check_free(self) -> None:
        """Raise as ``acquire`` would when another run holds the folder; take nothing (a quick early check)."""
        if self.path.exists():
            self.acquire()
            self.release()

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


@contextlib.contextmanager
def run_folder(out: Path, suite: Suite, fresh: bool) -> Iterator[Path]:
    """The results folder, made if need be and locked for the run; ``fresh`` moves an earlier run aside.

    A folder this run made is removed again if the run ends (error or interrupt) before a trial
    was recorded, so no half-made folder (run.json without trials) is left behind.
    """
    check_out_path(out)
    if fresh and out.exists() and any(out.iterdir()):
        _move_aside(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(out)
    try:
        lock.acquire()
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    try:
        if not created:
            check_same_suite(suite, out)
        yield out
    except BaseException:
        if created and not (out / "trials.parquet").exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        lock.release()


def _move_aside(out: Path) -> Path:
    """Move an earlier run to <folder>.old-<time> (never deleted), once no run holds it."""
    lock = FolderLock(out)
    lock.acquire()
    try:
        aside = out.with_name(f"{out.name}.old-{datetime.now():%Y%m%d-%H%M%S}")
        shutil.move(str(out), str(aside))
    finally:
        lock.release()
    return aside
