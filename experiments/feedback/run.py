"""Study 8, feedback: does refining the recipe from model feedback beat k-sigma and raw data?

    nice -n 10 .venv/bin/python -m experiments.feedback.run [--quick | --smoke] [--fresh]

One run of the shipped pipeline `python -m djsandbox +pipeline=feedback_refine` (the command a
user types): the training set is split once into search rows and dev rows; single-op pools of
the search rows (and random thirds, the noise control) each train a classifier with the
selection seed, scored on dev; RefineRecipeViaModelFeedbackHook (`noise_aware`) refines the
recipe from those dev scores; raw / k-sigma / feedback arms are then trained with held-out
seeds and scored on the test set, never seen during selection. The other two strategies'
decisions are recomputed from the same evidence (no training), to show what they would cut.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from experiments.common import cli
from experiments.common.data import head_jsonl, majority_accuracy
from experiments.common.pipeline_runs import run_pipeline, shell_command
from experiments.common.publish import ROOT, publish_study

from . import analysis

STUDY_DIR = Path(__file__).resolve().parent
RESOURCES = ROOT / "src" / "djsandbox" / "resources"
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    heldout_seeds: tuple[int, ...]
    epochs: int = 2
    selection_seed: int = 0  # trains every pool model; never one of the held-out seeds
    stats: tuple[str, ...] = ("text_len", "num_words", "special_char_ratio", "alnum_ratio")
    train_rows: int | None = None


PROFILES = {
    "full": Profile(heldout_seeds=(101, 102, 103, 104, 105)),
    "quick": Profile(heldout_seeds=(101, 102), epochs=1, train_rows=2000),
    "smoke": Profile(heldout_seeds=(101,), epochs=1, stats=("text_len",), train_rows=600),
}


def main(argv: list[str] | None = None) -> Path:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.feedback.run", argv)
    profile = PROFILES[inv.profile]
    train = head_jsonl(
        RESOURCES / "fine_foods" / "train.jsonl", inv.runs_dir / "train.jsonl", profile.train_rows
    )
    test = RESOURCES / "fine_foods" / "test.jsonl"
    overrides = {
        "vars.train": str(train),
        "vars.seeds": list(profile.heldout_seeds),
        "vars.seed": profile.selection_seed,
        "vars.epochs": profile.epochs,
        "vars.stats": list(profile.stats),
        "vars.strategy": "noise_aware",
    }
    run = run_pipeline("feedback_refine", overrides, inv.runs_dir / "run")
    context, seconds, reused = run.context, run.seconds, run.reused
    data = analysis.collect(context, RESOURCES / "recipes" / "fine_foods_text.yaml")
    data["profile"] = {
        **{k: list(v) if isinstance(v, tuple) else v for k, v in profile.__dict__.items()},
        "majority_test_accuracy": majority_accuracy(test),
        "pipeline_command": shell_command("feedback_refine", overrides),
    }
    return publish_study(
        inv,
        "Study 8: model feedback vs k-sigma vs raw (results)",
        analysis.sections(data),
        data,
        runs=[{"reused": reused, "seconds": seconds}],
    )


if __name__ == "__main__":
    print(main())
