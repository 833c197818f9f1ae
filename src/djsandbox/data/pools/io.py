"""Arrow IO for data pools: JSONL/Parquet in, JSONL/Parquet out, never a partial file.

JSONL is written by serialising whole columns with Arrow compute kernels (no Python object
per row): every row becomes one JSON line, and the lines of a pool are the value buffer of a
string array, written in one call. Rows serialised once can then be taken into many pools
(construction writes the whole dataset once per stat).

Module-level imports are stdlib only: validation imports the pool modules.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

STATS = "__dj__stats__"  # Data-Juicer's per-row stats struct column
SUFFIXES = {"jsonl": ".jsonl", "parquet": ".parquet"}
_CHUNK_ROWS = 65536  # rows serialised per step: bounds the temporaries of the JSONL writer


# ----------------------------------------------------------------------------- paths


def name_list(value: Any, key: str, expected: str) -> list[str] | None:
    """A column/stat name or a non-empty list of them (None when unset)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{key}: expected {expected}, got {value!r}")
    return list(value)


def as_paths(value: Any, key: str) -> list[str]:
    """Pool paths given as a string, a list, or nested lists/dicts of them (flattened in order,
    so that construction's {stat: [paths]} can feed the next job directly)."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, (str, os.PathLike)):
            out.append(os.fspath(v))
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)
        else:
            raise ValueError(f"{key}: expected a path or a list of paths, got {type(v).__name__}")

    if value is None:
        return out
    walk(value)
    return out


def missing_paths(paths: Sequence[str]) -> list[str]:
    return [p for p in paths if not Path(p).resolve().is_file()]


def require_paths(value: Any, key: str, *, allow_empty: bool = False) -> list[Path]:
    """Resolved existing dataset files of `key`; a missing file or an empty list is an error."""
    paths = as_paths(value, key)
    if not paths and not allow_empty:
        raise ValueError(f"{key}: expected at least one dataset path, got none")
    missing = missing_paths(paths)
    if missing:
        raise ValueError(f"{key}: dataset file(s) do not exist: {missing}")
    return [Path(p).resolve() for p in paths]


def export_dir(cfg: dict[str, Any], out_dir: Path) -> Path:
    """`export_path` (a folder) or the job's own folder."""
    target = cfg.get("export_path")
    return Path(target).resolve() if target else Path(out_dir)


def export_suffix(cfg: dict[str, Any]) -> str:
    fmt = str(cfg.get("export_format", "jsonl")).lower().lstrip(".")
    if fmt not in SUFFIXES:
        raise ValueError(f"export_format: expected one of {sorted(SUFFIXES)}, got {fmt!r}")
    return SUFFIXES[fmt]


def stem(path: str | Path) -> str:
    return Path(path).name.rsplit(".", 1)[0] if "." in Path(path).name else Path(path).name


def common_prefix(paths: Sequence[str | Path]) -> str:
    """Longest common prefix of the file stems (the reference names combined files by it),
    without trailing separators; 'default_prefix' when there is none, as in the reference."""
    stems = [stem(p) for p in paths]
    prefix = os.path.commonprefix(stems) if stems else ""
    prefix = prefix.rstrip("_-. ")
    return prefix or "default_prefix"


# ----------------------------------------------------------------------------- reading


