"""JSON lines <-> Arrow with compute kernels: every row of a table serialised as one JSON
object text (no Python object per row; the lines of a pool are the value buffer of a string
array, written in one call), and chosen columns parsed back from such lines.

Rows serialised once can then be taken into many pools (construction writes the whole dataset
once per stat). Module-level imports are stdlib only: validation imports the pool modules.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

_CHUNK_ROWS = 65536  # rows serialised per step: bounds the temporaries of the JSONL writer
HEAD_ROWS, HEAD_BYTES = 1000, 4 << 20  # the first rows (at least) whose types are inferred


# ----------------------------------------------------------------------------- writing


def jsonl_lines(table: pa.Table) -> pa.ChunkedArray:
    """Every row of `table` as one JSON object text ending in a newline (a string column).

    Floats keep a decimal point (1.0 -> "1.0", as Python's json writes it) so a pool read back
    keeps its column types; NaN and infinities, which JSON cannot hold, become null."""
    import pyarrow as pa

    chunks = []
    for start in range(0, max(table.num_rows, 1), _CHUNK_ROWS):
        part = table.slice(start, _CHUNK_ROWS).combine_chunks()
        if part.num_rows:
            chunks.append(object_text(part.columns, part.column_names, part.num_rows, "\n"))
    return pa.chunked_array(chunks, type=pa.large_string())


def object_text(columns: Sequence[Any], names: Sequence[str], n: int, tail: str = "") -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: list[Any] = []
    for i, (name, col) in enumerate(zip(names, columns)):
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        key = ("{" if i == 0 else ",") + json.dumps(str(name), ensure_ascii=False) + ":"
        parts.append(_s(key))
        parts.append(_value_text(col))
    if not parts:
        return pa.array(["{}" + tail] * n, type=pa.large_string())
    parts.append(_s("}" + tail))
    return pc.binary_join_element_wise(*parts, _s(""))


def _value_text(arr: pa.Array) -> pa.Array:
    """JSON text of every value of an array (null -> 'null'), as a large_string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_dictionary(t):
        return _value_text(arr.dictionary_decode())
    if pa.types.is_null(t):
        return pa.array(["null"] * len(arr), type=pa.large_string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = _quote(arr.cast(pa.large_string()))
    elif pa.types.is_boolean(t) or pa.types.is_integer(t):
        text = arr.cast(pa.large_string())
    elif pa.types.is_floating(t):
        if pa.types.is_float16(t):
            arr = arr.cast(pa.float64())
        finite = pc.is_finite(arr)
        s = pc.if_else(finite, arr, pa.scalar(None, arr.type)).cast(pa.large_string())
        has_point = pc.match_substring_regex(s, r"[.eE]")
        text = pc.if_else(has_point, s, pc.binary_join_element_wise(s, _s(".0"), _s("")))
    elif pa.types.is_decimal(t):
        text = arr.cast(pa.float64()).cast(pa.large_string())
    elif pa.types.is_temporal(t):
        text = _quote(arr.cast(pa.large_string()))
    elif pa.types.is_struct(t):
        fields = [t.field(i).name for i in range(t.num_fields)]
        children = [arr.field(i) for i in range(t.num_fields)]
        text = object_text(children, fields, len(arr))
        if arr.null_count:
            text = pc.if_else(arr.is_valid(), text, pa.scalar(None, pa.large_string()))
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        if pa.types.is_fixed_size_list(t) or pa.types.is_large_list(t):
            arr = arr.cast(pa.list_(t.value_type))
        flat_text = _value_text(arr.values)
        lists = pa.ListArray.from_arrays(arr.offsets, flat_text, mask=arr.is_null())
        joined = pc.binary_join(lists, _s(","))
        text = pc.binary_join_element_wise(_s("["), joined.cast(pa.large_string()), _s("]"), _s(""))
    else:  # binary, maps, unions...: rare in datasets; one json.dumps per value
        text = pa.array(
            [
                None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                for v in arr.to_pylist()
            ],
            type=pa.large_string(),
        )
    return pc.fill_null(text.cast(pa.large_string()), "null")


def _s(text: str) -> pa.Scalar:
    import pyarrow as pa

    return pa.scalar(text, pa.large_string())


_ESCAPES = [
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
]


def _quote(arr: pa.Array) -> pa.Array:
    """JSON string literals of a string array (UTF-8 kept, like ensure_ascii=False)."""
    import pyarrow.compute as pc

    for raw, escaped in _ESCAPES:
        arr = pc.replace_substring(arr, raw, escaped)
    if pc.any(pc.match_substring_regex(arr, r"[\x00-\x1f]")).as_py():
        for code in range(32):
            ch = chr(code)
            if ch not in "\n\r\t\b\f":
                arr = pc.replace_substring(arr, ch, f"\\u{code:04x}")
    return pc.binary_join_element_wise(_s('"'), arr, _s('"'), _s(""))


# ----------------------------------------------------------------------------- parsing


def parse_lines(
    lines: pa.Array, columns: Sequence[str], schema: pa.Schema | None = None
) -> pa.Table | None:
    """Only `columns` of newline-terminated JSON rows (the text of the other fields is skipped,
    not built), parsed in slices to bound memory, with `schema` (default: `head_schema` of
    these lines). None when a row does not parse this way (the caller then reads the whole
    table)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    n = len(lines)
    if n == 0:
        return None
    if schema is None:
        schema = head_schema(lines, columns)
    if not len(schema):
        return pa.table({})
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=lines.offset + n + 1)[
        lines.offset :
    ]
    data = lines.buffers()[2]
    opts = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    parts, lo = [], 0
    step = 1 << 26
    try:
        while lo < n:
            hi = int(min(n, max(lo + 1, np.searchsorted(offsets, offsets[lo] + step))))
            start, stop = int(offsets[lo]), int(offsets[hi])
            parts.append(
                pj.read_json(
                    pa.BufferReader(data.slice(start, stop - start)),
                    read_options=pj.ReadOptions(block_size=4 << 20),
                    parse_options=opts,
                )
            )
            lo = hi
    except pa.ArrowInvalid:
        return None
    table = pa.concat_tables(parts)
    return table if table.num_rows == n else None


def head_schema(lines: pa.Array, columns: Sequence[str]) -> pa.Schema:
    """The types of `columns` inferred from the first rows (HEAD_ROWS, or HEAD_BYTES), with
    integer fields read as float64 so that a later 0.5 in an integer-looking field is no
    error; columns absent there are left out."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    n = len(lines)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=lines.offset + n + 1)[
        lines.offset :
    ]
    head_rows = int(min(n, max(HEAD_ROWS, np.searchsorted(offsets, offsets[0] + HEAD_BYTES))))
    start, stop = int(offsets[0]), int(offsets[head_rows])
    head = pj.read_json(pa.BufferReader(lines.buffers()[2].slice(start, stop - start)))
    return pa.schema([_as_float(head.schema.field(c)) for c in columns if c in head.column_names])


def _as_float(field: pa.Field) -> pa.Field:
    import pyarrow as pa

    def conv(t: pa.DataType) -> pa.DataType:
        if pa.types.is_integer(t):
            return pa.float64()
        if pa.types.is_struct(t):
            return pa.struct(
                [pa.field(t.field(i).name, conv(t.field(i).type)) for i in range(t.num_fields)]
            )
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return pa.list_(conv(t.value_type))
        return t

    return pa.field(field.name, conv(field.type))
