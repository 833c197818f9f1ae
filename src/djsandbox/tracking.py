"""Experiment tracking: the runner reports every finished job and the end of the run here.

`make_tracker(cfg)` builds the tracker named by the `tracker` config group (`type`: none,
wandb, tensorboard, csv, or one registered with `register_tracker`); the runner calls
`job_finished` after each job and `run_finished` at the end. A misconfigured tracker (unknown
type or key, bad value) is a ConfigError before anything runs; a tracker that fails while the
run is going (wandb cannot start, a disk is full) is logged as a warning and switched off,
because losing the tracking must never lose the run. Every payload goes through
`redact.redact`, so secrets never reach a tracker.

Training code asks `lightning_loggers(save_dir)` for extra Lightning loggers of the active
tracker, so its curves land in the same run (wandb) or log folder (tensorboard).

Nothing heavy (wandb, torch) is imported until a tracker starts, so `--cfg`/`--help` stay fast.
"""

from __future__ import annotations

import csv
import difflib
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError
from .redact import SecretLogFilter, redact, secret_values

log = logging.getLogger("djsandbox")

ITERATION_KEY = "sandbox/iteration"
CURVES_PREFIX = "curves"
STAT_COLUMNS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")
_JOB_FOLDER = re.compile(r"^(?:probe|refine_recipe|execution|evaluation)_\d+_")


@dataclass
class JobRecord:
    """What the runner knows about a finished job."""

    iteration: int
    pipeline: str
    name: str  # meta_name (or positional name)
    hook: str
    stage: str
    results: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    job_dir: Path | None = None


class Tracker:
    """The no-op tracker (`tracker: none`), and the interface every tracker implements."""

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        """Called once before the first job; `cfg` is the plain run config."""

    def job_finished(self, record: JobRecord) -> None:
        """Called after each finished job (not for jobs skipped on resume)."""

    def run_finished(self, status: str, summary: dict[str, Any] | None = None) -> None:
        """Called once at the end: status is 'done' or 'failed'; summary from summary.py."""

    def lightning_loggers(self, save_dir: Path) -> list[Any]:
        """Extra Lightning loggers for a training that writes into `save_dir` (a job folder)."""
        return []

    def abort(self) -> None:
        """Release what the tracker holds after it failed; must not raise."""


# -- registry and config ----------------------------------------------------------------------

@dataclass(frozen=True)
class TrackerType:
    """A tracker type: its factory, its keys with their defaults, and allowed values."""

    factory: Callable[[dict[str, Any]], Tracker]
    defaults: dict[str, Any]
    choices: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    doc: str = ""


TRACKER_TYPES: dict[str, TrackerType] = {}


def register_tracker(name: str, factory: Callable[[dict[str, Any]], Tracker],
                     defaults: dict[str, Any] | None = None,
                     choices: dict[str, tuple[Any, ...]] | None = None, doc: str = "") -> None:
    """Make `tracker: {type: name, ...}` build `factory(settings)`; `defaults` lists the
    accepted keys (besides `type`), so a typo in a key is an error, not silently ignored."""
    TRACKER_TYPES[name] = TrackerType(factory, dict(defaults or {}), dict(choices or {}), doc)


