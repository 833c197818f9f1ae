"""Study 3, transfer: does study 1's operator ranking hold with a larger model?

    nice -n 10 .venv/bin/python -m experiments.transfer.run [--quick | --smoke] [--fresh]

Run study 1 first (python -m experiments.single_op.run): its results.json is the small-scale
side (it is run here if missing). The large-scale side re-runs study 1's own pipeline
(experiments/single_op/pipeline.yaml, once per seed) with a larger classifier, on study 1's
distinct operators only (stats whose pools are row-for-row identical to an earlier stat's give
identical models and are dropped on both sides). Reported: both gap rankings and their
Spearman correlation, with a bootstrap interval that resamples the seeds of both sides.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from experiments.common import cli
from experiments.common.publish import publish_study
from experiments.common.upstream import single_op_results
from experiments.single_op import run as single_op

from . import analysis

STUDY_DIR = Path(__file__).resolve().parent
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Scale:
    """The larger model: its settings and the seeds it is trained with."""

    seeds: tuple[int, ...]
    embed_dim: int
    epochs: int


PROFILES = {
    "full": Scale(seeds=(0, 1, 2), embed_dim=256, epochs=6),
    "quick": Scale(seeds=(0, 1), embed_dim=128, epochs=3),
    "smoke": Scale(seeds=(0, 1), embed_dim=96, epochs=2),
}


def main(argv: list[str] | None = None) -> Path:
    p = cli.parser(__doc__.split("\n")[0])
    cli.add_single_op_option(p)
    args = p.parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.transfer.run", argv)
    scale = PROFILES[inv.profile]
    small, small_path = single_op_results(inv.profile, args.single_op)
    distinct = small["summary"]["distinct_ranking"]
    up = small["measured"]["profile"]
    large_profile = single_op.Profile(
        seeds=scale.seeds,
        stats=tuple(distinct),
        epochs=scale.epochs,
        embed_dim=scale.embed_dim,
        train_rows=up["train_rows"],
        test_rows=up["test_rows"],
    )
    large = single_op.measure(large_profile, inv.runs_dir, tag="large_seed", null_control=False)
    summary = analysis.summarise(small["measured"], large, distinct)
    figure = analysis.figure(summary, inv.out_dir / "transfer.png")
    sections = analysis.markdown(summary, small["measured"], large, small_path, figure)
    return publish_study(
        inv,
        "Study 3: operator ranking, small vs larger model (results)",
        sections,
        {
            "summary": summary,
            "large": large,
            "scale": asdict(scale),
            "single_op_results": str(small_path),
        },
        runs=large["runs"],
    )


if __name__ == "__main__":
    main()
