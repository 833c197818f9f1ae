"""How many CPU threads torch may use while a captioner trains or generates.

The tiny captioner's matrices are too small to gain from intra-op threads, and on a busy
machine (other jobs, sweep workers) torch's spinning OpenMP threads make every step over ten
times slower (measured: 20 steps 1.6 s with one thread, 21 s with two while another process
kept one core busy). So tiny models run single-threaded by default (`cpu_threads: 1`), and the
previous setting is restored afterwards.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Limit torch to `n` intra-op threads inside the block (None: leave as is)."""
    import torch

    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_threads(cfg_value: int | None, size: str) -> int | None:
    """The user's `cpu_threads`, else 1 for the tiny model, else torch's default."""
    if cfg_value is not None:
        return int(cfg_value)
    return 1 if size == "tiny" else None