def tracker_settings(cfg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(type, settings with defaults filled in) of `cfg['tracker']`; ConfigError if invalid."""
    spec = cfg.get("tracker")
    if spec is None:
        spec = {}
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"tracker: expected a mapping like {{type: wandb}} or a type name, "
                          f"got {spec!r}")
    kind = spec.get("type") or "none"
    if kind not in TRACKER_TYPES:
        close = difflib.get_close_matches(str(kind), list(TRACKER_TYPES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"tracker.type: unknown tracker {kind!r}{hint}; valid: "
                          f"{', '.join(sorted(TRACKER_TYPES))}")
    ttype = TRACKER_TYPES[kind]
    unknown = [k for k in spec if k != "type" and k not in ttype.defaults]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), list(ttype.defaults), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        valid = ", ".join(["type", *ttype.defaults])
        raise ConfigError(f"tracker ({kind}): unknown key(s) {', '.join(hints)}; valid: {valid}")
    settings = {**ttype.defaults, **{k: v for k, v in spec.items() if k != "type"}}
    for key, allowed in ttype.choices.items():
        if settings.get(key) not in allowed:
            raise ConfigError(f"tracker.{key}: {settings.get(key)!r} is not one of "
                              f"{', '.join(repr(a) for a in allowed)}")
    return kind, settings


def make_tracker(cfg: dict[str, Any]) -> Tracker:
    """The tracker configured under `tracker` (absent or type none: no tracking), guarded so
    that its failures are warnings; raises ConfigError for a misconfigured tracker."""
    kind, settings = tracker_settings(cfg)
    try:
        inner = TRACKER_TYPES[kind].factory(settings)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"tracker ({kind}): {type(exc).__name__}: {exc}") from None
    return GuardedTracker(kind, inner)


# -- the active tracker, for training code ------------------------------------------------------

_ACTIVE: Tracker | None = None


def active_tracker() -> Tracker | None:
    """The tracker of the run in progress in this process (None outside a run)."""
    return _ACTIVE


def lightning_loggers(save_dir: Path) -> list[Any]:
    """Extra Lightning loggers for the active tracker (none outside a run or without one).

    Training code adds these next to its own loggers so that its curves reach the tracker.
    Never raises: a tracker that cannot make its loggers only costs the curves.
    """
    tracker = _ACTIVE
    if tracker is None:
        return []
    try:
        return list(tracker.lightning_loggers(Path(save_dir)))
    except Exception as exc:
        log.warning("tracker: cannot attach Lightning loggers (%s: %s); training curves will "
                    "not be tracked", type(exc).__name__, exc)
        return []


def curve_prefix(work_dir: Path | None, save_dir: Path) -> str:
    """`curves/<pipeline>/<meta_name>[/<sub>]` for a training writing into `save_dir` (a job
    folder `<work_dir>/iter_<i>/<pipeline>/<stage>_<index>_<name>[/<sub>]`); iterations after
    the first get an `iter_<i>/` part so curves of different iterations stay apart."""
    parts: list[str] = []
    if work_dir is not None:
        try:
            parts = list(Path(save_dir).resolve().relative_to(Path(work_dir).resolve()).parts)
        except ValueError:
            parts = []
    if len(parts) >= 3 and parts[0].startswith("iter_"):
        name = _JOB_FOLDER.sub("", parts[2])
        head = [] if parts[0] == "iter_0" else [parts[0]]
        parts = head + [parts[1], name, *parts[3:]]
    elif not parts:
        parts = [Path(save_dir).name or "train"]
    return "/".join([CURVES_PREFIX, *parts])


# -- what a job's results look like to a tracker ------------------------------------------------

def _is_stats(value: Any) -> bool:
    """An analysis stats mapping: {stat: {mean, std, ...}} (ProbeViaAnalyzerHook's `stats`)."""
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(v, dict) and ("mean" in v or "count" in v) for v in value.values()))


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _flatten(prefix: str, value: Any, out: dict[str, float | int],
             tables: dict[str, dict[str, dict[str, Any]]]) -> None:
    number = _number(value)
    if number is not None:
        out[prefix] = number
    elif isinstance(value, dict):
        if "stats" in value and _is_stats(value["stats"]):
            tables[f"{prefix}.stats"] = value["stats"]
        for key, sub in value.items():
            if key == "stats" and _is_stats(sub):
                continue  # logged as a table, not as hundreds of scalars
            _flatten(f"{prefix}.{key}", sub, out, tables)
    elif isinstance(value, (list, tuple)):
        for i, sub in enumerate(value):
            _flatten(f"{prefix}[{i}]", sub, out, tables)


def job_payload(record: JobRecord) -> tuple[dict[str, float | int],
                                            dict[str, dict[str, dict[str, Any]]]]:
    """(numeric results as `<pipeline>/<meta_name>/<result.key>` -> number, stats tables as
    `<pipeline>/<meta_name>/<result>.stats` -> {stat: {mean, std, ...}}), secrets redacted."""
    scalars: dict[str, float | int] = {}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    base = f"{record.pipeline}/{record.name}"
    for result, value in redact(record.results).items():
        _flatten(f"{base}/{result}", value, scalars, tables)
    return scalars, tables


