"""The TensorBoard tracker (`tracker: tensorboard`): event files in the run folder, training
curves through Lightning's TensorBoardLogger (torch and lightning are imported lazily)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...redact import redact
from .active import curve_prefix
from .base import JobRecord, Tracker
from .payload import job_payload, stats_rows, summary_tables


class TensorBoardTracker(Tracker):
    """Job results as scalars (step = iteration), stats and summary tables as text, the
    config as text; training curves through Lightning's TensorBoardLogger in the same folder,
    so `tensorboard --logdir <run>/tensorboard` shows everything."""

    DEFAULTS = {"dir": "tensorboard", "lightning": True, "log_config": True, "flush_secs": 10}

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.writer: Any = None
        self.work_dir: Path | None = None
        self.log_dir: Path | None = None

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.work_dir = Path(work_dir)
        self.log_dir = self.work_dir / str(self.settings.get("dir") or "tensorboard")
        self.writer = SummaryWriter(
            log_dir=str(self.log_dir / "sandbox"), flush_secs=int(self.settings["flush_secs"])
        )
        if self.settings["log_config"]:
            text = json.dumps(redact(cfg), indent=1, default=str)
            self.writer.add_text("config", "```\n" + text + "\n```", 0)

    def job_finished(self, record: JobRecord) -> None:
        scalars, tables = job_payload(record)
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, global_step=record.iteration)
        for key, stats in tables.items():
            self.writer.add_text(key, _markdown(*stats_rows(stats)), record.iteration)
        self.writer.flush()

    def run_finished(self, status: str, summary: dict[str, Any] | None = None) -> None:
        if self.writer is None:
            return
        for key, (columns, rows) in summary_tables(summary).items():
            self.writer.add_text(key, _markdown(columns, rows), 0)
        self.writer.add_text("status", status, 0)
        self.writer.close()
        self.writer = None

    def lightning_loggers(self, save_dir: Path) -> list[Any]:
        if not self.settings["lightning"] or self.log_dir is None:
            return []
        from lightning.pytorch.loggers import TensorBoardLogger

        return [
            TensorBoardLogger(
                save_dir=str(self.log_dir),
                name=curve_prefix(self.work_dir, save_dir),
                version="",
                default_hp_metric=False,
            )
        ]

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _markdown(columns: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows])
