"""Study 10, t2v_transfer: does the tiny EasyAnimate's single-op pool ranking hold for a larger one?

    nice -n 10 .venv/bin/python -m experiments.t2v_transfer.run [--quick | --smoke] [--fresh]

For each model (`easyanimate_tiny`, and `easyanimate_tiny_large`: 2x the transformer's heads
and layers, the same VAE) and each seed, one run of the shipped pipeline
`python -m djsandbox +pipeline=easyanimate_pools model=M vars.seed=S`: low/mid/high pools of
the clipart clips per Data-Juicer stat (motion score, caption length) and random thirds, one
LoRA per pool, scored on the dev prompts (FVD, KVD, motion accuracy). Reported: each model's
pool ranking (mean over seeds), the Spearman between the two rankings with an interval that
resamples each model's seeds, the seed-to-seed Spearman within a model (how reproducible a
ranking is at all) and where the random thirds land. The larger base is pretrained once (its
VAE is the small base's, cached); that one-time cost is reported separately.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from experiments.common import cli
from experiments.common.pipeline_runs import run_pipeline, shell_command
from experiments.common.publish import publish_study

from . import analysis, report

STUDY_DIR = Path(__file__).resolve().parent
PIPELINE = "easyanimate_pools"
MODELS = {"small": "easyanimate_tiny", "large": "easyanimate_tiny_large"}
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    seeds: tuple[int, ...]
    epochs: int = 8
    max_train_rows: int | None = None  # the first N training clips (None: all 360)
    dev_prompts: int = 30
    trainer: str = "cpu"
    extra: tuple[tuple[str, Any], ...] = ()  # more overrides (smoke: a barely pretrained base)


SMOKE_BASE = (
    ("+model.pretrain.max_clips", 16),  # not in the model config: added
    ("model.pretrain.vae_steps", 2),
    ("model.pretrain.transformer_steps", 2),
    ("vars.num_inference_steps", 2),
)
PROFILES = {
    "full": Profile(seeds=(0, 1, 2, 3)),
    "quick": Profile(seeds=(0, 1), epochs=4, max_train_rows=120, dev_prompts=12),
    "smoke": Profile(
        seeds=(0, 1), max_train_rows=24, dev_prompts=6, trainer="debug", extra=SMOKE_BASE
    ),
}


def overrides(profile: Profile, model: str, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": model,
        "trainer": profile.trainer,
        "vars.seed": seed,
        "vars.epochs": profile.epochs,
        "vars.dev_prompts": profile.dev_prompts,
    }
    if profile.max_train_rows is not None:
        out["vars.max_train_rows"] = profile.max_train_rows
    return {**out, **dict(profile.extra)}


def base_facts(work_dir: Path) -> dict[str, Any]:
    """The run's base model: its folder, parameter counts and one-time build (pretrain.json)."""
    from djsandbox.models.easyanimate.base import PRETRAIN_FILE, base_dir
    from djsandbox.models.easyanimate.settings import resolve_model

    model = json.loads((work_dir / "config_snapshot.json").read_text())["model"]
    folder = base_dir(resolve_model(model))
    info = json.loads((folder / PRETRAIN_FILE).read_text())
    keys = ("seconds", "vae_reused", "vae_cpu_seconds", "transformer_cpu_seconds", "params")
    return {
        "base": folder.name,
        **{k: info.get(k) for k in keys},
        "built_at": folder.stat().st_mtime,
    }


def measure(profile: Profile, runs_dir: Path) -> dict[str, Any]:
    """Every (model, seed) run: its pools' scores, command and wall time."""
    out: dict[str, Any] = {"runs": [], "pools": {}, "bases": {}, "commands": {}}
    for size, model in MODELS.items():
        out["pools"][size] = []
        for seed in profile.seeds:
            args = overrides(profile, model, seed)
            run = run_pipeline(PIPELINE, args, runs_dir / f"{size}_seed_{seed}")
            out["pools"][size].append(analysis.pools_of_run(run.context))
            out["runs"].append(
                {"model": size, "seed": seed, "reused": run.reused, "seconds": run.seconds}
            )
            out["commands"][f"{size}_seed_{seed}"] = shell_command(PIPELINE, args)
            out["bases"].setdefault(size, base_facts(run.work_dir))
    return out


def main(argv: list[str] | None = None) -> Path:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.t2v_transfer.run", argv)
    profile = PROFILES[inv.profile]
    started = time.time()
    measured = measure(profile, inv.runs_dir)
    summary = analysis.summarise(measured["pools"]["small"], measured["pools"]["large"])
    for facts in measured["bases"].values():  # built during this invocation or before it
        facts["built_now"] = facts.pop("built_at") >= started
    figure = report.figure(summary, inv.out_dir / "t2v_transfer.png")
    data = {"profile": asdict(profile), "models": MODELS, "summary": summary, **measured}
    return publish_study(
        inv,
        "Study 10: text-to-video pool ranking, tiny vs larger EasyAnimate (results)",
        report.sections(data, figure),
        data,
        runs=measured["runs"],
    )


if __name__ == "__main__":
    print(main())
