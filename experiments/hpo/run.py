"""Study 6, hpo: an Optuna sweep over recipe thresholds against k-sigma and the raw data.

    nice -n 10 .venv/bin/python -m experiments.hpo.run [--quick | --smoke] [--fresh]

The training set is split once into a search part and a dev part. The sweep
(conf/pipeline/hpo_text.yaml through the sandbox's `hpo=optuna` sweeper, one training seed)
filters the search part at each trial's thresholds, trains, and maximises dev accuracy; the
test set is never seen during the sweep. Then reeval.yaml trains raw / k-sigma / best-HPO
models on the search part with the sweep's seed and with held-out seeds, and scores them on
dev and test. The gap between the sweep's best value and the held-out scores is the selection
bias of picking the best of many noisy trials.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from experiments.common import cli
from experiments.common.data import majority_accuracy, split_jsonl, study_data
from experiments.common.publish import publish_study
from experiments.common.runs import command_line, run_config

from . import analysis, sweep

STUDY_DIR = Path(__file__).resolve().parent
REEVAL = STUDY_DIR / "reeval.yaml"
ARMS = ("raw", "k_sigma", "hpo_best")
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    trials: int
    heldout_seeds: tuple[int, ...]
    epochs: int = 3
    embed_dim: int = 64
    sweep_seed: int = 0  # the training seed of every sweep trial
    sampler_seed: int = 0  # Optuna's TPE sampler
    dev_share: float = 0.2
    train_rows: int | None = None
    test_rows: int | None = None


PROFILES = {
    "full": Profile(trials=20, heldout_seeds=(101, 102, 103, 104, 105)),
    "quick": Profile(trials=4, heldout_seeds=(101, 102), epochs=1, train_rows=2000),
    "smoke": Profile(trials=2, heldout_seeds=(101,), epochs=1, train_rows=240, test_rows=200),
}


def reevaluate(
    profile: Profile, best: dict[str, Any], data: dict[str, Path], runs_dir: Path
) -> dict[str, Any]:
    """raw / k-sigma / best thresholds, trained with the sweep's seed and the held-out seeds."""
    results: dict[str, Any] = {
        "seeds": [],
        "arms": {a: {"dev": [], "test": [], "rows": []} for a in ARMS},
        "runs": [],
        "reused": 0,
    }
    for seed in (profile.sweep_seed, *profile.heldout_seeds):
        overrides = {
            "vars.train": data["search"],
            "vars.dev": data["dev"],
            "vars.test": data["test"],
            "vars.epochs": profile.epochs,
            "vars.embed_dim": profile.embed_dim,
            "vars.seed": seed,
            **{k: v for k, v in best.items()},
        }
        run = run_config(REEVAL, runs_dir / f"reeval_seed_{seed}", overrides)
        results["reused"] += run.reused
        results["seeds"].append(seed)
        results["runs"].append(
            {
                "seed": seed,
                "work_dir": str(run.work_dir),
                "seconds": round(run.seconds, 1),
                "reused": run.reused,
                "command": command_line(REEVAL, {**overrides, "work_dir": run.work_dir}),
            }
        )
        for arm in ARMS:
            ctx = run.context[arm]
            results["arms"][arm]["dev"].append(ctx["dev"]["res_1"]["accuracy"])
            results["arms"][arm]["test"].append(ctx["test"]["res_1"]["accuracy"])
            results["arms"][arm]["rows"].append(ctx["train"]["train_metrics"]["train_rows"])
        log.info(
            "re-evaluation seed %s done (%s)",
            seed,
            "reused" if run.reused else f"{run.seconds:.0f} s",
        )
    return results


def main(argv: list[str] | None = None) -> Path:
    args = cli.parser(__doc__.split("\n")[0]).parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.hpo.run", argv)
    profile = PROFILES[inv.profile]
    train, test = study_data(inv.runs_dir, profile.train_rows, profile.test_rows)
    n_train = sum(1 for line in train.read_text().splitlines() if line.strip())
    search, dev = split_jsonl(
        train, inv.runs_dir / "data", round(n_train * (1 - profile.dev_share))
    )
    data = {"search": search, "dev": dev, "test": test}
    trials, sweep_cmd, sweep_time = sweep.run_sweep(
        inv.runs_dir / "sweep",
        profile.trials,
        profile.sampler_seed,
        {
            "vars.train": search,
            "vars.dev": dev,
            "vars.epochs": profile.epochs,
            "vars.embed_dim": profile.embed_dim,
            "vars.seed": profile.sweep_seed,
        },
    )
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    if not complete:
        raise SystemExit(f"no sweep trial completed; see {inv.runs_dir / 'sweep' / 'sweep.log'}")
    best_trial = max(complete, key=lambda t: (t["value"], -t["number"]))
    reeval = reevaluate(profile, best_trial["params"], data, inv.runs_dir)
    measured = {
        "profile": asdict(profile),
        "trials": trials,
        "best_trial": best_trial,
        "sweep_command": sweep_cmd,
        "sweep_time": sweep_time,
        "reeval": reeval,
        "majority_accuracy": {"dev": majority_accuracy(dev), "test": majority_accuracy(test)},
        "rows": {
            k: sum(1 for line in v.read_text().splitlines() if line.strip())
            for k, v in data.items()
        },
    }
    summary = analysis.summarise(measured)
    figures = [
        analysis.history_figure(measured, summary, inv.out_dir / "sweep.png"),
        analysis.arms_figure(summary, inv.out_dir / "arms.png"),
    ]
    return publish_study(
        inv,
        "Study 6: HPO over recipe thresholds vs k-sigma vs raw (results)",
        analysis.markdown(summary, measured, figures),
        {"summary": summary, "measured": measured},
        runs=[sweep_time, *reeval["runs"]],
    )


if __name__ == "__main__":
    main()
