"""`data_pool_downsampling`: every pool shuffled with a seed and cut to the same size.

As in the reference: `target_num_samples` defaults to the smallest pool, `shuffle_seed`
defaults to 42, outputs are `<name>_<target>.jsonl` in shuffled order, one per pool. Differences:
`seed` is accepted for `shuffle_seed`; a target larger than a pool is an error naming that pool
(the reference silently kept the smaller pool); numpy's generator shuffles. JSONL to JSONL
copies the chosen input lines as they are (nothing re-serialised).
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
    "target_num_samples",
    "shuffle_seed",
    "seed",
)

SPECS = (
    ComponentSpec(
        "DataPoolManipulator",
        "data_pool_downsampling",
        f"{__name__}:run",
        "shuffle with a seed and cut pools to target_num_samples",
        keys=KEYS,
        required=("dataset_path",),
        check=f"{__name__}:check",
    ),
)


def _target(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"target_num_samples: expected a positive integer, got {value!r}")
    return value


def check(cfg: dict[str, Any]) -> list[str]:
    problems = options.common_problems(cfg) + options.path_problems(cfg, "dataset_path")
    problems += options.collect(
        lambda: _target(cfg.get("target_num_samples")), lambda: options.seed_of(cfg)
    )
    return problems


def run(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    import numpy as np
    import pyarrow as pa

    target = _target(cfg.get("target_num_samples"))
    seed = options.seed_of(cfg)
    paths = options.require_paths(cfg.get("dataset_path"), "dataset_path")
    export = options.export_dir(cfg, out_dir)
    suffix = options.export_suffix(cfg)
    loaded = [io.load(p, "dataset_path", suffix, need_table=False) for p in paths]
    sizes = [len(lines) if lines is not None else table.num_rows for table, lines in loaded]
    if target is None:
        target = min(sizes)
    small = [f"{p} ({n} rows)" for p, n in zip(paths, sizes) if n < target]
    if small:
        raise ValueError(f"target_num_samples: {target} is larger than pool(s) {small}")
    result: list[str] = []
    with io.outputs() as written:
        for path, n, (table, lines) in zip(paths, sizes, loaded):
            idx = np.random.default_rng(seed).permutation(n)[:target]
            out = export / f"{options.stem(path)}_{target}{suffix}"
            result.append(written.add(io.write_rows(table, lines, pa.array(idx), out)))
    return result
