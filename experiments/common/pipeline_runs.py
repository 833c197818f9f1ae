"""Run one of the package's Hydra pipelines (`python -m djsandbox +pipeline=NAME ...`) for a
study, in a subprocess (it is a Hydra app), and read back its context.

The command is exactly what a user types. A finished run folder made with the same arguments
is read instead of run again, and a half-finished one resumes (`resume=true`: finished jobs
are skipped), so an interrupted study continues where it stopped. Jobs shared between runs
(the same data, config and seed) are restored from the job cache instead of recomputed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from .publish import ROOT
from .runs import SECONDS_FILE, STATE_FILE, Run, dotlist, finished, read_context, study_file

ASKED_FILE = "study_settings.json"
log = logging.getLogger("experiments")


def pipeline_args(pipeline: str, overrides: Mapping[str, Any] | list[str]) -> list[str]:
    """The arguments after `python -m djsandbox` (the run folder excluded)."""
    items = dotlist(overrides) if isinstance(overrides, Mapping) else list(overrides)
    return [f"+pipeline={pipeline}", *items]


def shell_command(pipeline: str, overrides: Mapping[str, Any] | list[str]) -> str:
    """The command a user would type, for the record."""
    args = pipeline_args(pipeline, overrides)
    return "python -m djsandbox " + " ".join(f"'{a}'" if "[" in a else a for a in args)


def run_pipeline(pipeline: str, overrides: Mapping[str, Any] | list[str], work_dir: Path) -> Run:
    """Run `+pipeline=<pipeline>` with `overrides` into `work_dir` (or reuse / resume it)."""
    work_dir = Path(work_dir).resolve()
    args = pipeline_args(pipeline, overrides)
    marker, timing = study_file(work_dir, ASKED_FILE), study_file(work_dir, SECONDS_FILE)
    asked = json.dumps(args)
    if marker.is_file() and marker.read_text() != asked and work_dir.exists():
        raise SystemExit(f"{work_dir} was made by another command; rerun with --fresh")
    if finished(work_dir) and marker.is_file():
        log.info("reusing finished run %s", work_dir)
        seconds = float(timing.read_text()) if timing.is_file() else 0.0
        return Run(read_context(work_dir), work_dir, True, seconds)
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(asked)
    resume = "true" if (work_dir / STATE_FILE).is_file() else "false"
    command = [sys.executable, "-m", "djsandbox", *args, f"work_dir={work_dir}", f"resume={resume}"]
    log.info("running %s", " ".join(command[2:]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    stdout = study_file(work_dir, "stdout.txt")
    start = time.perf_counter()
    with open(stdout, "a", encoding="utf-8") as out:
        proc = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"the sandbox run failed (exit {proc.returncode}); see {stdout}")
    seconds = time.perf_counter() - start
    timing.write_text(f"{seconds:.1f}\n")
    log.info("ran %s in %.1f s", work_dir.name, seconds)
    return Run(read_context(work_dir), work_dir, False, seconds)
