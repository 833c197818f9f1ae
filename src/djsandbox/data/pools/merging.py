"""`data_pool_merging`: concatenate pools into one dataset, schemas unified.

As in the reference: one file `<common prefix>_merged.jsonl`, rows in pool order, the path
returned as a single string. JSONL to JSONL concatenates the rows as they are (byte-identical, nothing
re-serialised); otherwise (Parquet in or out) schemas are unified: a column missing from a
pool is null there, types are promoted (int + double -> double), and a column whose types
cannot be unified is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...registry import ComponentSpec
from . import io, options

KEYS = ("dataset_path", "export_path", "export_format")

SPECS = (
    ComponentSpec(
        "DataPoolManipulator",
        "data_pool_merging",
        f"{__name__}:run",
        "concatenate pools into one dataset",
        keys=KEYS,
        required=("dataset_path",),
        check=f"{__name__}:check",
    ),
)


def check(cfg: dict[str, Any]) -> list[str]:
    return options.common_problems(cfg) + options.path_problems(cfg, "dataset_path")


def run(cfg: dict[str, Any], out_dir: Path) -> str:
    paths = options.require_paths(cfg.get("dataset_path"), "dataset_path")
    export = options.export_dir(cfg, out_dir)
    suffix = options.export_suffix(cfg)
    loaded = [io.load(p, "dataset_path", suffix, need_table=False) for p in paths]
    parts = [lines if lines is not None else table for table, lines in loaded]
    with io.outputs() as written:
        out = export / f"{options.common_prefix(paths)}_merged{suffix}"
        return written.add(io.write_all(parts, out))
