"""Reading the files jobs write: datasets with per-sample stats, Data-Juicer's process log,
Lightning's CSV log (metrics.csv)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any, Iterator

from .document import number

MAX_STAT_ROWS = 200_000  # rows read per dataset for histograms (enough for a clear shape)
DJ_OP_LINE = re.compile(
    r"\[(\d+)/(\d+)\] OP \[([^\]]+)\] Done in ([0-9.eE+-]+)s\. Left (\d+) samples"
)


def iter_jsonl(path: Path, limit: int = MAX_STAT_ROWS) -> Iterator[dict[str, Any]]:
    """The JSON objects of the first `limit` lines of a JSON-lines file (bad lines skipped)."""
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= limit:
                return
            line = line.strip()
            if line:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict):
                    yield row


def _stats_of(
    rows: Iterator[dict[str, Any]],
    id_key: str | None = "id",
) -> tuple[dict[str, list[float]], list[Any]]:
    """({stat: values}, ids) from rows carrying `__dj__stats__` (scalar stats only)."""
    stats: dict[str, list[float]] = {}
    ids: list[Any] = []
    for row in rows:
        st = row.get("__dj__stats__")
        if not isinstance(st, dict):
            continue
        if id_key:
            ids.append(row.get(id_key))
        for k, v in st.items():
            x = number(v)
            if x is not None:
                stats.setdefault(k, []).append(x)
    return stats, ids


def dataset_stats(path: Path) -> tuple[dict[str, list[float]], list[Any]]:
    """Per-sample stats of an exported dataset: from its rows, else from Data-Juicer's
    `<stem>_stats.jsonl` written beside it (stats only, same row order)."""
    if path.is_file():
        stats, ids = _stats_of(iter_jsonl(path))
        if stats:
            return stats, ids
    side = path.with_name(f"{path.stem}_stats.jsonl")
    if side.is_file():
        stats, _ = _stats_of(iter_jsonl(side), id_key=None)
        return stats, []
    return {}, []


def parse_dj_process_log(job_dir: Path) -> list[dict[str, Any]]:
    """Per-op rows left, from Data-Juicer's executor log in `job_dir/dj/process/logs/`.

    Lines read like `[3/8] OP [special_characters_filter] Done in 1.675s. Left 3858 samples.`
    A log may hold several runs (a resumed job): the last complete one wins.
    """
    logs = sorted(Path(job_dir).glob("dj/process/logs/*.log"))
    best: list[dict[str, Any]] = []
    for path in logs:
        runs: list[list[dict[str, Any]]] = []
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            m = DJ_OP_LINE.search(line)
            if not m:
                continue
            i, n = int(m.group(1)), int(m.group(2))
            if i == 1 or not runs:
                runs.append([])
            runs[-1].append(
                {
                    "#": i,
                    "of": n,
                    "op": m.group(3),
                    "seconds": float(m.group(4)),
                    "left": int(m.group(5)),
                }
            )
        complete = [r for r in runs if r and r[-1]["#"] == r[-1]["of"] and len(r) == r[-1]["of"]]
        pick = complete[-1] if complete else (runs[-1] if runs else [])
        if len(pick) > len(best):
            best = pick
    return best


def read_metrics_csv(path: Path) -> dict[str, list[tuple[float, float]]]:
    """Lightning CSVLogger metrics.csv as {column: [(step, value), ...]} (empty cells skipped)."""
    out: dict[str, list[tuple[float, float]]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                step = float(row.get("step") or row.get("epoch") or 0)
            except ValueError:
                continue
            for col, cell in row.items():
                if col in ("step", "epoch") or cell in (None, ""):
                    continue
                try:
                    out.setdefault(col, []).append((step, float(cell)))
                except ValueError:
                    continue
    return out
