"""A sweep's study storage: sqlite by default, a shared PostgreSQL database for several sweeps.

Optuna's RDB storage already makes concurrent sweeps safe (a new trial locks its study row, a
queued trial is claimed with `SELECT ... FOR UPDATE`). What it does not do for the Hydra
sweeper is notice a sweep killed with `kill -9`: the sweeper asks trials and tells results
itself, so Optuna's heartbeat thread (started only inside `study.optimize`) never runs and its
trials stay RUNNING forever. `StudyKeeper` adds that: while a sweep runs it records a heartbeat
for each trial it launched, and fails every trial of the study whose heartbeat stopped more than
`grace_period` seconds ago, queueing it again with the same parameters
(`RetryFailedTrialCallback`), so the next trial this or any other sweep asks for runs it.

A storage URL may carry a password. Hydra saves its config and the command line's overrides in
clear (`.hydra/hydra.yaml`, `multirun.yaml`), so a password written there is refused: give it in
`PGPASSWORD` (libpq reads it) or put the whole URL in `DJSANDBOX_STUDY_STORAGE`, which the
`hpo/optuna` config reads through `${oc.env:...}` and Hydra saves as that interpolation.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from typing import Any, Iterator

from ..errors import ConfigError
from ..redact import SecretLogFilter, redact_text, remember_secrets

log = logging.getLogger("djsandbox")

STORAGE_ENV = "DJSANDBOX_STUDY_STORAGE"
_DRIVERS = {"postgresql": ("psycopg2", "psycopg2-binary"), "mysql": ("pymysql", "PyMySQL")}


def url_password(url: str) -> str | None:
    """The password inside a database URL (`scheme://user:password@host/db`), or None."""
    try:
        from sqlalchemy.engine.url import make_url

        return make_url(url).password
    except Exception:  # not a URL SQLAlchemy reads: optuna reports it when it opens it
        return None


def check_storage(raw: Any, url: Any) -> None:
    """Refuse a password written into the config or the command line (Hydra would save it in
    clear), and a database whose driver is not installed; `raw` is the unresolved value."""
    if not isinstance(url, str):
        return
    literal = not (isinstance(raw, str) and "${" in raw)
    if literal and url_password(url):
        raise ConfigError(
            f"hydra.sweeper.storage: {redact_text(url)} carries a password, which Hydra would "
            f"save in clear in .hydra/hydra.yaml and multirun.yaml; leave it out of the URL and "
            f"set PGPASSWORD, or put the whole URL in the environment variable {STORAGE_ENV}"
        )
    scheme = url.split(":", 1)[0].split("+", 1)
    driver = _DRIVERS.get(scheme[0])
    if driver and len(scheme) == 1:
        import importlib.util

        if importlib.util.find_spec(driver[0]) is None:
            raise ConfigError(
                f"hydra.sweeper.storage: {redact_text(url)} needs the Python driver "
                f"{driver[0]}, which is not installed: pip install {driver[1]}"
            )


def mask_in_logs(url: str) -> None:
    """Mask the URL's password in every log line from now on (the Optuna sweeper logs its
    storage URL as it is): remember it and filter every handler already attached."""
    password = url_password(url)
    if password:
        remember_secrets([password])
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, SecretLogFilter) for f in handler.filters):
                handler.addFilter(SecretLogFilter([password] if password else []))


@contextlib.contextmanager
def _quiet_experimental() -> Iterator[None]:
    """Optuna 2.10 flags the retry callback (and the calls it makes) experimental on every use;
    the sweeper pins that version, so the warning says nothing to a user."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


_SCHEMA_RACE = ("already exists", "duplicate key value")
_RETRY_PAUSE_S = 0.2


def open_rdb_storage(url: str, attempts: int = 5, **options: Any) -> Any:
    """Optuna's RDB storage for `url`. Two sweeps started together on an empty database both
    create Optuna's tables, and PostgreSQL refuses the slower one's CREATE TABLE (a duplicate
    `pg_type` row) instead of waiting; the tables exist by then, so opening again succeeds."""
    import time

    import optuna
    from sqlalchemy.exc import DBAPIError

    for attempt in range(1, attempts + 1):
        try:
            return optuna.storages.RDBStorage(url, **options)
        except DBAPIError as exc:
            if attempt == attempts or not any(m in str(exc) for m in _SCHEMA_RACE):
                raise
            log.debug("study storage: the tables were being created by another sweep; again")
            time.sleep(_RETRY_PAUSE_S * attempt)
    raise AssertionError("unreachable")


class StudyKeeper:
    """Heartbeats for the trials this sweep launched; stale trials of the study re-queued.

    One daemon thread: every `interval` seconds it records a heartbeat for each registered
    trial still RUNNING, then fails the study's stale trials and queues them again (at most
    `max_retry` times per original trial; None: always)."""

    def __init__(
        self,
        url: str,
        study_name: str,
        interval: int,
        grace_period: int | None = None,
        max_retry: int | None = 3,
    ) -> None:
        import optuna

        with _quiet_experimental():
            retry = optuna.storages.RetryFailedTrialCallback(max_retry=max_retry)
        self.storage = open_rdb_storage(
            url, heartbeat_interval=interval, grace_period=grace_period, failed_trial_callback=retry
        )
        self.study_name, self.interval = study_name, interval
        self._trials: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def requeue_stale(self) -> list[int]:
        """Fail the study's trials whose heartbeat stopped and queue them again; the numbers
        of the trials failed. Safe against other sweeps doing the same at the same moment."""
        import optuna

        try:
            study = optuna.load_study(study_name=self.study_name, storage=self.storage)
        except KeyError:  # the sweeper has not created the study yet
            return []
        failed = []
        for trial_id in self.storage._get_stale_trial_ids(study._study_id):
            try:
                if not self.storage.set_trial_state(trial_id, optuna.trial.TrialState.FAIL):
                    continue
            except RuntimeError:  # another sweep failed it first: it re-queues it
                continue
            trial = self.storage.get_trial(trial_id)
            with _quiet_experimental():
                self.storage.get_failed_trial_callback()(study, trial)
            failed.append(trial.number)
            log.warning(
                "study %s: trial %d lost its sweep (no heartbeat for over %s s): marked "
                "failed and queued again with its parameters %s",
                self.study_name,
                trial.number,
                self.storage.grace_period or 2 * self.interval,
                trial.params,
            )
        return failed

    def add(self, trial_id: int) -> None:
        """Keep this trial alive (its first heartbeat is recorded now)."""
        self.storage.record_heartbeat(trial_id)
        with self._lock:
            self._trials.add(trial_id)

    def beat(self) -> None:
        """One heartbeat for every registered trial still running; finished ones are dropped."""
        with self._lock:
            trials = list(self._trials)
        for trial_id in trials:
            if self.storage.get_trial(trial_id).state.is_finished():
                with self._lock:
                    self._trials.discard(trial_id)
            else:
                self.storage.record_heartbeat(trial_id)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="djsandbox-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
                self.requeue_stale()
            except Exception as exc:  # noqa: BLE001 - a lost beat is retried next interval
                log.warning(
                    "study %s: heartbeat failed: %s", self.study_name, redact_text(str(exc))
                )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.storage.remove_session()
