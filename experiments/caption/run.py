"""Study 4, caption: the single-op -> multi-op flow with the tiny captioner, scored by CIDEr.

    nice -n 10 .venv/bin/python -m experiments.caption.run [--quick | --smoke] [--fresh]

One seed is one run of `python -m djsandbox +pipeline=internvl_coco vars.ranking_key=CIDEr
vars.seed=N` (baseline on all training captions; low/mid/high pools per image/text stat; the top
3 pools by CIDEr intersected, downsampled to equal size and retrained; the best of those trained
with the larger tiny model). This driver runs it per seed (in a subprocess: it is a Hydra app)
and summarises CIDEr over seeds.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from experiments.common import cli
from experiments.common.publish import ROOT, Stopwatch, write_results
from experiments.common.runs import finished, job_seconds, read_context, study_file

from . import analysis

STUDY_DIR = Path(__file__).resolve().parent
ASKED_FILE = "study_settings.json"
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    seeds: tuple[int, ...]
    overrides: tuple[str, ...] = ()


PROFILES = {
    "full": Profile(seeds=(0, 1, 2)),
    "quick": Profile(
        seeds=(0,),
        overrides=(
            "dataset.max_train_images=300",
            "dataset.max_test_images=60",
            "vars.epochs=6",
            "vars.stats=[text_len,num_words,aspect_ratios]",
            "vars.min_pool_rows=30",
        ),
    ),
    "smoke": Profile(
        seeds=(0,),
        overrides=(
            "trainer=debug",
            "dataset.max_train_images=45",
            "dataset.max_test_images=8",
            "vars.stats=[text_len,image_sizes]",
            "vars.top_n=2",
            "vars.min_pool_rows=1",
            "vars.max_new_tokens=4",
        ),
    ),
}


def command(seed: int, profile: Profile, run_dir: Path) -> list[str]:
    return [
        "-m",
        "djsandbox",
        "+pipeline=internvl_coco",
        "vars.ranking_key=CIDEr",
        f"vars.seed={seed}",
        *profile.overrides,
        f"hydra.run.dir={run_dir}",
    ]


def run_seed(seed: int, profile: Profile, run_dir: Path) -> tuple[dict[str, Any], bool, float]:
    """(the run's context (iteration 0), whether a finished run made with the same command was
    reused, seconds)."""
    args = command(seed, profile, run_dir)
    marker = study_file(run_dir, ASKED_FILE)
    if finished(run_dir) and marker.is_file() and json.loads(marker.read_text()) == args:
        log.info("seed %s: reusing %s", seed, run_dir)
        return read_context(run_dir), True, job_seconds(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    if marker.is_file() and json.loads(marker.read_text()) != args:
        raise SystemExit(f"{run_dir} was made by another command; rerun with --fresh")
    marker.write_text(json.dumps(args))
    if (run_dir / "sandbox_state.json").is_file():
        args = [*args, f"resume={run_dir}"]  # an interrupted run continues where it stopped
    log.info("seed %s: python %s", seed, " ".join(args))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    stdout = study_file(run_dir, "stdout.txt")
    with open(stdout, "a", encoding="utf-8") as out:
        proc = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if proc.returncode != 0:
        raise SystemExit(f"seed {seed}: the sandbox run failed; see {stdout}")
    return read_context(run_dir), False, time.perf_counter() - start


def main(argv: list[str] | None = None) -> Path:
    args = cli.parser(__doc__.split("\n")[0]).parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.caption.run", argv)
    profile = PROFILES[inv.profile]
    watch = Stopwatch()
    contexts, runs = [], []
    for seed in profile.seeds:
        run_dir = inv.runs_dir / f"seed_{seed}"
        context, reused, seconds = run_seed(seed, profile, run_dir)
        contexts.append(context)
        runs.append(
            {
                "seed": seed,
                "work_dir": str(run_dir),
                "reused": reused,
                "seconds": round(seconds, 1),
                "command": "python " + " ".join(command(seed, profile, run_dir)),
            }
        )
    measured = analysis.measure(contexts, list(profile.seeds))
    summary = analysis.summarise(measured)
    figure = analysis.pools_figure(summary, inv.out_dir / "pools.png")
    sections = analysis.markdown(summary, measured, figure)
    md = write_results(
        inv.out_dir,
        "Study 4: caption pools (results)",
        inv.command,
        inv.profile,
        watch,
        sections,
        {"profile": asdict(profile), "runs": runs, "summary": summary, "measured": measured},
        runs=runs,
    )
    log.info("wrote %s", md)
    return md


if __name__ == "__main__":
    main()
