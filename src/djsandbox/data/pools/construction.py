"""`data_pool_construction`: split an analysed dataset into pools by each stat (e.g. thirds).

Follows the reference: split points `int(n * ratio + 0.5)` (or every `split_num` rows), pools
written as `<export>/<stat>/<name>_<stat>_<i>.jsonl`, or `<export>/<name>_ignore_stats_<i>.jsonl`
with `ignore_stats`. Differences: the result is grouped, {stat: [pool paths]} ({"ignore_stats":
[...]} with ignore_stats); `stats_keys` chooses stats; rows are sorted with a stable Arrow sort
(ties keep the input order; rows without the stat, or with an empty list, go last); a bad or
unknown stat, an empty pool or a missing file is an error, not a logged skip.

JSONL in and out never holds the rows in memory: the file is indexed through a memory map,
only the stats are parsed (a block at a time), and each pool's rows are gathered in bounded
chunks (`line_file`), byte-identical to the input lines. Memory is about 8 bytes a row per stat
while parsing, then 4 a row per stat (the sorted orders): 10M rows x 8 stats peaked at
953 MiB (benchmarks/README.md).
Parquet in or out reads the whole table.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...registry import ComponentSpec
from ...shapes import as_path_list
from . import io, json_text, options, stat_values
from .line_file import LineFile

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

log = logging.getLogger(__name__)

KEYS = (
    "dataset_path",
    "export_path",
    "split_ratios",
    "split_num",
    "ignore_stats",
    "stats_keys",
    "export_format",
)

SPECS = (
    ComponentSpec(
        "DataPoolManipulator",
        "data_pool_construction",
        f"{__name__}:run",
        "split an analysed dataset into pools per stat (e.g. thirds)",
        keys=KEYS,
        required=("dataset_path",),
        check=f"{__name__}:check",
    ),
)

IGNORE = "ignore_stats"


def parse_ratios(value: Any) -> list[float]:
    """`split_ratios` as floats; strings like '1/3' accepted; strictly increasing in (0, 1)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(
            f"split_ratios: expected a non-empty list of numbers in (0, 1), got {value!r}"
        )
    try:
        ratios = [float(Fraction(str(r).strip())) for r in value if not isinstance(r, bool)]
    except (ValueError, ZeroDivisionError):
        raise ValueError(
            f"split_ratios: expected numbers or fractions like '1/3', got {value!r}"
        ) from None
    if (
        len(ratios) != len(value)
        or any(not 0 < r < 1 for r in ratios)
        or any(b <= a for a, b in zip(ratios, ratios[1:]))
    ):
        raise ValueError(
            f"split_ratios: expected increasing numbers in (0, 1), got {list(value)!r}"
        )
    return ratios


def _split_num(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"split_num: expected a positive integer number of rows, got {value!r}")
    return value


def _stats_keys(value: Any) -> list[str] | None:
    return options.name_list(value, "stats_keys", "a non-empty list of stat names")


def split_points(total: int, cfg: dict[str, Any]) -> list[int]:
    """[0, ..., total]: split_num wins over split_ratios when both are given (as in the reference)."""
    if cfg.get("split_num") is not None:
        n = _split_num(cfg["split_num"])
        if cfg.get("split_ratios") is not None:
            log.warning("split_num and split_ratios both given: split_num is used")
        inner = list(range(n, total, n))
    else:
        ratios = parse_ratios(cfg.get("split_ratios", [1 / 3, 2 / 3]))
        inner = [int(total * r + 0.5) for r in ratios]
    points = [0] + inner + [total]
    empty = [i for i in range(len(points) - 1) if points[i + 1] <= points[i]]
    if empty:
        key = "split_num" if cfg.get("split_num") is not None else "split_ratios"
        raise ValueError(
            f"{key}: pool(s) {empty} would be empty with {total} rows (split points {points})"
        )
    return points


def check(cfg: dict[str, Any]) -> list[str]:
    problems = options.common_problems(cfg) + options.path_problems(cfg, "dataset_path")
    for key, parse in (
        ("split_ratios", parse_ratios),
        ("split_num", _split_num),
        ("stats_keys", _stats_keys),
    ):
        if cfg.get(key) is not None:
            try:
                parse(cfg[key])
            except ValueError as exc:
                problems.append(str(exc))
    if "ignore_stats" in cfg and not isinstance(cfg["ignore_stats"], bool):
        problems.append(f"ignore_stats: expected true or false, got {cfg['ignore_stats']!r}")
    problems += _schema_problems(cfg)
    return problems


def _schema_problems(cfg: dict[str, Any]) -> list[str]:
    """For Parquet inputs that exist already, the named stats must be in the schema (cheap)."""
    try:
        keys = _stats_keys(cfg.get("stats_keys"))
        paths = as_path_list(cfg.get("dataset_path"), "dataset_path")
    except ValueError:
        return []
    if not keys or cfg.get("ignore_stats"):
        return []
    problems = []
    for p in paths:
        if p.endswith(".parquet") and Path(p).is_file():
            import pyarrow.parquet as pq

            fields = io.stats_struct_fields(pq.read_schema(p).empty_table())
            absent = [k for k in keys if k not in fields]
            if absent:
                problems.append(
                    f"stats_keys: {absent} not among the stats of {p} "
                    f"({sorted(fields) or 'no ' + io.STATS + ' column'})"
                )
    return problems


