"""A JSONL file's rows as byte ranges of a read-only memory map, so pools of any size fit in
bounded memory: one streaming pass indexes the line offsets (8 bytes per row), and rows are
then read in file order (`blocks`) or gathered in any order (`write_rows`), a bounded chunk at
a time. Written rows are the input's own bytes, each ending in a newline.

The map's pages belong to the page cache, not to this process: after every block they are
dropped from the process (`MADV_DONTNEED`; the kernel keeps them cached). Rows in any order
come from the map when the file is at most MAPPED_BYTES, else from `pread` (see `rows`), so
the resident memory of a run does not grow with the file. Module-level imports are stdlib only.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ...atomic import atomic_open

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

BLOCK_BYTES = 64 << 20  # bytes read, parsed or gathered per step
GATHER_BYTES = 16 << 20  # rows gathered (in any order) per write
MAPPED_BYTES = 512 << 20  # a larger file is never mapped in all at once
_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)  # absent on some systems: pages stay mapped


def _release_arrow_memory() -> None:
    """Give the freed chunks of Arrow's allocator back to the system (it keeps them)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


class LineFile:
    """The non-blank lines of a JSONL file, indexed without reading it into memory."""

    def __init__(self, path: str | Path, key: str = "dataset_path") -> None:
        import numpy as np
        import pyarrow as pa

        self.path = Path(path)
        size = self.path.stat().st_size
        self._map: mmap.mmap | None = None
        if size == 0:
            self._data = pa.py_buffer(b"")
            offsets = np.zeros(1, dtype=np.int64)
            self._keep = None
            self.newline_at_end = True
        else:
            with open(self.path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self._data = pa.py_buffer(self._map)
            offsets = self._index(size, key)
            self.newline_at_end = self._map[size - 1] == 10
        self._all = pa.LargeStringArray.from_buffers(
            len(offsets) - 1, pa.py_buffer(offsets), self._data
        )
        self._offsets = offsets
        self._n = len(self._all) if self._keep is None else len(self._keep)

    def _index(self, size: int, key: str) -> np.ndarray:
        """Offsets of every line (its start; the last is the file's end), newlines found a
        block at a time; sets `_keep` (non-blank rows) when the file has blank lines."""
        import numpy as np

        view = np.frombuffer(self._map, dtype=np.uint8)  # type: ignore[arg-type]
        ends = []
        for a in range(0, size, BLOCK_BYTES):
            ends.append(np.flatnonzero(view[a : a + BLOCK_BYTES] == 10) + (a + 1))
            self.release()
        end = np.concatenate(ends).astype(np.int64)
        if not len(end) or end[-1] != size:
            end = np.append(end, size)
        offsets = np.concatenate([np.zeros(1, dtype=np.int64), end])
        first = np.empty(len(end), dtype=np.uint8)
        a = 0
        while a < len(end):  # the first byte of every line, a block of the file at a time
            b = int(max(a + 1, np.searchsorted(offsets, offsets[a] + BLOCK_BYTES) - 1))
            first[a:b] = view[offsets[a:b]]
            self.release()
            a = b
        del view
        # lengths as if the last line had its newline (as the rows written will have)
        lengths = np.diff(offsets)
        if self._map[size - 1] != 10:
            lengths[-1] += 1
        blank = (lengths == 1) | ((lengths == 2) & (first == 13))
        bad = np.flatnonzero(~blank & (first != ord("{")))
        if len(bad):
            b = int(offsets[bad[0]])
            text = self._map[b : b + 60].decode("utf-8", "replace")
            raise ValueError(
                f"{key}: {str(self.path)}:{int(bad[0]) + 1}: expected a JSON object per "
                f"line, got {text!r}"
            )
        self._keep = np.flatnonzero(~blank) if blank.any() else None
        return offsets

    # ------------------------------------------------------------------------- reading

    def __len__(self) -> int:
        return self._n

    def release(self) -> None:
        """Drop the map's pages from this process (the page cache keeps them)."""
        if self._map is not None and _DONTNEED is not None:
            self._map.madvise(_DONTNEED)

    def rows(self, indices: Any) -> pa.Array:
        """Rows `indices` (their bytes, each ending in a newline) as one large_string array:
        taken from the map (a file of at most MAPPED_BYTES), or read with one `pread` per run
        of adjacent rows (a larger file: mapping rows scattered over it would map far more
        than the rows, since the kernel maps whole folios and their neighbours per fault)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        idx = np.asarray(indices, dtype=np.int64)
        if self._keep is not None:
            idx = self._keep[idx]
        taken = self._read(idx) if self._big() else self._all.take(pa.array(idx))
        last = len(self._all) - 1
        if not self.newline_at_end and len(idx) and (idx == last).any():
            nl, empty = pa.scalar("\n", pa.large_string()), pa.scalar("", pa.large_string())
            tail = pc.if_else(pa.array(idx == last), nl, empty)
            taken = pc.binary_join_element_wise(taken, tail, empty)
        return taken

    def _big(self) -> bool:
        return self._map is not None and len(self._map) > MAPPED_BYTES

    def _read(self, idx: np.ndarray) -> pa.Array:
        """Rows `idx` of the file read in file order (adjacent rows in one read), then put
        back in the order asked for."""
        import os

        import numpy as np
        import pyarrow as pa

        order = np.argsort(idx, kind="stable")
        rows = idx[order]
        starts, ends = self._offsets[rows], self._offsets[rows + 1]
        cut = np.flatnonzero(rows[1:] != rows[:-1] + 1) + 1
        lo, hi = np.r_[0, cut], np.r_[cut, len(rows)]
        with open(self.path, "rb") as fh:
            fd = fh.fileno()
            data = b"".join(
                os.pread(fd, int(e - s), int(s))
                for s, e in zip(starts[lo].tolist(), ends[hi - 1].tolist())
            )
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=offsets[1:])
        if len(data) != offsets[-1]:
            raise ValueError(f"dataset_path: {str(self.path)!r} changed while being read")
        in_file_order = pa.LargeStringArray.from_buffers(
            len(rows), pa.py_buffer(offsets), pa.py_buffer(data)
        )
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return in_file_order.take(pa.array(back))

    def head(self, min_rows: int, min_bytes: int) -> pa.Array:
        """The first rows: at least `min_rows`, and through the one at `min_bytes`."""
        import numpy as np

        lengths = np.diff(self._offsets)
        if self._keep is not None:
            lengths = lengths[self._keep]
        within = int(np.searchsorted(np.cumsum(lengths), min_bytes)) + 1
        return self.rows(np.arange(min(len(self), max(min_rows, within))))

    def chunks(self, indices: Any) -> Iterator[pa.Array]:
        """`rows(indices)` about GATHER_BYTES at a time; a mapped file stays mapped until the
        end (no page faulted twice)."""
        import numpy as np

        idx = np.asarray(indices, dtype=np.int64)
        per = max(1, int(GATHER_BYTES * len(self._all) // max(1, int(self._offsets[-1]))))
        try:
            for a in range(0, len(idx), per):
                yield self.rows(idx[a : a + per])
                _release_arrow_memory()
        finally:
            self.release()
            _release_arrow_memory()

    def blocks(self) -> Iterator[pa.Array]:
        """Every row in file order, about BLOCK_BYTES at a time (zero-copy where it can)."""
        import numpy as np

        simple = self._keep is None and self.newline_at_end
        per = max(1, int(BLOCK_BYTES * len(self._all) // max(1, int(self._offsets[-1]))))
        for a in range(0, len(self), per):
            b = min(len(self), a + per)
            yield self._all.slice(a, b - a) if simple else self.rows(np.arange(a, b))
            self.release()


def write_rows(lines: LineFile, indices: Any, path: str | Path) -> Path:
    """Rows `indices` of `lines` to `path` atomically, a bounded chunk at a time."""
    with atomic_open([path], "wb") as (fh,):
        for chunk in lines.chunks(indices):
            write_chunk(fh, chunk)
    return Path(path)


def write_chunk(fh: Any, chunk: pa.Array) -> None:
    """The bytes of a (large_)string array's values, back to back, in one write."""
    import numpy as np
    import pyarrow as pa

    if len(chunk) == 0:
        return
    if chunk.null_count:
        raise ValueError("internal: a JSON line is null")
    large = pa.types.is_large_string(chunk.type)
    offs = np.frombuffer(
        chunk.buffers()[1],
        dtype=np.int64 if large else np.int32,
        count=chunk.offset + len(chunk) + 1,
    )[chunk.offset :]
    fh.write(memoryview(chunk.buffers()[2])[int(offs[0]) : int(offs[-1])])
