"""How well Data-Juicer's video stats find the clipart clips' known defects.

Runs ``+pipeline=video_pools`` (clips -> Data-Juicer video rows without the defect fields ->
Data-Juicer analysis with resources/recipes/video_clips.yaml -> pools per stat) on a clip
folder, then joins each analysed clip with its recorded ``defect`` and reports, per stat and
defect, the ROC AUC of the stat as a detector of that defect (one defect vs every other clip;
``low`` means low values flag the defect, e.g. a static clip has a low motion score). The
headline is the motion score against ``static``.

    python benchmarks/video_motion_static.py --root /work/shared/data/clipart_videos
    python benchmarks/video_motion_static.py            # the packaged 360-clip subset

Writes ``--out`` (default ``benchmarks/results/video_motion_static_<dataset>.json``; an
existing file is not replaced) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGED = REPO / "src/djsandbox/resources/clipart_videos"
STATS = (
    "video_motion_score",
    "video_width",
    "video_height",
    "video_duration",
    "video_aspect_ratios",
    "text_len",
    "num_words",
)


def _value(stat: object) -> float:
    return float(sum(stat) / len(stat)) if isinstance(stat, list) else float(stat)  # type: ignore[arg-type]


def run_pipeline(root: Path, work: Path) -> Path:
    """The analysed rows of the training split (``single_op/analysed.jsonl``)."""
    cmd = [sys.executable, "-m", "djsandbox", "+pipeline=video_pools", f"work_dir={work / 'run'}"]
    if root.resolve() != PACKAGED.resolve():
        cmd += ["dataset=clipart_videos_full", f"dataset.root={root}"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    subprocess.run(cmd, cwd=work, env=env, check=True)
    return next(work.glob("**/single_op/analysed.jsonl"))


def separation(analysed: Path, clips: Path) -> dict[str, dict[str, dict[str, float]]]:
    """{stat: {defect: {auc, direction, n}}}: the AUC of the stat as a detector of the defect,
    in its better direction (0.5: no separation, 1.0: perfect)."""
    from sklearn.metrics import roc_auc_score

    defect = {}
    for line in clips.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            defect[row["id"]] = row.get("defect") or ""
    rows = [json.loads(line) for line in analysed.read_text().splitlines() if line.strip()]
    kinds = sorted({defect[r["id"]] for r in rows} - {""})
    out: dict[str, dict[str, dict[str, float]]] = {}
    for stat in STATS:
        values = [_value(r["__dj__stats__"][stat]) for r in rows]
        out[stat] = {}
        for kind in kinds:
            labels = [defect[r["id"]] == kind for r in rows]
            if len(set(values)) == 1:
                auc_low = 0.5
            else:
                auc_low = float(roc_auc_score(labels, [-v for v in values]))
            low = auc_low >= 0.5
            out[stat][kind] = {
                "auc": round(auc_low if low else 1 - auc_low, 4),
                "direction": "low" if low else "high",
                "n": sum(labels),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=PACKAGED, help="clip folder (clips.jsonl)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    name = "packaged" if args.root.resolve() == PACKAGED.resolve() else args.root.name
    out = args.out or REPO / "benchmarks" / "results" / f"video_motion_static_{name}.json"
    if out.exists():
        sys.exit(f"{out}: exists; not replaced (pass --out)")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        analysed = run_pipeline(args.root.resolve(), Path(tmp))
        wall = time.perf_counter() - start
        rows = sum(1 for line in analysed.read_text().splitlines() if line.strip())
        result = separation(analysed, args.root / "clips.jsonl")
    report = {
        "root": str(args.root),
        "train_clips": rows,
        "pipeline_wall_s": round(wall, 1),
        "headline": {
            "stat": "video_motion_score",
            "defect": "static",
            **result["video_motion_score"]["static"],
        },
        "separation": result,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "x", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    kinds = sorted(next(iter(result.values())))
    print(f"{rows} training clips, pipeline {wall:.0f} s; AUC (direction) per stat and defect:")
    print("| stat | " + " | ".join(f"{k} (n={result[STATS[0]][k]['n']})" for k in kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for stat, per in result.items():
        cells = " | ".join(f"{per[k]['auc']:.3f} ({per[k]['direction']})" for k in kinds)
        print(f"| {stat} | {cells} |")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
