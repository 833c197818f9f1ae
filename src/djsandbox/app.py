"""One entry for both front ends: prepare the run folder, validate, run, summarise."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .context import STATE_FILE
from .errors import RunInterrupted, SandboxError
from .interrupts import terminate_as_interrupt
from .progress import displaying, quiet_terminal
from .redact import redact
from .reporting.summary import write_summary
from .run_folders import resume_folder
from .run_lock import RunLock
from .runner import Runner, RunOutcome
from .workers import workers_die_with_run
from .writable import ensure_work_dir

log = logging.getLogger("djsandbox")


def _resume_folder(cfg: dict[str, Any], search_siblings: bool) -> Path | None:
    return resume_folder(
        cfg.get("resume"), Path(cfg["work_dir"]), STATE_FILE, "an earlier run", search_siblings
    )


def continued_folder(cfg: dict[str, Any], search_siblings: bool) -> Path | None:
    """The earlier run folder this run continues; None when it runs in its own `work_dir`."""
    folder = _resume_folder(cfg, search_siblings)
    if folder is None or folder.resolve() == Path(cfg["work_dir"]).resolve():
        return None
    return folder


def load_plugins(modules: list[str]) -> None:
    """Import user modules that register their own hooks' component types."""
    import importlib

    for name in modules or []:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SandboxError(f"plugins: cannot import {name!r}: {exc}") from None


def prepare(cfg: dict[str, Any], base_dirs: list[Path], search_siblings: bool = False) -> Runner:
    """Settle the run folder (resume included) and validate everything; nothing runs yet."""
    from .reporting.trackers.catalog import make_tracker

    cfg = dict(cfg)
    load_plugins(cfg.get("plugins") or [])
    folder = _resume_folder(cfg, search_siblings)
    if folder is not None:
        cfg["work_dir"] = str(folder)
        cfg["resume"] = True
    return Runner(cfg, base_dirs, make_tracker(cfg))


def run_sandbox(
    cfg: dict[str, Any],
    base_dirs: list[Path],
    snapshot: dict[str, Any] | None = None,
    search_siblings: bool = False,
) -> RunOutcome:
    """Validate and run; writes the config snapshot, state and summary into the run folder.

    Library log lines stay off the terminal unless `verbose` (`progress.logs`)."""
    from .data.dj_runtime import prepare_offline_env

    prepare_offline_env()  # before anything imports datasets/data_juicer: they read it once
    with quiet_terminal(bool(cfg.get("verbose"))):
        say("checking the config, its inputs and recipes (loads Data-Juicer when a job uses it)")
        runner = prepare(cfg, base_dirs, search_siblings)
        ensure_work_dir(runner.work_dir)
        # Validation has passed; from here on this process alone writes into the run folder.
        # SIGTERM stops the run like Ctrl-C, so that the lock is released and the job recorded.
        with (
            terminate_as_interrupt(),
            RunLock(runner.work_dir),
            workers_die_with_run(runner.work_dir),
        ):
            try:
                return _run_locked(runner, snapshot)
            except KeyboardInterrupt as exc:
                job = exc.job if isinstance(exc, RunInterrupted) else None
                raise RunInterrupted(job, str(runner.work_dir), _finished_jobs(runner)) from None


def say(what: str) -> None:
    """What the sandbox is doing before the first job: one plain line on stderr."""
    print(f"djsandbox: {what} ...", file=sys.stderr, flush=True)


def _finished_jobs(runner: Runner) -> int:
    """Jobs whose results the run folder keeps (what a resume skips)."""
    try:
        jobs = json.loads((runner.work_dir / STATE_FILE).read_text()).get("jobs", {})
    except (OSError, ValueError, AttributeError):
        return 0
    return sum(1 for record in jobs.values() if record.get("status") == "done")


def _run_locked(runner: Runner, snapshot: dict[str, Any] | None) -> RunOutcome:
    atomic_write_text(
        runner.work_dir / "config_snapshot.json",
        json.dumps(redact(snapshot if snapshot is not None else runner.cfg), indent=1, default=str),
    )
    runner.tracker.run_started(runner.cfg, runner.work_dir)
    say(f"running {len(runner.plan.jobs())} job(s) in {runner.work_dir}")
    try:
        with displaying(len(runner.plan.jobs())):
            outcome = runner.run()
    except BaseException as exc:
        runner.tracker.run_finished(
            "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        )
        _report(runner.work_dir)
        raise
    table, summary = write_summary(outcome.state, outcome.work_dir)
    runner.tracker.run_finished("done", summary)
    # The result first: the report's figures (matplotlib: about 1 s to import) come after.
    print(f"\nRun folder: {outcome.work_dir}\n\n{table}", flush=True)
    print(f"Report: {_report(runner.work_dir)}", flush=True)
    return outcome


def _report(work_dir: Path) -> Path | None:
    """The run report (Markdown, figures, HTML); it logs and skips what it cannot draw."""
    from .reporting.run_report import write_run_report

    try:
        return write_run_report(work_dir)
    except Exception as exc:  # a report must never turn a finished run into a failure
        log.warning("could not write the run report: %s", exc)
        return None
