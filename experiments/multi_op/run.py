"""Study 2, multi_op: do intersections of the top-3 operators' best pools beat random rows?

    nice -n 10 .venv/bin/python -m experiments.multi_op.run [--quick | --smoke] [--fresh]

Starts from study 1's results (its top-3 distinct operators and each one's best pool; see
experiments.common.upstream). For each training seed, one sandbox run of pipeline.yaml
builds the pools, intersects the three picked pools (every non-empty subset), downsamples all
intersections to the smallest one's size, draws as many random training rows (the control),
trains one classifier per pool and scores each on the test set. Reported: mean accuracy with
a bootstrap CI over seeds, and the paired (same seed) difference to the random pool.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from experiments.common import cli
from experiments.common.data import majority_accuracy, pool_facts, study_data
from experiments.common.publish import publish_study
from experiments.common.runs import command_line, run_config
from experiments.common.upstream import single_op_results

from . import analysis

STUDY_DIR = Path(__file__).resolve().parent
CONFIG = STUDY_DIR / "pipeline.yaml"
POOL_NAMES = ("low", "mid", "high")
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    seeds: tuple[int, ...]
    epochs: int = 3
    embed_dim: int = 64


PROFILES = {
    "full": Profile(seeds=(0, 1, 2, 3, 4)),
    "quick": Profile(seeds=(0, 1, 2), epochs=2),
    "smoke": Profile(seeds=(0, 1), epochs=1),
}


def combo_members(path: str) -> tuple[int, ...]:
    """Ranks of the picked pools an intersection file holds: `..._top_0_2_num_N` -> (0, 2)."""
    match = re.search(r"_top_((?:\d+_)*\d+)_num_\d+", Path(path).stem)
    if not match:
        raise ValueError(f"not a data_pool_combination output name: {path}")
    return tuple(int(i) for i in match.group(1).split("_"))


def measure(
    profile: Profile, picks: list[dict[str, Any]], train: Path, test: Path, runs_dir: Path
) -> dict[str, Any]:
    """One run per seed; accuracy per intersection and of the random control, per seed."""
    names = [f"{p['stat']} {POOL_NAMES[p['best_pool']]}" for p in picks]
    combos: dict[str, dict[str, Any]] = {}
    random_acc: list[float] = []
    runs, reused = [], 0
    for seed in profile.seeds:
        overrides = {
            "vars.train": train,
            "vars.test": test,
            "vars.stats": [p["stat"] for p in picks],
            "vars.picks": [p["best_pool"] for p in picks],
            "vars.epochs": profile.epochs,
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
        ctx = run.context["multi_op"]
        for src, down, metrics in zip(
            ctx["combine"]["res_1"], ctx["downsample"]["res_1"], ctx["test"]["res_1"]
        ):
            members = combo_members(src)
            label = " ∩ ".join(names[i] for i in members)
            entry = combos.setdefault(label, {"members": list(members), "accuracy": []})
            entry["accuracy"].append(metrics["accuracy"])
            if seed == profile.seeds[0]:
                entry["intersection_rows"] = pool_facts(src)["rows"]
                entry["downsampled"] = pool_facts(down)
        random_acc.append(ctx["test_random"]["res_1"]["accuracy"])
        if seed == profile.seeds[0]:
            random_facts = pool_facts(ctx["random"]["res_1"][0])
        log.info("seed %s done (%s)", seed, "reused" if run.reused else f"{run.seconds:.0f} s")
    return {
        "profile": asdict(profile),
        "seeds": list(profile.seeds),
        "picks": picks,
        "combos": combos,
        "random": {"accuracy": random_acc, "facts": random_facts},
        "runs": runs,
        "reused_runs": reused,
        "majority_accuracy": majority_accuracy(test),
    }


def main(argv: list[str] | None = None) -> Path:
    p = cli.parser(__doc__.split("\n")[0])
    cli.add_single_op_option(p)
    args = p.parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.multi_op.run", argv)
    profile = PROFILES[inv.profile]
    upstream, upstream_path = single_op_results(inv.profile, args.single_op)
    picks = upstream["summary"]["top_operators"]
    if len(picks) < 3:
        raise SystemExit(
            f"{upstream_path}: study 1 found only {len(picks)} distinct operators; multi_op needs 3"
        )
    up = upstream["measured"]["profile"]
    train, test = study_data(inv.runs_dir, up["train_rows"], up["test_rows"])
    measured = measure(profile, picks, train, test, inv.runs_dir)
    measured["single_op_results"] = str(upstream_path)
    summary = analysis.summarise(measured)
    figure = analysis.figure(summary, inv.out_dir / "combos.png")
    return publish_study(
        inv,
        "Study 2: multi-operator pools vs random pools (results)",
        analysis.markdown(summary, measured, figure),
        {"summary": summary, "measured": measured},
        runs=measured["runs"],
    )


if __name__ == "__main__":
    main()
