"""The Weights & Biases tracker (`tracker: wandb`): one wandb run per sandbox run, offline
unless an API key is configured. wandb and lightning are imported only when a run starts."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ...redact import redact
from .active import curve_prefix
from .base import JobRecord, Tracker
from .payload import job_payload, stats_rows, summary_tables

log = logging.getLogger("djsandbox")

ITERATION_KEY = "sandbox/iteration"


def _has_wandb_key(settings: dict[str, Any]) -> bool:
    """An API key in the tracker config, the environment, or a `wandb login` netrc entry."""
    if settings.get("api_key") or os.environ.get("WANDB_API_KEY"):
        return True
    try:
        import netrc

        path = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
        if not os.path.isfile(path):
            return False
        host = (os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").split("://")[-1]
        return netrc.netrc(path).authenticators(host.split("/")[0]) is not None
    except Exception:  # an unreadable netrc is no key
        return False


def wandb_mode(settings: dict[str, Any]) -> str:
    """offline unless an API key is configured; with a key, `mode` (or WANDB_MODE) decides."""
    wanted = settings.get("mode")
    if wanted == "disabled":
        return "disabled"
    if not _has_wandb_key(settings):
        if wanted == "online":
            log.info(
                "tracker wandb: no API key configured (WANDB_API_KEY, `wandb login`): "
                "logging offline; upload later with `wandb sync`"
            )
        return "offline"
    return wanted or os.environ.get("WANDB_MODE") or "online"


def _sweep_group() -> str | None:
    """The sweep folder's name when this run is a trial of a Hydra multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized():
            return None
        hc = HydraConfig.get()
        if hc.mode != RunMode.MULTIRUN:
            return None
        return Path(str(hc.sweep.dir)).name or None
    except Exception:  # no Hydra (reference front end, tests)
        return None


def _job_num() -> str | None:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
            return str(HydraConfig.get().job.num)
    except Exception:
        pass
    return None


class WandbTracker(Tracker):
    """One wandb run per sandbox run: config at start, job results as history rows (with the
    iteration in `sandbox/iteration`), stats tables and the run summary as wandb.Tables, and
    the training curves of the text classifier through a WandbLogger on this same run."""

    DEFAULTS = {
        "mode": None,
        "project": None,
        "name": None,
        "group": None,
        "entity": None,
        "tags": [],
        "notes": None,
        "job_type": None,
        "dir": None,
        "api_key": None,
        "log_config": True,
        "lightning": True,
        "console": "off",
        "system_metrics": False,
        "init_timeout": 90,
    }
    CHOICES = {
        "mode": (None, "offline", "online", "disabled", "shared"),
        "console": ("off", "auto", "wrap", "redirect", "wrap_raw", "wrap_emu"),
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.run: Any = None
        self.work_dir: Path | None = None

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        import wandb

        self.work_dir = Path(work_dir)
        s = self.settings
        mode = wandb_mode(s)
        run_dir = self.work_dir / str(s.get("dir") or ".")
        run_dir.mkdir(parents=True, exist_ok=True)
        name = s.get("name") or cfg.get("experiment_name") or "run"
        num = _job_num()
        if num is not None and not s.get("name"):
            name = f"{name}-{num}"  # trials of a sweep stay apart in the group
        extra: dict[str, Any] = {}
        if s.get("api_key"):
            extra["api_key"] = str(s["api_key"])
        settings = wandb.Settings(
            console=str(s["console"]),
            silent=True,
            x_disable_stats=not s["system_metrics"],
            init_timeout=float(s["init_timeout"]),
            **extra,
        )
        self.run = wandb.init(
            project=s.get("project") or cfg.get("project_name") or "djsandbox",
            entity=s.get("entity"),
            name=name,
            group=s.get("group") or _sweep_group(),
            job_type=s.get("job_type"),
            tags=list(s.get("tags") or []) or None,
            notes=s.get("notes"),
            dir=str(run_dir),
            mode=mode,
            config=redact(cfg) if s["log_config"] else None,
            settings=settings,
        )
        log.info(
            "tracker wandb: %s run %s in %s", mode, self.run.id, getattr(self.run, "dir", run_dir)
        )

    def job_finished(self, record: JobRecord) -> None:
        import wandb

        scalars, tables = job_payload(record)
        row: dict[str, Any] = {ITERATION_KEY: record.iteration, **scalars}
        row[f"{record.pipeline}/{record.name}/elapsed_s"] = record.elapsed
        for key, stats in tables.items():
            columns, rows = stats_rows(stats)
            row[key] = wandb.Table(columns=columns, data=rows)
        self.run.log(row)

    def run_finished(self, status: str, summary: dict[str, Any] | None = None) -> None:
        if self.run is None:
            return
        import wandb

        tables = {
            key: wandb.Table(columns=columns, data=rows)
            for key, (columns, rows) in summary_tables(summary).items()
        }
        if tables:
            self.run.log(tables)
        self.run.summary["sandbox/status"] = status
        run, self.run = self.run, None
        run.finish(exit_code=0 if status == "done" else 1)

    def lightning_loggers(self, save_dir: Path) -> list[Any]:
        if not self.settings["lightning"] or self.run is None:
            return []
        return [_sandbox_wandb_logger(self.run, curve_prefix(self.work_dir, save_dir))]

    def abort(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            try:
                run.finish(exit_code=1, quiet=True)
            except Exception:
                pass


def _sandbox_wandb_logger(run: Any, prefix: str) -> Any:
    """A WandbLogger on the tracker's own run, its metrics under `prefix/` against their own
    step (`prefix/global_step`), so several trainings in one sandbox run do not mix."""
    from lightning.pytorch.loggers import WandbLogger
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    class SandboxWandbLogger(WandbLogger):
        """Keeps curves of each training apart inside the shared run; hparams redacted."""

        LOGGER_JOIN_CHAR = "/"

        @rank_zero_only
        def log_hyperparams(self, params: Any) -> None:
            from lightning.fabric.utilities.logger import (
                _convert_json_serializable,
                _convert_params,
                _sanitize_callable_params,
            )

            params = _convert_json_serializable(_sanitize_callable_params(_convert_params(params)))
            self.experiment.config.update(
                {f"{prefix}/hparams": redact(params)}, allow_val_change=True
            )

        @rank_zero_only
        def log_metrics(self, metrics: Any, step: int | None = None) -> None:
            row = {f"{prefix}/{k}": v for k, v in metrics.items()}
            if step is not None:
                row[f"{prefix}/global_step"] = step
            self.experiment.log(row)

    run.define_metric(f"{prefix}/global_step", hidden=True)
    run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/global_step")
    return SandboxWandbLogger(experiment=run, prefix=prefix)
