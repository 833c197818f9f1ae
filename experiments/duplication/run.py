"""Study 5, duplication: repeat the best pool 1x/2x/4x, or use fresh rows of the same size?

    nice -n 10 .venv/bin/python -m experiments.duplication.run [--quick | --smoke] [--fresh]

Starts from study 1's best single pool (experiments.common.upstream). For each training seed,
one sandbox run of pipeline.yaml takes `base_rows` rows of that pool, duplicates them 1x, 2x
and 4x (data_pool_duplication), draws 1x, 2x and 4x as many random rows of the whole training
set (data_pool_downsampling), trains one classifier on each, plus the 1x base for 4x the
epochs, and scores all on the test set.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from experiments.common import cli
from experiments.common.data import majority_accuracy, pool_facts, study_data
from experiments.common.publish import publish_study
from experiments.common.runs import command_line, one, run_config
from experiments.common.upstream import single_op_results

from . import analysis

STUDY_DIR = Path(__file__).resolve().parent
CONFIG = STUDY_DIR / "pipeline.yaml"
TIMES = (1, 2, 4)
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    seeds: tuple[int, ...]
    base_rows: int
    epochs: int = 3
    embed_dim: int = 64


PROFILES = {
    "full": Profile(seeds=(0, 1, 2, 3, 4), base_rows=1000),
    "quick": Profile(seeds=(0, 1, 2), base_rows=500, epochs=2),
    "smoke": Profile(seeds=(0, 1), base_rows=40, epochs=1),
}


def measure(
    profile: Profile, best: dict[str, Any], train: Path, test: Path, runs_dir: Path
) -> dict[str, Any]:
    """One run per seed: accuracy of every arm per seed, and the rows each arm trained on."""
    arms: dict[str, dict[str, Any]] = {}

    def record(name: str, metrics: dict[str, Any], path: str, times: int, seed: int) -> None:
        arm = arms.setdefault(name, {"times": times, "accuracy": []})
        arm["accuracy"].append(metrics["accuracy"])
        if seed == profile.seeds[0]:
            arm["facts"] = pool_facts(path)

    runs, reused = [], 0
    for seed in profile.seeds:
        overrides = {
            "vars.train": train,
            "vars.test": test,
            "vars.stat": best["stat"],
            "vars.pool": best["pool"],
            "vars.base_rows": profile.base_rows,
            "vars.fresh_rows": [profile.base_rows * t for t in TIMES],
            "vars.epochs": profile.epochs,
            "vars.long_epochs": 4 * profile.epochs,
            "vars.embed_dim": profile.embed_dim,
            "vars.seed": seed,
        }
        run = run_config(CONFIG, runs_dir / f"seed_{seed}", overrides)
        reused += run.reused
        runs.append(
            {
                "seed": seed,
                "work_dir": str(run.work_dir),
                "seconds": round(run.seconds, 1),
                "reused": run.reused,
                "command": command_line(CONFIG, {**overrides, "work_dir": run.work_dir}),
            }
        )
        ctx = run.context["duplication"]  # pools are lists of paths, so results are lists
        for t, path, m in zip(TIMES, ctx["duplicate"]["res_1"], ctx["test_duplicated"]["res_1"]):
            record(f"best pool x{t}", m, path, t, seed)
        for t in TIMES:
            record(
                f"fresh rows x{t}",
                one(ctx[f"test_fresh_{t}"]["res_1"]),
                one(ctx[f"fresh_{t}"]["res_1"]),
                t,
                seed,
            )
        record(
            f"best pool x1, {4 * profile.epochs} epochs",
            one(ctx["test_long"]["res_1"]),
            one(ctx["base"]["res_1"]),
            1,
            seed,
        )
        log.info("seed %s done (%s)", seed, "reused" if run.reused else f"{run.seconds:.0f} s")
    return {
        "profile": asdict(profile),
        "seeds": list(profile.seeds),
        "best_pool": best,
        "arms": arms,
        "runs": runs,
        "reused_runs": reused,
        "majority_accuracy": majority_accuracy(test),
    }


def main(argv: list[str] | None = None) -> Path:
    p = cli.parser(__doc__.split("\n")[0])
    cli.add_single_op_option(p)
    args = p.parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.duplication.run", argv)
    profile = PROFILES[inv.profile]
    upstream, upstream_path = single_op_results(inv.profile, args.single_op)
    up = upstream["measured"]["profile"]
    train, test = study_data(inv.runs_dir, up["train_rows"], up["test_rows"])
    measured = measure(profile, upstream["summary"]["best_pool"], train, test, inv.runs_dir)
    measured["single_op_results"] = str(upstream_path)
    summary = analysis.summarise(measured)
    figure = analysis.figure(summary, inv.out_dir / "duplication.png")
    return publish_study(
        inv,
        "Study 5: duplicated best pool vs fresh rows (results)",
        analysis.markdown(summary, measured, figure),
        {"summary": summary, "measured": measured},
        runs=measured["runs"],
    )


if __name__ == "__main__":
    main()
