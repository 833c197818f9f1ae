"""Study 4, caption: the single-op -> multi-op flow with the tiny captioner, scored by CIDEr.

    nice -n 10 .venv/bin/python -m experiments.caption.run [--quick | --smoke] [--fresh]

One seed is one run of `python -m djsandbox +pipeline=internvl_coco vars.ranking_key=CIDEr
vars.seed=N` (baseline on all training captions; low/mid/high pools per image/text stat; the top
3 pools by CIDEr intersected, downsampled to equal size and retrained; the best of those trained
with the larger tiny model). This driver runs it per seed (in a subprocess: it is a Hydra app)
and summarises CIDEr over seeds.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from experiments.common import cli
from experiments.common.pipeline_runs import run_pipeline, shell_command
from experiments.common.publish import publish_study

from . import analysis

STUDY_DIR = Path(__file__).resolve().parent
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


def overrides(seed: int, profile: Profile) -> list[str]:
    return ["vars.ranking_key=CIDEr", f"vars.seed={seed}", *profile.overrides]


def main(argv: list[str] | None = None) -> Path:
    args = cli.parser(__doc__.split("\n")[0]).parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.caption.run", argv)
    profile = PROFILES[inv.profile]
    contexts, runs = [], []
    for seed in profile.seeds:
        run_dir = inv.runs_dir / f"seed_{seed}"
        run = run_pipeline("internvl_coco", overrides(seed, profile), run_dir)
        contexts.append(run.context)
        runs.append(
            {
                "seed": seed,
                "work_dir": str(run_dir),
                "reused": run.reused,
                "seconds": round(run.seconds, 1),
                "command": shell_command("internvl_coco", overrides(seed, profile)),
            }
        )
    measured = analysis.measure(contexts, list(profile.seeds))
    summary = analysis.summarise(measured)
    figure = analysis.pools_figure(summary, inv.out_dir / "pools.png")
    sections = analysis.markdown(summary, measured, figure)
    return publish_study(
        inv,
        "Study 4: caption pools (results)",
        sections,
        {"profile": asdict(profile), "runs": runs, "summary": summary, "measured": measured},
        runs=runs,
    )


if __name__ == "__main__":
    main()
