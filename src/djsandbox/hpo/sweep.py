"""Hydra-side helpers for Optuna sweeps (used by `conf/hpo/optuna.yaml`).

`SweepFolder` is a Hydra callback. The sweeper opens its study (by default a sqlite file in the
sweep folder) before the launcher creates that folder, and sqlite cannot create folders; the
callback runs first and creates it. It also resolves the trial subfolder once in the master
config: Hydra copies the master's resolver cache into every trial's config, so all trials of
one invocation share its `${now:...}` and a resumed sweep writes into a new, sibling folder
instead of colliding with the earlier trials' folders (Hydra restarts `job.num` at 0).

`tag_trial` is a `custom_search_space` hook: the sweeper calls it once per trial, in launch
order, so it can record on the Optuna trial which run folder holds it (user attribute
`run_dir`): reports and people can go from a trial in the study to its run. It also hands the
trial to the sweep's `StudyKeeper` (study_storage.py), whose heartbeats let any later or
concurrent sweep re-queue the trials of a sweep killed with `kill -9`.
"""

from __future__ import annotations

import copy
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

from ..errors import EXIT_CONFIG, EXIT_RESOURCES, ConfigError, ResourceError
from ..redact import redact_text
from .study_storage import StudyKeeper, check_storage, mask_in_logs, open_rdb_storage

log = logging.getLogger("djsandbox")

_launched = [0]  # trials tagged in this process (Hydra's job.num runs the same way)
_keeper: list[StudyKeeper | None] = [None]  # this process's sweep's heartbeats


def _storage_summary(storage: Any, study_name: Any) -> str:
    """How many trials the stored study already holds (a resume shows it), or ''."""
    if not isinstance(storage, str) or not study_name:
        return ""
    try:
        import optuna

        for summary in optuna.study.get_all_study_summaries(storage):
            if summary.study_name == study_name:
                return (
                    f"; the stored study already holds {summary.n_trials} trial(s): continuing it"
                )
    except Exception as exc:  # a report, never a reason to stop the sweep
        return f"; (could not read the study: {redact_text(str(exc))})"
    return "; new study"


def _pin_subdir_timestamp(config: DictConfig) -> None:
    """Resolve the trial subfolder once in the master config so its `${now:...}` is cached
    there (job.num is only set per job, so it is set to 0 for this and restored)."""
    job = config.hydra.job
    with read_write(job), open_dict(job):
        saved = job._get_node("num")._value()  # "???" in the master
        job.num = 0
        try:
            str(config.hydra.sweep.subdir)
        except Exception as exc:  # noqa: BLE001 - the timestamp then varies per trial
            log.debug("could not resolve hydra.sweep.subdir in the master config: %s", exc)
        finally:
            job.num = saved


def _open_storage(storage: str, study_name: Any, heartbeat: tuple) -> StudyKeeper | None:
    """Open the study storage before the sweeper does (creating Optuna's tables once) and,
    with a heartbeat interval and a study name, start the keeper that re-queues lost trials."""
    interval, grace, retries = heartbeat
    try:
        if not (study_name and interval):
            open_rdb_storage(storage).remove_session()
            return None
        keeper = StudyKeeper(storage, str(study_name), interval, grace, retries)
        keeper.requeue_stale()  # before the sweeper asks its first trial
    except Exception as exc:
        raise ResourceError(
            f"cannot open the study storage {redact_text(storage)}: "
            f"{redact_text(str(exc)).splitlines()[0]}"
        ) from None
    keeper.start()
    return keeper


