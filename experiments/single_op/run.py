"""Study 1, single_op: which offline text stat's pools change the classifier most?

    nice -n 10 .venv/bin/python -m experiments.single_op.run [--quick | --smoke] [--fresh]

For each training seed, one sandbox run of pipeline.yaml analyses the training set with
Data-Juicer, splits it into low/mid/high thirds per stat, trains one classifier per pool and
scores it on the fixed test set; one run of null_control.yaml does the same for three fixed
random partitions into thirds (the control). This driver then ranks the stats by the gap
between their best and worst pool (mean over seeds, bootstrap CI over seeds) next to the
random partitions' gaps. `measure` is reused by the transfer study with a larger model.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from experiments.common import cli
from experiments.common.data import majority_accuracy, pool_facts, study_data
from experiments.common.publish import publish_study
from experiments.common.runs import command_line, run_config

from . import analysis, plots

STUDY_DIR = Path(__file__).resolve().parent
CONFIG = STUDY_DIR / "pipeline.yaml"
NULL_CONFIG = STUDY_DIR / "null_control.yaml"
ALL_STATS = (
    "text_len",
    "alnum_ratio",
    "special_char_ratio",
    "char_rep_ratio",
    "word_rep_ratio",
    "num_words",
    "avg_line_length",
    "max_line_length",
)
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    """What one invocation measures."""

    seeds: tuple[int, ...]
    stats: tuple[str, ...] = ALL_STATS
    epochs: int = 3
    embed_dim: int = 64
    train_rows: int | None = None  # None: all 4,000 training rows
    test_rows: int | None = None  # None: all 1,000 test rows


PROFILES = {
    "full": Profile(seeds=(0, 1, 2, 3, 4)),
    # three stats: the multi_op study combines three operators
    "quick": Profile(
        seeds=(0, 1, 2), stats=("text_len", "alnum_ratio", "char_rep_ratio"), epochs=2
    ),
    "smoke": Profile(
        seeds=(0, 1),
        stats=("text_len", "alnum_ratio", "special_char_ratio"),
        epochs=1,
        train_rows=240,
        test_rows=200,
    ),
}


def measure(
    profile: Profile, runs_dir: Path, tag: str = "seed", null_control: bool = True
) -> dict[str, Any]:
    """Run the pipeline (and the control) once per seed; accuracy per pool and seed, pool facts.

    accuracy[name][pool][i] is seed profile.seeds[i]; name is a stat (pools 0 = low, 1 = mid,
    2 = high) or a random partition (analysis.NULL_PREFIX + k).
    """
    train, test = study_data(runs_dir, profile.train_rows, profile.test_rows)
    accuracy: dict[str, list[list[float]]] = {}
    macro_f1: dict[str, list[list[float]]] = {}
    facts: dict[str, list[dict[str, Any]]] = {}
    runs, reused = [], 0

    def record(name: str, metrics: list[dict[str, Any]]) -> None:
        acc = accuracy.setdefault(name, [[] for _ in metrics])
        f1 = macro_f1.setdefault(name, [[] for _ in metrics])
        for i, m in enumerate(metrics):
            acc[i].append(m["accuracy"])
            f1[i].append(m["macro_f1"])

    common = {
        "vars.train": train,
        "vars.test": test,
        "vars.epochs": profile.epochs,
        "vars.embed_dim": profile.embed_dim,
    }
    for seed in profile.seeds:
        jobs = [(CONFIG, f"{tag}_{seed}", {**common, "vars.stats": list(profile.stats)})]
        if null_control:
            jobs.append((NULL_CONFIG, f"null_{tag}_{seed}", common))
        for config, folder, overrides in jobs:
            overrides = {**overrides, "vars.seed": seed}
            run = run_config(config, runs_dir / folder, overrides)
            reused += run.reused
            runs.append(
                {
                    "seed": seed,
                    "work_dir": str(run.work_dir),
                    "seconds": round(run.seconds, 1),
                    "reused": run.reused,
                    "command": command_line(config, {**overrides, "work_dir": run.work_dir}),
                }
            )
            first = seed == profile.seeds[0]  # pools and partitions are the same for every seed
            if config == CONFIG:
                ctx = run.context["single_op"]
                for stat, metrics in ctx["test"]["res_1"].items():
                    record(stat, metrics)
                    if first:
                        facts[stat] = [pool_facts(p, stat) for p in ctx["pools"]["res_1"][stat]]
            else:
                ctx = run.context["null_control"]
                for k in (1, 2, 3):
                    name = f"{analysis.NULL_PREFIX}{k}"
                    record(name, ctx[f"test_{k}"]["res_1"]["ignore_stats"])
                    if first:
                        facts[name] = [
                            pool_facts(p) for p in ctx[f"partition_{k}"]["res_1"]["ignore_stats"]
                        ]
            log.info(
                "seed %s: %s done (%s)",
                seed,
                config.name,
                "reused" if run.reused else f"{run.seconds:.0f} s",
            )
    return {
        "profile": asdict(profile),
        "seeds": list(profile.seeds),
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "pool_facts": facts,
        "runs": runs,
        "reused_runs": reused,
        "train_path": str(train),
        "test_path": str(test),
        "majority_accuracy": majority_accuracy(test),
    }


def main(argv: list[str] | None = None) -> Path:
    args = cli.parser(__doc__.split("\n")[0]).parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.single_op.run", argv)
    profile = PROFILES[inv.profile]
    measured = measure(profile, inv.runs_dir)
    summary = analysis.summarise(measured)
    figures = [
        plots.pools_figure(summary, inv.out_dir / "pools.png"),
        plots.gaps_figure(summary, inv.out_dir / "gaps.png"),
    ]
    sections = analysis.markdown(summary, measured, figures)
    return publish_study(
        inv,
        "Study 1: single-operator pools (results)",
        sections,
        {"summary": summary, "measured": measured},
        runs=measured["runs"],
    )


if __name__ == "__main__":
    main()
