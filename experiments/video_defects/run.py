"""Study 7, video_defects: do Data-Juicer's video filters find the clipart clips' known defects?

    nice -n 10 .venv/bin/python -m experiments.video_defects.run [--quick | --smoke] [--fresh]
    .venv/bin/python -m experiments.video_defects.run --clips /data/clipart_videos/clips.jsonl

One sandbox run of pipeline.yaml per k: the training clips become Data-Juicer video rows (the
`defect` field dropped), Data-Juicer analyses them (motion score, width, height, duration,
aspect ratio, caption length and words), splits them into low/mid/high thirds per stat, and
removes the clips outside mean +- k std (k-sigma). This driver then joins the clips with their
recorded defects and scores each low and high pool, and each k-sigma removal, as a defect
detector: precision and recall per defect kind, with bootstrap intervals over clips. Nothing is
trained, so there are no seeds: the run is deterministic and the intervals are over clips.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from experiments.common import cli
from experiments.common.publish import publish_study
from experiments.common.runs import command_line, run_config

from . import analysis

STUDY_DIR = Path(__file__).resolve().parent
CONFIG = STUDY_DIR / "pipeline.yaml"
PACKAGED = STUDY_DIR.parents[1] / "src/djsandbox/resources/clipart_videos/clips.jsonl"
FULL = Path("/work/shared/data/clipart_videos/clips.jsonl")
POOLS = {"low": 0, "high": 2}
log = logging.getLogger("experiments")


@dataclass(frozen=True)
class Profile:
    clips: str  # the clips.jsonl whose train split is studied
    ks: tuple[float, ...] = (2.0, 3.0)
    max_rows: int | None = None


PROFILES = {
    "full": Profile(clips=str(FULL)),
    "quick": Profile(clips=str(PACKAGED)),
    "smoke": Profile(clips=str(PACKAGED), ks=(3.0,), max_rows=60),
}


def _rows(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def measure(profile: Profile, runs_dir: Path) -> dict[str, Any]:
    """Run the config once per k; the clips each pool and each k-sigma removal holds."""
    runs, detectors, constant, ids = [], {}, [], []
    for k in profile.ks:
        overrides = {"vars.clips": profile.clips, "vars.k": k}
        if profile.max_rows:
            overrides["vars.max_rows"] = profile.max_rows
        run = run_config(CONFIG, runs_dir / f"k_{k:g}", overrides)
        runs.append(
            {
                "k": k,
                "work_dir": str(run.work_dir),
                "seconds": round(run.seconds, 1),
                "reused": run.reused,
                "command": command_line(CONFIG, {**overrides, "work_dir": run.work_dir}),
            }
        )
        ctx = run.context["single_op"]
        analysed = _rows(ctx["analysis"]["res_1"])
        ids = [r["id"] for r in analysed]
        kept = {r["id"] for r in _rows(run.context["k_sigma"]["process"]["res_1"])}
        detectors[f"k_sigma_{k:g}"] = set(ids) - kept
        if k == profile.ks[0]:
            for stat, paths in ctx["pools"]["res_1"].items():
                if len({json.dumps(r["__dj__stats__"][stat]) for r in analysed}) == 1:
                    constant.append(stat)  # its thirds are file-order thirds: no detector
                    continue
                for side, index in POOLS.items():
                    detectors[f"{stat} {side}"] = {r["id"] for r in _rows(paths[index])}
        log.info("k=%g: %s", k, "reused" if run.reused else f"{run.seconds:.0f} s")
    defect = {r["id"]: r.get("defect") or "" for r in _rows(profile.clips)}
    ordered = {**{n: d for n, d in detectors.items() if not n.startswith("k_sigma")}}
    ordered.update({n: d for n, d in detectors.items() if n.startswith("k_sigma")})
    result = analysis.score(ids, defect, ordered)
    return {
        "profile": asdict(profile),
        "clips": len(ids),
        "constant_stats": constant,
        "result": result,
        "best": analysis.best_detectors(result),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> Path:
    parser = cli.parser(__doc__.split("\n")[0])
    parser.add_argument("--clips", type=Path, help="clips.jsonl to study (default: the profile's)")
    args = parser.parse_args(argv)
    inv = cli.invocation(args, STUDY_DIR, "experiments.video_defects.run", argv)
    profile = PROFILES[inv.profile]
    if args.clips:
        profile = Profile(str(args.clips.resolve()), profile.ks, profile.max_rows)
    if not Path(profile.clips).is_file():
        raise SystemExit(f"{profile.clips}: not found; pass --clips PATH or use --quick")
    measured = measure(profile, inv.runs_dir)
    sections = analysis.markdown(measured["result"], measured["constant_stats"], measured)
    return publish_study(
        inv,
        "Study 7: video filters vs known defects (results)",
        sections,
        measured,
        runs=measured["runs"],
    )


if __name__ == "__main__":
    main()
