"""Run a study config through the sandbox, in this process, and read back its context.

`run_config` does what `dj-sandbox --config FILE key=value ...` does (same loader, same
`run_sandbox`), minus a new Python process per run: importing Lightning costs seconds, and the
studies run dozens of configs. Every run keeps its full run folder (sandbox_state.json, report,
models) under the study's runs/ folder; the drivers only read results from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

STATE_FILE = "sandbox_state.json"
ASKED_FILE = "study_settings.json"  # what the study asked for: reuse a run only if unchanged
SECONDS_FILE = "study_seconds.txt"  # the run's measured wall time, reported when it is reused
log = logging.getLogger("experiments")


def one(value: Any) -> Any:
    """The item of a one-item result. A job's single result that is a one-item list is
    recorded as the item (the reference's rule); state files written before that keep the
    list, and reused runs read them."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def dotlist(overrides: Mapping[str, Any]) -> list[str]:
    """`key=value` strings OmegaConf parses back to the same values (lists included)."""

    def text(value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return "[" + ",".join(text(v) for v in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return [f"{key}={text(value)}" for key, value in overrides.items()]


def command_line(config: Path, overrides: Mapping[str, Any]) -> str:
    """The equivalent shell command, for the record."""
    return " ".join(
        ["dj-sandbox", "--config", str(config)]
        + [f"'{item}'" if "[" in item else item for item in dotlist(overrides)]
    )


def input_digests(overrides: Mapping[str, Any]) -> dict[str, str]:
    """sha256 of every override value that names an existing file: a run is reused only if
    the data it read is unchanged, not just its path."""
    out = {}
    for key, value in overrides.items():
        if isinstance(value, (str, Path)) and Path(value).is_file():
            out[key] = hashlib.sha256(Path(value).read_bytes()).hexdigest()
    return out


def study_file(work_dir: Path, name: str) -> Path:
    """A file the study keeps about a run, beside its folder: the sandbox refuses to run in a
    folder holding files that are not its own."""
    return work_dir.with_name(f"{work_dir.name}.{name}")


def finished(work_dir: Path) -> bool:
    """True when the run folder holds a completed run (every job done, summary written)."""
    state = work_dir / STATE_FILE
    if not state.is_file() or not (work_dir / "summary.json").is_file():
        return False
    jobs = json.loads(state.read_text()).get("jobs") or {}
    return bool(jobs) and all(j.get("status") == "done" for j in jobs.values())


def read_context(work_dir: Path, iteration: int = 0) -> dict[str, Any]:
    """{pipeline: {meta_name: results}} of one iteration of a run folder."""
    state = json.loads((work_dir / STATE_FILE).read_text())
    return state["context"]["iterations"][iteration]


def job_seconds(work_dir: Path) -> float:
    """Sum of the jobs' own durations (what the sandbox measured)."""
    jobs = json.loads((work_dir / STATE_FILE).read_text()).get("jobs") or {}
    return float(sum(j.get("elapsed") or 0.0 for j in jobs.values()))


@dataclass(frozen=True)
class Run:
    """A finished sandbox run: its context (iteration 0) and whether it was reused."""

    context: dict[str, Any]
    work_dir: Path
    reused: bool
    seconds: float


def run_config(config: Path, work_dir: Path, overrides: Mapping[str, Any]) -> Run:
    """Run `config` with `overrides` into `work_dir` (same as `dj-sandbox --config`).

    A finished run folder made with the same config file, overrides and input files is read
    instead of run again (so an interrupted study continues where it stopped); a half-finished one is resumed
    with `resume=true`, which skips the jobs it finished. A folder made with other settings is
    deleted and run again. The sandbox's printed summary goes to `<work_dir>.stdout.txt`.
    """
    from djsandbox.app import run_sandbox
    from djsandbox.cli import load_reference_config

    config, work_dir = Path(config).resolve(), Path(work_dir).resolve()
    asked = json.dumps(
        {
            "config": str(config),
            "config_text": config.read_text(),
            "overrides": dotlist(overrides),
            "inputs": input_digests(overrides),
        },
        sort_keys=True,
    )
    marker = study_file(work_dir, ASKED_FILE)
    if work_dir.exists() and (not marker.is_file() or marker.read_text() != asked):
        log.warning("%s was run with other settings: running it again", work_dir)
        shutil.rmtree(work_dir)
        study_file(work_dir, SECONDS_FILE).unlink(missing_ok=True)
    if finished(work_dir):
        log.info("reusing finished run %s", work_dir)
        timing = study_file(work_dir, SECONDS_FILE)
        seconds = float(timing.read_text()) if timing.is_file() else job_seconds(work_dir)
        return Run(read_context(work_dir), work_dir, True, seconds)
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(asked)
    full = {**overrides, "work_dir": str(work_dir), "resume": (work_dir / STATE_FILE).is_file()}
    cfg = load_reference_config(config, dotlist(full))
    start = time.perf_counter()
    with (
        open(study_file(work_dir, "stdout.txt"), "a", encoding="utf-8") as out,
        contextlib.redirect_stdout(out),
    ):
        run_sandbox(cfg, [Path.cwd(), config.parent], snapshot=cfg)
    seconds = time.perf_counter() - start
    study_file(work_dir, SECONDS_FILE).write_text(f"{seconds:.1f}\n")
    log.info("ran %s in %.1f s", work_dir.name, seconds)
    return Run(read_context(work_dir), work_dir, False, seconds)
