"""Small facts about the JSONL datasets the studies use (row subsets, pool sizes, labels)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).resolve().parents[2] / "src" / "djsandbox" / "resources"
TRAIN = RESOURCES / "fine_foods" / "train.jsonl"
TEST = RESOURCES / "fine_foods" / "test.jsonl"
POSITIVE = "great"
STATS = "__dj__stats__"  # where Data-Juicer keeps per-row stats


def head_jsonl(src: Path, dst: Path, rows: int | None) -> Path:
    """The first `rows` rows of `src` in `dst` (small profiles); `src` itself when rows is None.

    The fine-food files are in random order, so a prefix is a random sample.
    """
    if rows is None:
        return Path(src)
    lines = [line for line in Path(src).read_text(encoding="utf-8").splitlines() if line.strip()]
    if rows > len(lines):
        raise ValueError(f"{src} has {len(lines)} rows, fewer than the {rows} asked for")
    dst.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines[:rows]) + "\n"
    if not dst.is_file() or dst.read_text(encoding="utf-8") != text:
        dst.write_text(text, encoding="utf-8")
    return dst


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def pool_facts(
    path: Path | str, stat: str | None = None, label_key: str = "label", id_key: str = "id"
) -> dict[str, Any]:
    """Rows, share of positive labels, distinct rows, a digest of the (sorted) row ids (two
    pools with the same digest hold the same rows) and, given `stat`, its range in the pool
    and the share of rows at its most common value (read from the Data-Juicer stats the pool
    rows carry; a pool boundary inside a run of tied values splits those rows by file order)."""
    rows = read_rows(path)
    ids = sorted(str(r.get(id_key)) for r in rows)
    facts: dict[str, Any] = {
        "rows": len(rows),
        "distinct_rows": len(set(ids)),
        "positive_share": (
            sum(r.get(label_key) == POSITIVE for r in rows) / len(rows) if rows else float("nan")
        ),
        "digest": hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16],
    }
    if stat is not None:
        values = [
            r[STATS][stat]
            for r in rows
            if isinstance(r.get(STATS), dict) and isinstance(r[STATS].get(stat), (int, float))
        ]
        facts["stat_min"] = min(values) if values else None
        facts["stat_max"] = max(values) if values else None
        facts["stat_mode_share"] = max(Counter(values).values()) / len(values) if values else None
    return facts


def majority_accuracy(path: Path | str, label_key: str = "label") -> float:
    """Accuracy of always predicting the most frequent label: the floor a model must beat."""
    labels = [r.get(label_key) for r in read_rows(path)]
    return max(labels.count(v) for v in set(labels)) / len(labels)


def study_data(runs_dir: Path, train_rows: int | None, test_rows: int | None) -> tuple[Path, Path]:
    """Training and test files of a profile: the packaged files, or prefixes of them."""
    return (
        head_jsonl(TRAIN, runs_dir / "data" / "train.jsonl", train_rows),
        head_jsonl(TEST, runs_dir / "data" / "test.jsonl", test_rows),
    )


def split_jsonl(src: Path, dst_dir: Path, first_rows: int) -> tuple[Path, Path]:
    """(first `first_rows` rows, the rest) of `src` as two files in `dst_dir`; the fine-food
    files are in random order, so this is a random split."""
    lines = [line for line in Path(src).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not 0 < first_rows < len(lines):
        raise ValueError(f"split_jsonl: cannot take {first_rows} of {len(lines)} rows")
    dst_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, part in (("search.jsonl", lines[:first_rows]), ("dev.jsonl", lines[first_rows:])):
        path = dst_dir / name
        text = "\n".join(part) + "\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        out.append(path)
    return out[0], out[1]
