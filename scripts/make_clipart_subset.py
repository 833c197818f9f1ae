"""Copy a clipart subset packaged with djsandbox (captions for `internvl_coco`, clips for t2v).

    python scripts/make_clipart_subset.py --source ../shared/data/clipart_captions \
        --dest src/djsandbox/resources/clipart --train 600 --test 120
    python scripts/make_clipart_subset.py --kind videos --source ../shared/data/clipart_videos \
        --dest src/djsandbox/resources/clipart_videos --train 360 --test 60

Rows with at least one caption (or a clip) are taken at an even stride over each split (sorted by id, which
starts with a hash of the source path), so the subset spans every category; their PNGs are
copied beside them (videos: the whole row is kept,
including the `defect` field that only studies may read). The full set stays usable through `dataset=clipart_full dataset.root=...`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

KEEP = ("id", "image", "captions", "keywords", "category", "split")
# kind -> (rows file, media key, kept keys: None keeps every key)
KINDS = {"captions": ("captions.jsonl", "image", KEEP), "videos": ("clips.jsonl", "video", None)}


def pick(rows: list[dict], count: int) -> list[dict]:
    """`count` rows spread evenly over `rows` (all of them when there are fewer)."""
    if count >= len(rows):
        return rows
    step = len(rows) / count
    return [rows[int(i * step)] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(KINDS), default="captions")
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--test", type=int, default=120)
    args = parser.parse_args()
    rows_file, media, keep = KINDS[args.kind]
    rows = [json.loads(line) for line in (args.source / rows_file).open(encoding="utf-8")]
    rows = sorted((r for r in rows if r.get("captions") or r.get("video")), key=lambda r: r["id"])
    chosen = [
        r
        for split, n in (("train", args.train), ("test", args.test))
        for r in pick([r for r in rows if r["split"] == split], n)
    ]
    with (args.dest / rows_file).open("w", encoding="utf-8") as out:
        for row in chosen:
            (args.dest / row[media]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.source / row[media], args.dest / row[media])
            kept = {k: row[k] for k in (keep or row) if k in row}
            out.write(json.dumps(kept, ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} rows to {args.dest}")


if __name__ == "__main__":
    main()
