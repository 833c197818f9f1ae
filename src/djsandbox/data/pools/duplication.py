"""`data_pool_duplication`: every pool repeated `duplicating_times` times, optionally shuffled.

As in the reference: outputs `<name>_x<times>.jsonl`, for each pool then each time, as one flat
list; `shuffle` (default false) with `shuffle_seed` (default 42). Differences: `seed` is
accepted for `shuffle_seed`, `duplicating_times` may be a single integer, and shuffling uses
numpy's generator (same seed, same order; not the reference's HF order). JSONL to JSONL
copies the input lines as they are (nothing re-serialised).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...registry import ComponentSpec
from . import io, options

KEYS = (
    "dataset_path",
    "export_path",
    "export_format",
    "duplicating_times",
    "shuffle",
    "shuffle_seed",
    "seed",
)

SPECS = (
    ComponentSpec(
        "DataPoolManipulator",
        "data_pool_duplication",
        f"{__name__}:run",
        "repeat each pool duplicating_times times",
        keys=KEYS,
        required=("dataset_path",),
        check=f"{__name__}:check",
    ),
)


def _times(value: Any) -> list[int]:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items or any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in items):
        raise ValueError(
            f"duplicating_times: expected an integer >= 1 or a non-empty list of "
            f"them, got {value!r}"
        )
    return list(items)


def check(cfg: dict[str, Any]) -> list[str]:
    problems = options.common_problems(cfg) + options.path_problems(cfg, "dataset_path")
    if "duplicating_times" in cfg:  # absent: maybe fed by an earlier job; run() requires it
        problems += options.collect(lambda: _times(cfg["duplicating_times"]))
    problems += options.collect(lambda: options.seed_of(cfg))
    if "shuffle" in cfg and not isinstance(cfg["shuffle"], bool):
        problems.append(f"shuffle: expected true or false, got {cfg['shuffle']!r}")
    return problems


def run(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    import numpy as np
    import pyarrow as pa

    if "duplicating_times" not in cfg:
        raise ValueError("duplicating_times: required (an integer >= 1 or a list of them)")
    times = _times(cfg["duplicating_times"])
    seed = options.seed_of(cfg)
    shuffle = bool(cfg.get("shuffle", False))
    paths = options.require_paths(cfg.get("dataset_path"), "dataset_path")
    export = options.export_dir(cfg, out_dir)
    suffix = options.export_suffix(cfg)
    result: list[str] = []
    with io.outputs() as written:
        for path in paths:
            table, lines = io.load(path, "dataset_path", suffix, need_table=False)
            n = len(lines) if lines is not None else table.num_rows
            for t in times:
                idx = np.tile(np.arange(n), t)
                if shuffle:
                    idx = np.random.default_rng(seed).permutation(idx)
                target = export / f"{options.stem(path)}_x{t}{suffix}"
                result.append(written.add(io.write_rows(table, lines, pa.array(idx), target)))
    return result
