"""`data_pool_cartesian_join`: every pool of one set joined with every pool of another.

As in the reference: `dataset_path_1` (M pools) x `dataset_path_2` (N pools) gives M x N files
`<prefix 1>_<prefix 2>_cartesian_join_<i>_<j>.jsonl`; in each, every row of pool i is joined
column-wise with every row of pool j, rows of pool i outermost (A1, A2, B1, B2, ...).
Differences: a column present on both sides is renamed with `suffixes` (default ["_1", "_2"])
instead of failing; an empty set of pools, or an empty pool, is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...registry import ComponentSpec
from . import io, options

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

KEYS = ("dataset_path_1", "dataset_path_2", "export_path", "export_format", "suffixes")

SPECS = (
    ComponentSpec(
        "DataPoolManipulator",
        "data_pool_cartesian_join",
        f"{__name__}:run",
        "row-wise cartesian join of every pair of pools of two sets",
        keys=KEYS,
        required=("dataset_path_1", "dataset_path_2"),
        check=f"{__name__}:check",
    ),
)

DEFAULT_SUFFIXES = ("_1", "_2")


def _suffixes(value: Any) -> tuple[str, str]:
    if value is None:
        return DEFAULT_SUFFIXES
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(s, str) for s in value)
        or value[0] == value[1]
    ):
        raise ValueError(
            f"suffixes: expected two different strings appended to clashing "
            f"column names, got {value!r}"
        )
    return value[0], value[1]


def check(cfg: dict[str, Any]) -> list[str]:
    problems = options.common_problems(cfg)
    for key in ("dataset_path_1", "dataset_path_2"):  # absent: fed by an earlier job
        problems += options.path_problems(cfg, key)
    return problems + options.collect(lambda: _suffixes(cfg.get("suffixes")))


def join(left: pa.Table, right: pa.Table, suffixes: tuple[str, str]) -> pa.Table:
    """Every row of `left` with every row of `right`, side by side."""
    import numpy as np
    import pyarrow as pa

    clash = set(left.column_names) & set(right.column_names)
    lnames = [c + suffixes[0] if c in clash else c for c in left.column_names]
    rnames = [c + suffixes[1] if c in clash else c for c in right.column_names]
    names = lnames + rnames
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(
            f"suffixes: renaming clashing columns {sorted(clash)} with {suffixes} "
            f"still gives duplicate columns {dup}"
        )
    n1, n2 = left.num_rows, right.num_rows
    lt = left.take(pa.array(np.repeat(np.arange(n1), n2)))
    rt = right.take(pa.array(np.tile(np.arange(n2), n1)))
    return pa.Table.from_arrays(lt.columns + rt.columns, names=names)


def run(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    first = options.require_paths(cfg.get("dataset_path_1"), "dataset_path_1")
    second = options.require_paths(cfg.get("dataset_path_2"), "dataset_path_2")
    suffixes = _suffixes(cfg.get("suffixes"))
    export = options.export_dir(cfg, out_dir)
    suffix = options.export_suffix(cfg)
    lefts = [io.read_table(p, "dataset_path_1") for p in first]
    rights = [io.read_table(p, "dataset_path_2") for p in second]
    p1, p2 = options.common_prefix(first), options.common_prefix(second)
    prefix = f"{p1}_{p2}"
    result: list[str] = []
    with io.outputs() as written:
        for i, left in enumerate(lefts):
            for j, right in enumerate(rights):
                out = export / f"{prefix}_cartesian_join_{i}_{j}{suffix}"
                result.append(written.add(io.write_table(join(left, right, suffixes), out)))
    return result
