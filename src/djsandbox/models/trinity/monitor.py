"""Trinity-RFT's monitor lines, read while `trinity run` writes its log, as training curves.

Trinity's console monitor logs one line per step, `Step N: {'key': value, ...}` (floats
formatted `:.6g`, so `nan`/`inf` appear bare; other values as `repr`), behind its logger's
prefix (0.6.0: `INFO 05-08 11:11:13 [monitor.py:96] `; older: `... monitor.py:96] `) and, on
stdout, Ray's `(Trainer pid=N) `. Numbers become curve points; anything else (other log
lines, a line cut short, non-numeric values) is skipped.

The values go where every other trainer's curves go: Lightning's CSV logger in the job folder
(`logs/version_0/metrics.csv`, which the report draws) and the run's tracker's loggers.
"""

from __future__ import annotations

import ast
import logging
import math
import re
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

LOG = logging.getLogger(__name__)

_LINE = re.compile(r"^(?:\(\w+ pid=\d+\)\s+)?.*?\bStep (?P<step>\d+): (?P<rec>\{.*\})\s*$")
# `:.6g` writes nan and inf bare, which are no Python literals: read them as such first
_NAN = "__djsandbox_nan__"
_BARE = re.compile(r"(?<=: )(-?)(nan|inf)(?=,|\})")


def _literal(match: re.Match[str]) -> str:
    return repr(_NAN) if match.group(2) == "nan" else f"{match.group(1)}1e999"


def parse_record(text: str) -> dict[str, float] | None:
    """The numbers of a monitor record `{'a/b': 1.5, 'c': nan, 'mode': 'x'}` as
    {key: float} (other values skipped); None when it is no complete mapping."""
    try:
        record = ast.literal_eval(_BARE.sub(_literal, text.strip()))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    out: dict[str, float] = {}
    for key, value in record.items():
        if value == _NAN:
            out[str(key)] = math.nan
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[str(key)] = float(value)
    return out


def parse_line(line: str) -> tuple[int, dict[str, float]] | None:
    """(step, metrics) of one monitor line, or None for any other line."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    record = parse_record(match.group("rec"))
    if not record:
        return None
    return int(match.group("step")), record


def parse_lines(lines: Iterable[str]) -> list[tuple[int, dict[str, float]]]:
    return [parsed for line in lines if (parsed := parse_line(line)) is not None]


class CurveSink:
    """Lightning's CSV logger in `out_dir/logs` plus the active tracker's loggers."""

    def __init__(self, out_dir: Path) -> None:
        from lightning.pytorch.loggers import CSVLogger

        from ...reporting.trackers.active import lightning_loggers

        self.loggers = [CSVLogger(save_dir=str(out_dir), name="logs"), *lightning_loggers(out_dir)]
        self.steps = 0
        self.last: dict[str, float] = {}

    def log(self, step: int, metrics: dict[str, float]) -> None:
        finite = {k: v for k, v in metrics.items() if math.isfinite(v)}
        for logger in self.loggers:
            try:
                logger.log_metrics(finite, step=step)
            except Exception as exc:  # a tracker's failure costs its curves, not the run
                LOG.warning("trinity-rft: a logger dropped step %d: %s", step, exc)
        self.steps += 1
        self.last.update(metrics)

    def close(self) -> None:
        for logger in self.loggers:
            try:
                logger.save()
                logger.finalize("success")
            except Exception as exc:
                LOG.warning("trinity-rft: closing a logger failed: %s", exc)


class LogFollower(threading.Thread):
    """Reads the lines appended to a log from `offset` while the command runs, handing each
    monitor line to `on_step`; `stop()` reads what is left and ends."""

    def __init__(
        self, path: Path, offset: int, on_step: Callable[[int, dict[str, float]], Any]
    ) -> None:
        super().__init__(daemon=True, name="trinity-monitor")
        self.path, self.offset, self.on_step = Path(path), offset, on_step
        self._done = threading.Event()
        self._partial = ""

    def _read(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
            self.offset = fh.tell()
        text = self._partial + chunk
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for its end
        for line in lines:
            parsed = parse_line(line)
            if parsed is not None:
                self.on_step(*parsed)

    def run(self) -> None:
        while not self._done.wait(0.5):
            self._read()

    def stop(self) -> None:
        self._done.set()
        self.join()
        self._read()
        if self._partial:
            parsed = parse_line(self._partial)
            self._partial = ""
            if parsed is not None:
                self.on_step(*parsed)
