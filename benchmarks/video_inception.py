"""FVD/KVD and motion accuracy of video_inception_evaluator's motion detector on a clipart
video set (the packaged subset, or the full set with --root).

    python benchmarks/video_inception.py [--root /work/shared/data/clipart_videos] [--work DIR]

Trains (or reuses from the cache) the motion classifier on the set's train split, then scores:
real-vs-real (the train split's two random halves; the test split's two random halves; not
even/odd rows: the full set's rows cycle through the six motions, so even rows hold only
pan_left, pan_up and zoom_in),
real-vs-noise (uniform noise clips) and real-vs-static (each test clip's first frame held
for 16 frames) against train half B, and the motion accuracy of the real test clips and of
the static clips. Prints one Markdown table and the detector's training facts.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from djsandbox.data.video_io import read_frames, write_mp4
from djsandbox.evaluation.video.evaluator import run_video_inception
from djsandbox.evaluation.video.motion_detector import MotionDetector, MotionSettings


def _jsonl(path: Path, rows: list[dict], root: Path) -> str:
    lines = [
        json.dumps({"videos": [str(root / r["video"])], "text": r["caption"], "id": r["id"]})
        for r in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="folder with clips.jsonl")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    args = parser.parse_args()
    from djsandbox.evaluation.video.motion_detector import packaged_clips

    clips = (args.root / "clips.jsonl") if args.root else packaged_clips()
    root = clips.parent
    work = args.work or Path(tempfile.mkdtemp(prefix="video_inception_"))
    rows = [json.loads(line) for line in clips.read_text(encoding="utf-8").splitlines()]
    rng = np.random.default_rng(0)
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    train = [train[i] for i in rng.permutation(len(train))]  # halves below: random
    test = [test[i] for i in rng.permutation(len(test))]

    start = time.monotonic()
    detector = MotionDetector(MotionSettings.from_config({"detector_data": str(clips)}))
    meta = detector.meta

    for name in ("noise", "static"):
        (work / name).mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(test):
        first = read_frames(root / r["video"], max_frames=1)[0]
        static = work / "static" / f"{i} {r['caption'].replace('/', ' ')}-0.mp4"
        if not static.exists():
            write_mp4(static, np.repeat(first[None], 16, 0))
        noise = work / "noise" / f"noise {i}-0.mp4"
        if not noise.exists():
            write_mp4(noise, rng.integers(0, 256, size=(16, 64, 64, 3), dtype=np.uint8))
    sets = {
        "train half A (random)": _jsonl(work / "train_a.jsonl", train[0::2], root),
        "test split": _jsonl(work / "test.jsonl", test, root),
        "noise": str(work / "noise"),
        "static": str(work / "static"),
    }
    real_b = _jsonl(work / "train_b.jsonl", train[1::2], root)
    base = {"detector_data": str(clips), "metric": ["FVD", "KVD"], "real_data_path": real_b}
    res = run_video_inception({**base, "fake_data_path": sets}, work / "out")
    halves = run_video_inception(
        {
            **base,
            "fake_data_path": _jsonl(work / "test_a.jsonl", test[0::2], root),
            "real_data_path": _jsonl(work / "test_b.jsonl", test[1::2], root),
        },
        work / "out_test",
    )
    print(f"clips: {clips} (train {len(train)}, test {len(test)})")
    print(
        f"detector: trained on {meta['train_clips']} clips, train accuracy "
        f"{meta['train_accuracy']:.3f}, {meta['seconds']} s wall, {meta['cpu_seconds']} s CPU "
        f"when it was trained (cached in {detector.folder})"
    )
    print("\n| fake set (vs train half B) | clips | FVD | KVD | motion accuracy |")
    print("|---|---|---|---|---|")
    for name, r in res.items():
        acc = r.get("motion_accuracy")
        print(
            f"| {name} | {r['rows']} | {r['fvd']:.3f} | {r['kvd']:.4f} | "
            f"{'' if acc is None else f'{acc:.3f}'} |"
        )
    print(
        f"| test half A vs test half B | {halves['rows']} | {halves['fvd']:.3f} | "
        f"{halves['kvd']:.4f} | {halves['motion_accuracy']:.3f} |"
    )
    print(f"\ntotal {time.monotonic() - start:.0f} s; scratch: {work}")


if __name__ == "__main__":
    main()
