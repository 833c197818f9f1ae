"""Arrow IO for data pools: JSONL/Parquet in, JSONL/Parquet out, never a partial file.

JSONL in and out keeps the input's own lines (rows written byte-identical and never all in
memory, see `load` and `line_file`);
otherwise tables are serialised by `json_text`. Every file is written through
`djsandbox.atomic`, and `outputs()` removes what a failed component run wrote.

Module-level imports are stdlib only: validation imports the pool modules.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ...atomic import atomic_open
from . import line_file
from .json_text import jsonl_lines
from .line_file import LineFile, write_chunk

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

STATS = "__dj__stats__"  # Data-Juicer's per-row stats struct column


# ----------------------------------------------------------------------------- reading


def read_table(
    path: str | Path, key: str = "dataset_path", *, allow_empty: bool = False
) -> pa.Table:
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


def load(path: Path, key: str, suffix: str, *, need_table: bool) -> tuple[pa.Table | None, Any]:
    """(table, JSONL lines) of a pool about to be written with `suffix`.

    JSONL in and out: the input's own lines, a `LineFile` (rows written byte-identical and
    never all in memory; nothing parsed unless `need_table`); otherwise the table, and lines
    are None (the writer serialises)."""
    if suffix == ".jsonl" and path.suffix != ".parquet":
        if not path.is_file():
            raise ValueError(f"{key}: dataset file {str(path)!r} does not exist")
        lines = LineFile(path, key)
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

    if all(isinstance(x, LineFile) for x in lines_or_tables):
        with atomic_open([path], "wb") as (fh,):
            for lines in lines_or_tables:
                for block in lines.blocks():
                    write_chunk(fh, block)
        return Path(path)
    if all(isinstance(x, (pa.Array, pa.ChunkedArray)) for x in lines_or_tables):
        chunks = [
            c
            for x in lines_or_tables
            for c in (x.chunks if isinstance(x, pa.ChunkedArray) else [x])
        ]
        return write_lines(pa.chunked_array(chunks, type=pa.large_string()), path)
    try:
        merged = pa.concat_tables(lines_or_tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"dataset_path: the pools' columns cannot be unified: {exc}") from None
    return write_table(merged, path)


# ----------------------------------------------------------------------------- writing


def write_lines(lines: pa.ChunkedArray | pa.Array, path: str | Path) -> Path:
    """Write newline-terminated JSON texts (from `jsonl_lines`, maybe taken) atomically."""
    import pyarrow as pa

    with atomic_open([path], "wb") as (fh,):
        for chunk in lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]:
            write_chunk(fh, chunk)
    return Path(path)


def write_table(table: pa.Table, path: str | Path) -> Path:
    """Write a table as JSONL or Parquet by the path's suffix, atomically."""
    p = Path(path)
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        with atomic_open([p], "wb") as (fh,):
            pq.write_table(table, fh)
        return p
    if p.suffix in (".jsonl", ".json"):
        return write_lines(jsonl_lines(table), p)
    raise ValueError(f"export_path: cannot write {p.name!r}: expected a .jsonl or .parquet name")


def write_rows(table: pa.Table | None, lines: Any, indices: Any, path: Path) -> Path:
    """Rows `indices` of `table` to `path`; from JSONL `lines` (a `LineFile` or pre-serialised
    lines) when given."""
    if lines is None:
        assert table is not None
        return write_table(table.take(indices), path)
    if isinstance(lines, LineFile):
        return line_file.write_rows(lines, indices, path)
    return write_lines(lines.take(indices), path)


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
