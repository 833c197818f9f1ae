"""Copy the clipart-captions subset packaged for `+pipeline=internvl_coco`'s default profile.

    python scripts/make_clipart_subset.py --source ../shared/data/clipart_captions \
        --dest src/djsandbox/resources/clipart --train 600 --test 120

Rows with at least one caption are taken at an even stride over each split (sorted by id, which
starts with a hash of the source path), so the subset spans every category; their PNGs are
copied beside them. The full set stays usable through `dataset=clipart_full dataset.root=...`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

KEEP = ("id", "image", "captions", "keywords", "category", "split")


def pick(rows: list[dict], count: int) -> list[dict]:
    """`count` rows spread evenly over `rows` (all of them when there are fewer)."""
    if count >= len(rows):
        return rows
    step = len(rows) / count
    return [rows[int(i * step)] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--test", type=int, default=120)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.source / "captions.jsonl").open(encoding="utf-8")]
    rows = sorted((r for r in rows if r.get("captions")), key=lambda r: r["id"])
    chosen = [
        r
        for split, n in (("train", args.train), ("test", args.test))
        for r in pick([r for r in rows if r["split"] == split], n)
    ]
    (args.dest / "images").mkdir(parents=True, exist_ok=True)
    with (args.dest / "captions.jsonl").open("w", encoding="utf-8") as out:
        for row in chosen:
            shutil.copyfile(args.source / row["image"], args.dest / row["image"])
            out.write(json.dumps({k: row[k] for k in KEEP if k in row}, ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} rows to {args.dest}")


if __name__ == "__main__":
    main()