class SweepFolder(Callback):
    """Create the sweep folder and pin the trial folders' timestamp before the sweep starts;
    keep the study's trials alive with heartbeats (every `heartbeat_interval` seconds; a trial
    without one for `grace_period` seconds, default twice that, is re-queued up to `max_retry`
    times; `heartbeat_interval: null` turns this off)."""

    def __init__(
        self,
        heartbeat_interval: int | None = 60,
        grace_period: int | None = None,
        max_retry: int | None = 3,
    ) -> None:
        self.heartbeat = (heartbeat_interval, grace_period, max_retry)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Hydra turns a callback's exception into a warning and sweeps on, so a storage that
        must not or cannot be used stops the process here, with one message."""
        try:
            self._start(config)
        except ConfigError as exc:  # ResourceError: the database cannot be reached or opened
            print(f"djsandbox: error: {redact_text(str(exc))}", file=sys.stderr, flush=True)
            sys.exit(EXIT_RESOURCES if isinstance(exc, ResourceError) else EXIT_CONFIG)

    def _start(self, config: DictConfig) -> None:
        sweeper = config.hydra.get("sweeper") or {}
        storage, study_name = sweeper.get("storage"), sweeper.get("study_name")
        raw = config.hydra.sweeper._get_node("storage")._value() if sweeper else None
        check_storage(raw, storage)
        if isinstance(storage, str):
            mask_in_logs(storage)
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        _pin_subdir_timestamp(config)
        _launched[0] = 0
        if isinstance(storage, str):
            _keeper[0] = _open_storage(storage, study_name, self.heartbeat)
        log.info(
            "sweep folder %s; study %s in %s%s",
            sweep_dir,
            study_name,
            redact_text(str(storage)),
            _storage_summary(storage, study_name),
        )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Score the best trial on the test set once (`final_test`), then write the sweep
        report (best trial, test score, history, importances, all trials)."""
        from omegaconf import OmegaConf

        if _keeper[0] is not None:
            _keeper[0].stop()
            _keeper[0] = None
        final_test = config.get("final_test")
        if OmegaConf.is_config(final_test):
            final_test = OmegaConf.to_container(final_test, resolve=True)
        write_sweep_report_for(
            config.hydra.get("sweeper") or {},
            config.get("optimized_metric"),
            Path(str(config.hydra.sweep.dir)) / "report",
            final_test=final_test,
            plugins=list(config.get("plugins") or []),
        )


def _final_test(study: Any, spec: Any, plugins: list[str], sweep_dir: Path) -> None:
    """Score the best trial on the test set (hpo/final_test.py); a failure is reported in
    the log and the report, never raised: the sweep itself has finished."""
    from ..final_test_spec import parse_final_test
    from .final_test import score_final_test

    try:
        parsed = parse_final_test(spec)
        if parsed is None:
            return
        from ..app import load_plugins

        load_plugins(plugins)  # a user evaluator is registered by the trials' plugins
        for row in score_final_test(study, parsed, sweep_dir):
            log.info("final test of trial %s (scored once): %s", row["trial"], row["metrics"])
    except Exception as exc:  # noqa: BLE001 - the report still gets written
        log.warning("could not score the best trial on the test set: %s", exc)
        study.set_user_attr("final_test_error", f"{type(exc).__name__}: {exc}")


def write_sweep_report_for(
    sweeper: Any,
    metric: Any,
    out_dir: Path,
    final_test: Any = None,
    plugins: list[str] | None = None,
) -> Path | None:
    """Open the stored study, name its objectives after `optimized_metric`, score the best
    trial on the test set once when `final_test` says how, report it."""
    storage, study_name = sweeper.get("storage"), sweeper.get("study_name")
    if not isinstance(storage, str) or not study_name:
        log.warning("no persistent study (storage and study_name): no sweep report written")
        return None
    try:
        from ..reporting.sweep_report import load_study, write_sweep_report

        study = load_study(storage, str(study_name))
        from omegaconf import OmegaConf

        if OmegaConf.is_config(metric):
            metric = OmegaConf.to_container(metric, resolve=True)
        names = metric if isinstance(metric, list) else [metric]
        if metric is not None:
            study.set_user_attr("metric_names", [str(n) for n in names])
        _final_test(study, final_test, plugins or [], out_dir.parent)
        path = write_sweep_report(study, out_dir)
        log.info("sweep report: %s", path)
        return path
    except Exception as exc:  # noqa: BLE001 - a report never fails a finished sweep
        log.warning("could not write the sweep report: %s", exc)
        return None


def tag_trial(config: DictConfig, trial: Any) -> None:
    """Record the Hydra job number and run folder of this trial as Optuna user attributes."""
    num = _launched[0]
    _launched[0] += 1
    if _keeper[0] is not None:
        _keeper[0].add(trial._trial_id)
    trial.set_user_attr("hydra_job_num", num)
    try:
        job_cfg = copy.deepcopy(config)  # keeps the resolver cache, so the same timestamp
        with read_write(job_cfg), open_dict(job_cfg):
            job_cfg.hydra.job.num = num
        trial.set_user_attr(
            "run_dir", str(Path(str(job_cfg.hydra.sweep.dir)) / str(job_cfg.hydra.sweep.subdir))
        )
    except Exception as exc:  # noqa: BLE001 - bookkeeping only
        log.debug("could not resolve the run folder of trial %d: %s", trial.number, exc)