def read_table(path: str | Path, key: str = "dataset_path", *, allow_empty: bool = False) -> pa.Table:
    """A JSONL (or JSON lines under .json) or Parquet dataset as one Arrow table."""
    import pyarrow as pa

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{key}: dataset file {str(p)!r} does not exist")
    try:
        if p.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(p)
        else:
            table = _read_jsonl(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{key}: cannot read {str(p)!r} as a dataset: {exc}") from None
    if table.num_rows == 0 and not allow_empty:
        raise ValueError(f"{key}: dataset file {str(p)!r} has no rows")
    return table


def _read_jsonl(p: Path) -> pa.Table:
    import pyarrow as pa
    import pyarrow.json as pj

    size = p.stat().st_size
    if size <= 65536 and not p.read_bytes().strip():
        return pa.table({})  # no rows: Arrow's reader would fail on it
    try:
        return pj.read_json(p, read_options=pj.ReadOptions(block_size=16 << 20))
    except pa.ArrowInvalid as exc:
        # Arrow infers the schema from the first block; a later row of another type (e.g. a
        # field null in every early row) fails there. One block sees every row.
        if "changed from" not in str(exc) and "unexpected field" not in str(exc).lower():
            raise
        size = max(p.stat().st_size + 1, 1 << 20)
        return pj.read_json(p, read_options=pj.ReadOptions(block_size=size))


def stats_struct_fields(table: pa.Table) -> dict[str, pa.DataType]:
    """{stat name: type} of the table's `__dj__stats__` struct (empty when there is none)."""
    import pyarrow as pa

    if STATS not in table.column_names:
        return {}
    typ = table.schema.field(STATS).type
    if not pa.types.is_struct(typ):
        return {}
    return {typ.field(i).name: typ.field(i).type for i in range(typ.num_fields)}


def read_jsonl_lines(path: str | Path) -> pa.Array:
    """The non-blank lines of a JSONL file, each with its newline, as a large_string array
    over one buffer holding the file (no parsing, no copy per line). Taking rows of this array
    and writing them gives pools byte-identical to the input rows."""
    import numpy as np
    import pyarrow as pa

    p = Path(path)
    size = p.stat().st_size
    buf = np.empty(size + 1, dtype=np.uint8)
    with open(p, "rb") as fh:
        got = fh.readinto(memoryview(buf)[:size])
    if got != size:
        raise ValueError(f"dataset_path: {str(p)!r} changed while being read")
    if size and buf[size - 1] == 10:
        buf = buf[:size]
    else:
        buf[size] = 10  # the last line gets its newline
    ends = [np.flatnonzero(buf[a:a + (1 << 24)] == 10) + a for a in range(0, len(buf), 1 << 24)]
    newlines = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    offsets = np.empty(len(newlines) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = newlines + 1
    lines = pa.LargeStringArray.from_buffers(len(newlines), pa.py_buffer(offsets), pa.py_buffer(buf))
    lengths = np.diff(offsets)
    blank = (lengths == 1) | ((lengths == 2) & (buf[np.maximum(offsets[1:] - 2, 0)] == 13))
    # a cheap sanity check instead of parsing: every row is a JSON object
    bad = np.flatnonzero(~blank & (buf[offsets[:-1]] != ord("{")))
    if len(bad):
        line = int(bad[0]) + 1
        text = bytes(buf[offsets[bad[0]]:offsets[bad[0]] + 60]).decode("utf-8", "replace")
        raise ValueError(f"dataset_path: {str(p)}:{line}: expected a JSON object per line, "
                         f"got {text!r}")
    if blank.any():
        lines = lines.take(pa.array(np.flatnonzero(~blank)))
    return lines


def load(path: Path, key: str, suffix: str, *, need_table: bool) -> tuple[pa.Table | None, Any]:
    """(table, JSONL lines) of a pool about to be written with `suffix`.

    JSONL in and out: the input's own lines (rows written byte-identical, nothing parsed
    unless `need_table`); otherwise the table, and lines are None (the writer serialises)."""
    if suffix == ".jsonl" and path.suffix != ".parquet":
        if not path.is_file():
            raise ValueError(f"{key}: dataset file {str(path)!r} does not exist")
        lines = read_jsonl_lines(path)
        if len(lines) == 0:
            raise ValueError(f"{key}: dataset file {str(path)!r} has no rows")
        if not need_table:
            return None, lines
        table = read_table(path, key)
        return table, (lines if table.num_rows == len(lines) else jsonl_lines(table))
    return read_table(path, key), None


def write_all(lines_or_tables: Sequence[Any], path: Path) -> Path:
    """Concatenate pools (all JSONL lines, or all tables) into one file."""
    import pyarrow as pa

    if all(isinstance(x, (pa.Array, pa.ChunkedArray)) for x in lines_or_tables):
        chunks = [c for x in lines_or_tables
                  for c in (x.chunks if isinstance(x, pa.ChunkedArray) else [x])]
        return write_lines(pa.chunked_array(chunks, type=pa.large_string()), path)
    try:
        merged = pa.concat_tables(lines_or_tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"dataset_path: the pools' columns cannot be unified: {exc}") from None
    return write_table(merged, path)


def parse_lines(lines: pa.Array, columns: Sequence[str]) -> pa.Table | None:
    """Only `columns` of newline-terminated JSON rows (the text of the other fields is skipped,
    not built), parsed in slices to bound memory. Integer fields are read as float64 so that a
    later 0.5 in an integer-looking field is no error. None when a row does not parse this way
    (the caller then reads the whole table)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    n = len(lines)
    if n == 0:
        return None
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=lines.offset + n + 1)[lines.offset:]
    data = lines.buffers()[2]
    head_rows = int(min(n, max(1000, np.searchsorted(offsets, offsets[0] + (4 << 20)))))
    head = pj.read_json(pa.BufferReader(data.slice(int(offsets[0]), int(offsets[head_rows] - offsets[0]))))
    fields = [_as_float(head.schema.field(c)) for c in columns if c in head.column_names]
    if not fields:
        return pa.table({})
    opts = pj.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore")
    parts, lo = [], 0
    step = 1 << 26
    try:
        while lo < n:
            hi = int(min(n, max(lo + 1, np.searchsorted(offsets, offsets[lo] + step))))
            start, stop = int(offsets[lo]), int(offsets[hi])
            parts.append(pj.read_json(pa.BufferReader(data.slice(start, stop - start)),
                                      read_options=pj.ReadOptions(block_size=4 << 20),
                                      parse_options=opts))
            lo = hi
    except pa.ArrowInvalid:
        return None
    table = pa.concat_tables(parts)
    return table if table.num_rows == n else None


def _as_float(field: pa.Field) -> pa.Field:
    import pyarrow as pa

    def conv(t: pa.DataType) -> pa.DataType:
        if pa.types.is_integer(t):
            return pa.float64()
        if pa.types.is_struct(t):
            return pa.struct([pa.field(t.field(i).name, conv(t.field(i).type)) for i in range(t.num_fields)])
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return pa.list_(conv(t.value_type))
        return t

    return pa.field(field.name, conv(field.type))


# ----------------------------------------------------------------------------- JSONL writer


def jsonl_lines(table: pa.Table) -> pa.ChunkedArray:
    """Every row of `table` as one JSON object text ending in a newline (a string column).

    Floats keep a decimal point (1.0 -> "1.0", as Python's json writes it) so a pool read back
    keeps its column types; NaN and infinities, which JSON cannot hold, become null."""
    import pyarrow as pa

    chunks = []
    for start in range(0, max(table.num_rows, 1), _CHUNK_ROWS):
        part = table.slice(start, _CHUNK_ROWS).combine_chunks()
        if part.num_rows:
            chunks.append(_object_text(part.columns, part.column_names, part.num_rows, "\n"))
    return pa.chunked_array(chunks, type=pa.large_string())


def _object_text(columns: Sequence[Any], names: Sequence[str], n: int, tail: str = "") -> pa.Array:
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
        text = _object_text(children, fields, len(arr))
        if arr.null_count:
            text = pc.if_else(arr.is_valid(), text, pa.scalar(None, pa.large_string()))
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        if pa.types.is_fixed_size_list(t):
            arr = arr.cast(pa.list_(t.value_type))
        elif pa.types.is_large_list(t):
            arr = arr.cast(pa.list_(t.value_type))
        flat_text = _value_text(arr.values)
        lists = pa.ListArray.from_arrays(arr.offsets, flat_text, mask=arr.is_null())
        joined = pc.binary_join(lists, _s(","))
        text = pc.binary_join_element_wise(_s("["), joined.cast(pa.large_string()), _s("]"), _s(""))
    else:  # binary, maps, unions...: rare in datasets; one json.dumps per value
        text = pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                         for v in arr.to_pylist()], type=pa.large_string())
    return pc.fill_null(text.cast(pa.large_string()), "null")


def _s(text: str) -> pa.Scalar:
    import pyarrow as pa

    return pa.scalar(text, pa.large_string())


_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
            ("\b", "\\b"), ("\f", "\\f")]


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


# ----------------------------------------------------------------------------- writing


def write_lines(lines: pa.ChunkedArray | pa.Array, path: str | Path) -> Path:
    """Write newline-terminated JSON texts (from `jsonl_lines`, maybe taken) atomically."""
    import pyarrow as pa

    def write(fh: Any) -> None:
        import numpy as np

        chunks = lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]
        for chunk in chunks:
            if len(chunk) == 0:
                continue
            if chunk.null_count:
                raise ValueError("internal: a JSON line is null")
            large = pa.types.is_large_string(chunk.type)
            offs = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if large else np.int32,
                                 count=chunk.offset + len(chunk) + 1)[chunk.offset:]
            # the value buffer between the first and last offset is the lines, back to back
            fh.write(memoryview(chunk.buffers()[2])[int(offs[0]):int(offs[-1])])

    return _atomic(path, write)


def write_table(table: pa.Table, path: str | Path) -> Path:
    """Write a table as JSONL or Parquet by the path's suffix, atomically."""
    p = Path(path)
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        return _atomic(p, lambda fh: pq.write_table(table, fh))
    if p.suffix in (".jsonl", ".json"):
        return write_lines(jsonl_lines(table), p)
    raise ValueError(f"export_path: cannot write {p.name!r}: expected a .jsonl or .parquet name")


def write_rows(table: pa.Table | None, lines: pa.ChunkedArray | None, indices: Any,
               path: Path) -> Path:
    """Rows `indices` of `table` to `path`; from pre-serialised JSONL `lines` when given."""
    if lines is None:
        assert table is not None
        return write_table(table.take(indices), path)
    return write_lines(lines.take(indices), path)


def _atomic(path: str | Path, write: Any) -> Path:
    """Write through a temporary file in the same folder, then rename: a reader never sees a
    partial file, and a failure leaves nothing behind."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return p


class Outputs:
    """The files one component run writes: all of them are removed if the run fails, so a
    failed job never leaves some pools behind as if they were its results."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def add(self, path: Path) -> str:
        self.paths.append(path)
        return str(path)


@contextmanager
def outputs() -> Iterator[Outputs]:
    out = Outputs()
    try:
        yield out
    except BaseException:
        for p in out.paths:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        raise


# ----------------------------------------------------------------------------- config helpers


def seed_of(cfg: dict[str, Any], default: int = 42) -> int:
    """`shuffle_seed` (the reference's name) or `seed`; both given must agree."""
    given = {k: cfg[k] for k in ("shuffle_seed", "seed") if cfg.get(k) is not None}
    for k, v in given.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{k}: expected an integer seed, got {v!r}")
    if len(set(given.values())) > 1:
        raise ValueError(f"seed: shuffle_seed={given['shuffle_seed']} and seed={given['seed']} "
                         "disagree; give one")
    return next(iter(given.values()), default)


def path_problems(cfg: dict[str, Any], key: str, *, required: bool = True) -> list[str]:
    """Validation of a dataset-path key, on what is known before the run."""
    if key not in cfg or cfg[key] is None:
        return []  # fed by an earlier job, or absent: checked at run time
    try:
        paths = as_paths(cfg[key], key)
    except ValueError as exc:
        return [str(exc)]
    if not paths and required:
        return [f"{key}: expected at least one dataset path, got an empty list"]
    missing = missing_paths(paths)
    return [f"{key}: dataset file(s) do not exist: {missing}"] if missing else []


def common_problems(cfg: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if "export_format" in cfg:
        try:
            export_suffix(cfg)
        except ValueError as exc:
            problems.append(str(exc))
    exp = cfg.get("export_path")
    if exp is not None and not isinstance(exp, (str, os.PathLike)):
        problems.append(f"export_path: expected a folder path, got {type(exp).__name__}")
    elif exp is not None and Path(exp).is_file():
        problems.append(f"export_path: expected a folder, but {str(exp)!r} is a file")
    return problems


def collect(*checks: Any) -> list[str]:
    """Messages of the ValueErrors raised by zero-argument checks (validation reports all)."""
    problems = []
    for fn in checks:
        try:
            fn()
        except ValueError as exc:
            problems.append(str(exc))
    return problems
