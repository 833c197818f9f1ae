"""Data-Juicer's progress, read from its own log messages: ops done with rows left, and the
phases around them (loading, exporting, analysing), reported to the run's progress display.

Data-Juicer has no progress callback; each op ends with a loguru line such as
`[3/8] OP [special_characters_filter] Done in 1.675s. Left 3858 samples.` (the same line the
report reads back from the executor log).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from djsandbox.progress import report
from djsandbox.reporting.job_outputs import DJ_OP_LINE

__all__ = ["reporting_dj_progress"]

# Data-Juicer messages that start a phase worth showing -> how the display names it.
PHASES = {
    "Loading dataset": "loading the dataset",
    "Computing the stats of dataset": "computing stats",
    "Exporting dataset to disk": "exporting",
    "Applying overall analysis on stats": "analysing stats",
}


def progress_from_message(
    message: str, n_ops: int, ops_done: int = 0
) -> tuple[int, int, str, dict[str, Any]] | None:
    """(done, total, what, metrics) for a Data-Juicer log message, or None when it says none;
    a phase counts the `ops_done` so far."""
    m = DJ_OP_LINE.search(message)
    if m:
        return int(m.group(1)), int(m.group(2)), "ops", {"op": m.group(3), "rows": int(m.group(5))}
    for start, phase in PHASES.items():
        if message.startswith(start):
            return ops_done, n_ops, phase, {}
    return None


@contextlib.contextmanager
def reporting_dj_progress(n_ops: int) -> Iterator[None]:
    """While Data-Juicer runs `n_ops` ops, turn its log messages into progress reports."""
    from loguru import logger

    ops_done = 0

    def sink(message: Any) -> None:
        nonlocal ops_done
        found = progress_from_message(message.record["message"], n_ops, ops_done)
        if found is None:
            return
        done, total, what, metrics = found
        if what == "ops":  # counted here: the Analyzer runs its ops one at a time ("[1/1]")
            ops_done += 1
            done, total = ops_done, max(n_ops, ops_done, total)
        report(done, total, what, **metrics)

    report(0, n_ops, "starting Data-Juicer")
    sink_id = logger.add(sink, level="INFO", format="{message}", filter="data_juicer")
    try:
        yield
    finally:
        logger.remove(sink_id)
