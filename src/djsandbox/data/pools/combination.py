"""`data_pool_combination`: the intersections of every non-empty subset of N ranked pools.

As in the reference, outputs are named `<common prefix>_top_<ranks>_num_<rows>.jsonl` (ranks
joined by '_', e.g. `top_0_2`), ordered by subset size then rank (0, 1, 2, 0_1, 0_2, 1_2,
0_1_2), and an empty intersection is not written (so up to 2^N - 1 files). Ours: `min_rows`
(default 1) skips intersections smaller than that, since a later downsampling to equal size
would otherwise cut every pool to the smallest, often a handful of rows. Differences: rows
keep the first member's order and content (the reference's order is a set's); a row's identity
is its canonical JSON text without Data-Juicer's `__dj__*` columns (stats computed by another
analysis do not make the same row different), or the column(s) named by `key`; compared
exactly, not by a hash. JSONL to JSONL writes the first member's input lines as they are.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...registry import ComponentSpec
from . import io, json_text, options

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

KEYS = ("dataset_path", "export_path", "export_format", "key", "min_rows")

SPECS = (
    ComponentSpec(
        "DataPoolManipulator",
        "data_pool_combination",
        f"{__name__}:run",
        "intersections of every non-empty subset of ranked pools",
        keys=KEYS,
        required=("dataset_path",),
        check=f"{__name__}:check",
    ),
)


def _key_columns(value: Any) -> list[str] | None:
    return options.name_list(value, "key", "a column name or a list of them")


def check(cfg: dict[str, Any]) -> list[str]:
    problems = options.common_problems(cfg) + options.path_problems(cfg, "dataset_path")
    try:
        _key_columns(cfg.get("key"))
    except ValueError as exc:
        problems.append(str(exc))
    min_rows = cfg.get("min_rows", 1)
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        problems.append(f"min_rows: expected a positive integer, got {min_rows!r}")
    return problems


def identities(tables: list[pa.Table], paths: list[Path], key: list[str] | None) -> list[pa.Array]:
    """Per pool, one text per row that is equal exactly when the rows are the same."""
    import pyarrow as pa

    if key is not None:
        for t, p in zip(tables, paths):
            absent = [k for k in key if k not in t.column_names]
            if absent:
                raise ValueError(
                    f"key: column(s) {absent} not in {str(p)!r} (columns: {t.column_names})"
                )
        names = key
    else:
        shared = set.intersection(*(set(t.column_names) for t in tables))
        names = [c for c in tables[0].column_names if c in shared and not c.startswith("__dj__")]
        if not names:
            raise ValueError("dataset_path: the pools share no data column to compare rows by")
    try:
        unified = pa.unify_schemas(
            [t.select(names).schema for t in tables], promote_options="permissive"
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        unified = None
    out = []
    for t in tables:
        part = t.select(names)
        if unified is not None:
            try:
                part = part.cast(unified)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                pass
        out.append(json_text.object_text(part.columns, part.column_names, part.num_rows))
    return out


def run(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Paths of the non-empty intersections, in the reference's order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    paths = options.require_paths(cfg.get("dataset_path"), "dataset_path")
    export = options.export_dir(cfg, out_dir)
    suffix = options.export_suffix(cfg)
    key = _key_columns(cfg.get("key"))
    problems = check({"min_rows": cfg.get("min_rows", 1)})
    if problems:
        raise ValueError(problems[0])
    min_rows = int(cfg.get("min_rows", 1))
    loaded = [io.load(p, "dataset_path", suffix, need_table=True) for p in paths]
    sizes = [table.num_rows for table, _ in loaded]
    ids = identities([table for table, _ in loaded], paths, key)
    # with JSONL lines to write from, the parsed tables are no longer needed: free them
    loaded = [(None if lines is not None else table, lines) for table, lines in loaded]
    prefix = options.common_prefix(paths)
    member_of: dict[tuple[int, int], pa.Array] = {}  # (i, j): rows of pool i also in pool j

    def in_pool(i: int, j: int) -> pa.Array:
        if (i, j) not in member_of:
            member_of[(i, j)] = pc.is_in(ids[i], value_set=ids[j])
        return member_of[(i, j)]

    result: list[str] = []
    with io.outputs() as written:
        for size in range(1, len(paths) + 1):
            for members in itertools.combinations(range(len(paths)), size):
                first = members[0]
                mask = pa.array([True] * sizes[first])
                for other in members[1:]:
                    mask = pc.and_(mask, in_pool(first, other))
                idx = pc.indices_nonzero(mask)
                if len(idx) < min_rows:
                    continue
                ranks = "_".join(str(m) for m in members)
                target = export / f"{prefix}_top_{ranks}_num_{len(idx)}{suffix}"
                table, lines = loaded[first]
                result.append(written.add(io.write_rows(table, lines, idx, target)))
    return result