def stats_rows(stats: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a stats table: one row per stat, the usual describe() columns."""
    extra = sorted({k for v in stats.values() for k in v if k not in STAT_COLUMNS})
    columns = ["stat", *STAT_COLUMNS, *extra]
    rows = [[name, *[_jsonable(v.get(c)) for c in columns[1:]]] for name, v in stats.items()]
    return columns, rows


def summary_tables(summary: dict[str, Any] | None) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The run summary (summary.py: `pipelines` and `items` rows) as column/row tables."""
    tables = {}
    for name in ("pipelines", "items"):
        rows = (summary or {}).get(name) or []
        if not rows:
            continue
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        tables[f"summary/{name}"] = (columns, [[_jsonable(r.get(c)) for c in columns]
                                               for r in rows])
    return tables


def _jsonable(value: Any) -> Any:
    """Table cells: numbers and strings as they are, anything else as its string."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _markdown(columns: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows])


# -- the guard every tracker runs behind --------------------------------------------------------

class GuardedTracker(Tracker):
    """Runs a tracker so that its failures cost the tracking, never the run.

    The first exception becomes a warning and switches the tracker off for the rest of the run.
    It also makes the tracker the active one (for `lightning_loggers`) while the run goes, and
    masks the config's secret values in every log record written meanwhile.
    """

    def __init__(self, kind: str, inner: Tracker) -> None:
        self.kind = kind
        self.inner = inner
        self.failed = kind == "none"  # nothing to call for `none`
        self._filter: SecretLogFilter | None = None
        self._handlers: list[logging.Handler] = []

    def _fail(self, where: str, exc: BaseException) -> None:
        log.warning("tracker %s: %s failed (%s: %s); the run continues without tracking",
                    self.kind, where, type(exc).__name__, exc)
        self.failed = True
        global _ACTIVE
        if _ACTIVE is self.inner:
            _ACTIVE = None
        try:
            self.inner.abort()
        except Exception:  # abort is best effort by contract
            pass

    def _install_log_filter(self, cfg: dict[str, Any]) -> None:
        env_secrets = {v for k, v in os.environ.items()
                       if any(w in k.upper() for w in ("API_KEY", "TOKEN", "PASSWORD", "SECRET"))
                       and len(v) >= 6}
        self._filter = SecretLogFilter(secret_values(cfg) | env_secrets)
        self._handlers = list(logging.getLogger().handlers) + list(log.handlers)
        for handler in self._handlers:
            handler.addFilter(self._filter)

    def _remove_log_filter(self) -> None:
        for handler in self._handlers:
            handler.removeFilter(self._filter)
        self._handlers = []

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        global _ACTIVE
        self._install_log_filter(cfg)
        if self.failed:
            return
        try:
            self.inner.run_started(cfg, work_dir)
        except Exception as exc:
            self._fail("start", exc)
            return
        _ACTIVE = self.inner

    def job_finished(self, record: JobRecord) -> None:
        if self.failed:
            return
        try:
            self.inner.job_finished(record)
        except Exception as exc:
            self._fail(f"logging job {record.pipeline}/{record.name}", exc)

    def run_finished(self, status: str, summary: dict[str, Any] | None = None) -> None:
        global _ACTIVE
        try:
            if not self.failed:
                try:
                    self.inner.run_finished(status, summary)
                except Exception as exc:
                    self._fail("finish", exc)
        finally:
            if _ACTIVE is self.inner:
                _ACTIVE = None
            self._remove_log_filter()

    def lightning_loggers(self, save_dir: Path) -> list[Any]:
        return [] if self.failed else self.inner.lightning_loggers(save_dir)


# -- csv ----------------------------------------------------------------------------------------

class CsvTracker(Tracker):
    """`metrics.csv` (long form: one row per number) and `metrics.jsonl` (one record per job,
    with its stats tables) in the run folder, appended after every job so a crash keeps them."""

    COLUMNS = ("iteration", "pipeline", "job", "hook", "stage", "key", "value", "elapsed")

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
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
                writer.writerow([record.iteration, record.pipeline, record.name, record.hook,
                                 record.stage, key, value, round(record.elapsed, 3)])
        entry = {"iteration": record.iteration, "pipeline": record.pipeline, "job": record.name,
                 "hook": record.hook, "stage": record.stage, "elapsed": record.elapsed,
                 "metrics": {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                             for k, v in scalars.items()},
                 "tables": tables}
        with self.jsonl_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")


# -- tensorboard --------------------------------------------------------------------------------

class TensorBoardTracker(Tracker):
    """Job results as scalars (step = iteration), stats and summary tables as text, the
    config as text; training curves through Lightning's TensorBoardLogger in the same folder,
    so `tensorboard --logdir <run>/tensorboard` shows everything."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.writer: Any = None
        self.work_dir: Path | None = None
        self.log_dir: Path | None = None

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.work_dir = Path(work_dir)
        self.log_dir = self.work_dir / str(self.settings.get("dir") or "tensorboard")
        self.writer = SummaryWriter(log_dir=str(self.log_dir / "sandbox"),
                                    flush_secs=int(self.settings["flush_secs"]))
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

        return [TensorBoardLogger(save_dir=str(self.log_dir),
                                  name=curve_prefix(self.work_dir, save_dir), version="",
                                  default_hp_metric=False)]

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


# -- wandb --------------------------------------------------------------------------------------

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
            log.info("tracker wandb: no API key configured (WANDB_API_KEY, `wandb login`): "
                     "logging offline; upload later with `wandb sync`")
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

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
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
        settings = wandb.Settings(console=str(s["console"]), silent=True,
                                  x_disable_stats=not s["system_metrics"],
                                  init_timeout=float(s["init_timeout"]), **extra)
        self.run = wandb.init(
            project=s.get("project") or cfg.get("project_name") or "djsandbox",
            entity=s.get("entity"), name=name, group=s.get("group") or _sweep_group(),
            job_type=s.get("job_type"), tags=list(s.get("tags") or []) or None,
            notes=s.get("notes"), dir=str(run_dir), mode=mode,
            config=redact(cfg) if s["log_config"] else None, settings=settings)
        log.info("tracker wandb: %s run %s in %s", mode, self.run.id,
                 getattr(self.run, "dir", run_dir))

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

        tables = {key: wandb.Table(columns=columns, data=rows)
                  for key, (columns, rows) in summary_tables(summary).items()}
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
                _convert_params, _convert_json_serializable, _sanitize_callable_params)

            params = _convert_json_serializable(_sanitize_callable_params(_convert_params(params)))
            self.experiment.config.update({f"{prefix}/hparams": redact(params)},
                                          allow_val_change=True)

        @rank_zero_only
        def log_metrics(self, metrics: Any, step: int | None = None) -> None:
            row = {f"{prefix}/{k}": v for k, v in metrics.items()}
            if step is not None:
                row[f"{prefix}/global_step"] = step
            self.experiment.log(row)

    run.define_metric(f"{prefix}/global_step", hidden=True)
    run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/global_step")
    return SandboxWandbLogger(experiment=run, prefix=prefix)


# -- the built-in types -------------------------------------------------------------------------

register_tracker("none", lambda settings: Tracker(), doc="no tracking")
register_tracker("csv", CsvTracker, {"filename": "metrics.csv"},
                 doc="metrics.csv / metrics.jsonl of every job's numeric results")
register_tracker("tensorboard", TensorBoardTracker,
                 {"dir": "tensorboard", "lightning": True, "log_config": True, "flush_secs": 10},
                 doc="TensorBoard event files; training curves via TensorBoardLogger")
register_tracker(
    "wandb", WandbTracker,
    {"mode": None, "project": None, "name": None, "group": None, "entity": None, "tags": [],
     "notes": None, "job_type": None, "dir": None, "api_key": None, "log_config": True,
     "lightning": True, "console": "off", "system_metrics": False, "init_timeout": 90},
    choices={"mode": (None, "offline", "online", "disabled", "shared"),
             "console": ("off", "auto", "wrap", "redirect", "wrap_raw", "wrap_emu")},
    doc="Weights & Biases (offline unless an API key is configured)")
