"""The csv tracker (`tracker: csv`): every job's numeric results in files of the run folder."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from .base import JobRecord, Tracker
from .payload import job_payload


class CsvTracker(Tracker):
    """`metrics.csv` (long form: one row per number) and `metrics.jsonl` (one record per job,
    with its stats tables) in the run folder, appended after every job so a crash keeps them."""

    COLUMNS = ("iteration", "pipeline", "job", "hook", "stage", "key", "value", "elapsed")
    DEFAULTS = {"filename": "metrics.csv"}

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.csv_path: Path | None = None
        self.jsonl_path: Path | None = None

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        self.csv_path = Path(work_dir) / str(self.settings["filename"])
        self.jsonl_path = self.csv_path.with_suffix(".jsonl")
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        if not self.csv_path.exists():  # a resumed run appends to what it has
            with self.csv_path.open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerow(self.COLUMNS)

    def job_finished(self, record: JobRecord) -> None:
        assert self.csv_path is not None and self.jsonl_path is not None
        scalars, tables = job_payload(record)
        with self.csv_path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for key, value in scalars.items():
                writer.writerow(
                    [
                        record.iteration,
                        record.pipeline,
                        record.name,
                        record.hook,
                        record.stage,
                        key,
                        value,
                        round(record.elapsed, 3),
                    ]
                )
        entry = {
            "iteration": record.iteration,
            "pipeline": record.pipeline,
            "job": record.name,
            "hook": record.hook,
            "stage": record.stage,
            "elapsed": record.elapsed,
            "metrics": {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in scalars.items()
            },
            "tables": tables,
        }
        with self.jsonl_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")
