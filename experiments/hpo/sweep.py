"""Run study 6's Optuna sweep through the sandbox's Hydra app, and read the stored study.

The sweep is `python -m djsandbox -m +pipeline=hpo_text hpo=optuna ...` in a subprocess
(Hydra's multirun owns the process). Its folder holds optuna.db; re-running with the same
settings continues the study up to the asked number of trials instead of starting over.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from experiments.common.runs import input_digests

STUDY = "hpo_text"
CONF_DIR = Path(__file__).resolve().parent / "conf"
RECIPE = Path(__file__).resolve().parent / "threshold_recipe.yaml"
ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = "study_settings.json"
log = logging.getLogger("experiments")


def command(
    sweep_dir: Path, n_trials: int, sampler_seed: int, overrides: dict[str, Any]
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "djsandbox",
        "-m",
        "--config-dir",
        str(CONF_DIR),
        "+pipeline=hpo_text",
        "hpo=optuna",
        f"hydra.sweep.dir={sweep_dir}",
        f"hydra.sweeper.study_name={STUDY}",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.launcher.n_jobs=1",  # one trial at a time: the 2 cores are shared
        "hydra.sweeper.max_failure_rate=1.0",  # a trial that keeps no rows fails; go on
        f"hydra.sweeper.sampler.seed={sampler_seed}",
        f"vars.recipe={RECIPE}",
        *[f"{k}={v}" for k, v in overrides.items()],
    ]


def load_trials(sweep_dir: Path) -> list[dict[str, Any]]:
    """Every stored trial: number, state, value, parameters, rows kept, its run folder."""
    import optuna

    db = sweep_dir / "optuna.db"
    if not db.is_file():
        return []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{db}")
    out = []
    for t in study.trials:
        run_dir = t.user_attrs.get("run_dir")
        rows = None
        state_file = Path(run_dir) / "sandbox_state.json" if run_dir else None
        if state_file and state_file.is_file():
            ctx = json.loads(state_file.read_text())["context"]["iterations"][0]
            rows = ctx.get("search", {}).get("train", {}).get("train_metrics", {}).get("train_rows")
        out.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "params": dict(t.params),
                "rows_kept": rows,
                "run_dir": run_dir,
            }
        )
    return out


def run_sweep(
    sweep_dir: Path, n_trials: int, sampler_seed: int, overrides: dict[str, Any]
) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    """Run (or continue) the sweep until it holds `n_trials` finished trials.

    Returns the trials, the command, and {"reused", "seconds"}: whether nothing was left to
    run, and the sweep's measured wall time over all invocations (kept in the sweep folder)."""
    settings = json.dumps(
        {
            "overrides": overrides,
            "inputs": input_digests(overrides),
            "sampler_seed": sampler_seed,
            "pipeline": (CONF_DIR / "pipeline" / "hpo_text.yaml").read_text(),
            "recipe": RECIPE.read_text(),
        },
        sort_keys=True,
        default=str,
    )
    marker = sweep_dir / SETTINGS_FILE
    if sweep_dir.exists() and (not marker.is_file() or marker.read_text() != settings):
        log.warning("%s holds a sweep with other settings: starting over", sweep_dir)
        shutil.rmtree(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(settings)
    done = [t for t in load_trials(sweep_dir) if t["state"] in ("COMPLETE", "FAIL", "PRUNED")]
    cmd = command(sweep_dir, n_trials, sampler_seed, overrides)
    shown = " ".join(["python"] + cmd[1:])
    timing = sweep_dir / "study_seconds.txt"
    seconds = float(timing.read_text()) if timing.is_file() else 0.0
    remaining = n_trials - len(done)
    if remaining > 0:
        log.info("sweep: %d trial(s) to run (%d stored)", remaining, len(done))
        cmd = command(sweep_dir, remaining, sampler_seed, overrides)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        start = time.perf_counter()
        with open(sweep_dir / "sweep.log", "a", encoding="utf-8") as logf:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT)
        seconds += time.perf_counter() - start
        timing.write_text(f"{seconds:.1f}\n")
        if proc.returncode != 0:
            raise RuntimeError(
                f"the sweep failed (exit {proc.returncode}); see {sweep_dir / 'sweep.log'}"
            )
        log.info("sweep: done in %.0f s", seconds)
    else:
        log.info("sweep: reusing the %d stored trials", len(done))
    return load_trials(sweep_dir), shown, {"reused": remaining <= 0, "seconds": round(seconds, 1)}
