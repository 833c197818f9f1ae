"""The numeric stats of an analysed dataset as float64 columns, the keys construction sorts by:
from a parsed table, or streamed from a JSONL `LineFile` a block at a time (only the stats
column is parsed, each block with the schema of the file's first rows), so memory holds the
8 bytes per row and stat, never the rows.

A list stat counts as its mean, an empty list or a missing value as NaN (sorted last).
Module-level imports are stdlib only: validation imports the pool modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .io import STATS, stats_struct_fields
from .json_text import HEAD_BYTES, HEAD_ROWS, head_schema, parse_lines

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .line_file import LineFile


def _is_num(t: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def is_numeric(typ: pa.DataType) -> bool:
    """A number, or a list of numbers (split by its mean)."""
    import pyarrow as pa

    if _is_num(typ):
        return True
    return (pa.types.is_list(typ) or pa.types.is_large_list(typ)) and _is_num(typ.value_type)


def numeric_stat(column: pa.Array, typ: pa.DataType) -> Any | None:
    """The stat as float64 numpy values (NaN where missing; list stats averaged, an empty
    list missing), or None when the stat is not numeric (strings, lists of strings...)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not is_numeric(typ):
        return None
    if _is_num(typ):
        return pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(column)
    parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
    values = pc.fill_null(flat.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    ok = ~np.isnan(values)
    sums = np.bincount(parents[ok], weights=values[ok], minlength=len(column))
    counts = np.bincount(parents[ok], minlength=len(column))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


Fields = dict[str, Any]  # {stat name: Arrow type}
ValuesOf = Callable[[list[str]], dict[str, Any]]  # chosen stats -> {stat: float64 values}


def from_table(table: pa.Table) -> tuple[Fields, ValuesOf]:
    """(stat fields, values getter) of a parsed table."""
    fields = stats_struct_fields(table)

    def values_of(names: list[str]) -> dict[str, Any]:
        stats = table.column(STATS).combine_chunks()
        return {n: numeric_stat(stats.field(n), fields[n]) for n in names}

    return fields, values_of


def from_lines(lines: LineFile, keys: list[str] | None) -> tuple[Fields, ValuesOf] | None:
    """(stat fields, values getter) of a JSONL file, its chosen numeric stats (`keys`, or
    all) parsed in one streaming pass; None when its first rows have no stats struct or a
    later block does not parse with their schema (the caller then reads the whole table)."""
    import numpy as np
    import pyarrow as pa

    if len(lines) == 0:
        return None
    schema = head_schema(lines.head(HEAD_ROWS, HEAD_BYTES), [STATS])
    fields = stats_struct_fields(schema.empty_table())
    if not fields:  # no stats struct in the first rows: the caller says so
        return fields, lambda names: {}
    wanted = [n for n in (keys or list(fields)) if n in fields and is_numeric(fields[n])]
    values = {n: np.empty(len(lines), dtype=np.float64) for n in wanted}
    at = 0
    for block in lines.blocks():
        parsed = parse_lines(block, [STATS], schema)
        if parsed is None:
            return None
        stats = parsed.column(STATS).combine_chunks()
        for n in wanted:
            values[n][at : at + len(block)] = numeric_stat(stats.field(n), fields[n])
        at += len(block)
    pa.default_memory_pool().release_unused()  # the parser's buffers, kept by the allocator

    def values_of(names: list[str]) -> dict[str, Any]:
        return {n: values.get(n) for n in names}

    return fields, values_of
