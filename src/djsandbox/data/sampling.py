"""Sampling a dataset file before model inference (ProbeViaModelInferHook).

Probing a model on all of a large dataset is rarely needed to see which data is hard for it;
a seeded sample is cheap and reproducible. Algorithms: `random` (seeded, rows kept in file
order), `head` and `tail`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

SAMPLE_ALGOS = ("random", "head", "tail")


def sampling_problems(cfg: dict[str, Any]) -> list[str]:
    """'key: problem' for `sample_ratio`, `sample_algo` and `seed` (known values only)."""
    problems = []
    ratio = cfg.get("sample_ratio", 1.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        problems.append(f"sample_ratio: got {ratio!r}; expected a number in (0, 1]")
    algo = cfg.get("sample_algo", "random")
    if algo not in SAMPLE_ALGOS:
        problems.append(f"sample_algo: got {algo!r}; expected one of {', '.join(SAMPLE_ALGOS)}")
    seed = cfg.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append(f"seed: got {seed!r}; expected an integer")
    return problems


def sample_rows(
    path: Path, out_path: Path, ratio: float = 1.0, algo: str = "random", seed: int = 42
) -> tuple[Path, int]:
    """Write round(rows * ratio) rows (at least one) of a JSONL/JSON/Parquet file to
    `out_path` as JSONL; returns (out_path, rows written)."""
    from .jsonl import load_rows

    problems = sampling_problems({"sample_ratio": ratio, "sample_algo": algo, "seed": seed})
    if problems:
        raise ValueError("; ".join(problems))
    rows = load_rows(path)
    count = max(1, round(len(rows) * ratio))
    if algo == "head":
        chosen = rows[:count]
    elif algo == "tail":
        chosen = rows[len(rows) - count :]
    else:
        keep = sorted(random.Random(seed).sample(range(len(rows)), count))
        chosen = [rows[i] for i in keep]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in chosen:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out_path)
    return out_path, count