def _plan(
    fields: stat_values.Fields, values_of: stat_values.ValuesOf, path: Path, keys: list[str] | None
) -> dict[str, Any]:
    """{stat: float64 values} of the stats to split by, checked before anything is written."""
    import numpy as np

    if not fields:
        raise ValueError(
            f"dataset_path: {str(path)!r} has no {io.STATS} column: analyse it "
            "first, or set ignore_stats: true"
        )
    names = keys if keys is not None else list(fields)
    absent = [k for k in names if k not in fields]
    if absent:
        raise ValueError(
            f"stats_keys: {absent} is not a stat of any row of {str(path)!r}; "
            f"its stats are {sorted(fields)}"
        )
    plan: dict[str, Any] = {}
    numeric = [n for n in names if stat_values.is_numeric(fields[n])]
    computed = values_of(numeric)
    for name in names:
        values = computed.get(name)
        if values is None:
            if keys is not None:
                raise ValueError(
                    f"stats_keys: stat {name!r} of {str(path)!r} is not numeric ({fields[name]})"
                )
            log.info("skipping non-numeric stat %s (%s)", name, fields[name])
            continue
        if np.isnan(values).all():
            if keys is not None:
                raise ValueError(f"stats_keys: no row of {str(path)!r} has a value for {name!r}")
            continue
        plan[name] = values
    if not plan:
        raise ValueError(
            f"dataset_path: {str(path)!r} has no numeric stat to split by (stats: {sorted(fields)})"
        )
    return plan


def _load(
    path: Path, suffix: str, ignore: bool, keys: list[str] | None
) -> tuple[pa.Table | None, Any, dict[str, Any]]:
    """(table, JSONL lines, plan). JSONL in and out: the input lines themselves, a `LineFile`
    (pools are byte-identical rows, never all in memory) with only the stats parsed, a block
    at a time; otherwise the whole table (and, for JSONL out, its rows serialised once, since
    every stat writes every row once)."""
    if suffix == ".jsonl" and path.suffix != ".parquet":
        lines = LineFile(path, "dataset_path")
        if ignore and len(lines):
            return None, lines, {}
        streamed = stat_values.from_lines(lines, keys) if len(lines) else None
        if streamed is not None:
            return None, lines, _plan(*streamed, path, keys)
        del lines  # rows this path cannot parse (e.g. a stat changing type): read all
    table = io.read_table(path, "dataset_path")
    plan = {} if ignore else _plan(*stat_values.from_table(table), path, keys)
    return table, (json_text.jsonl_lines(table) if suffix == ".jsonl" else None), plan


def run(cfg: dict[str, Any], out_dir: Path) -> dict[str, list[str]]:
    """Pools of every (chosen) numeric stat: {stat: [pool 0 (lowest), pool 1, ...]}."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    paths = options.require_paths(cfg.get("dataset_path"), "dataset_path")
    export = options.export_dir(cfg, out_dir)
    suffix = options.export_suffix(cfg)
    keys = _stats_keys(cfg.get("stats_keys"))
    ignore = bool(cfg.get("ignore_stats", False))
    result: dict[str, list[str]] = {}
    with io.outputs() as written:
        for path in paths:
            table, lines, plan = _load(path, suffix, ignore, keys)
            n = len(lines) if lines is not None else table.num_rows
            if n == 0:
                raise ValueError(f"dataset_path: dataset file {str(path)!r} has no rows")
            points = split_points(n, cfg)
            name = options.stem(path)
            if lines is not None:
                table = None  # the lines hold the rows: free the parsed columns
            if ignore:
                for i in range(len(points) - 1):
                    idx = pa.array(np.arange(points[i], points[i + 1]))
                    target = export / f"{name}_{IGNORE}_{i}{suffix}"
                    result.setdefault(IGNORE, []).append(
                        written.add(io.write_rows(table, lines, idx, target))
                    )
                continue
            # stable: ties keep the input order; NaN (no value) sorts last. The row order of
            # every stat (4 bytes a row) replaces its values (8) before any pool is written
            small = np.uint32 if n < 2**32 else np.uint64
            orders = {
                stat: pc.sort_indices(pa.array(plan.pop(stat))).to_numpy().astype(small)
                for stat in list(plan)
            }
            for stat, order in orders.items():
                for i in range(len(points) - 1):
                    idx = order[points[i] : points[i + 1]]
                    target = export / stat / f"{name}_{stat}_{i}{suffix}"
                    result.setdefault(stat, []).append(
                        written.add(io.write_rows(table, lines, idx, target))
                    )
    return result
