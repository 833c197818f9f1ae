"""Shared by both front ends: logging, turning a config into run inputs, error reporting."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .errors import RunInterrupted, SandboxError, exit_status, interrupted_message
from .interrupts import resume_command

log = logging.getLogger("djsandbox")

JOB_FIELDS = (
    "pipelines",
    "probe_job_configs",
    "refine_recipe_job_configs",
    "execution_job_configs",
    "evaluation_job_configs",
)


def split_config(cfg: DictConfig) -> dict[str, Any]:
    """Global keys resolved now; pipelines and job lists kept raw for resolution at run time.
    Warns first about `vars` no config uses (unused_vars; both front ends pass here)."""
    from .unused_vars import warn_unused_vars

    warn_unused_vars(OmegaConf.to_container(cfg, resolve=False))  # type: ignore[arg-type]
    globals_node = OmegaConf.masked_copy(cfg, [k for k in cfg if k not in JOB_FIELDS])
    try:
        plain: dict[str, Any] = OmegaConf.to_container(globals_node, resolve=True)  # type: ignore
    except Exception as exc:
        raise SandboxError(f"cannot resolve the global keys: {exc}") from None
    for key in JOB_FIELDS:
        node = cfg.get(key)
        plain[key] = (
            OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node
        )
    return plain


def report_and_exit(exc: SandboxError) -> None:
    """One message, then the documented exit status (`errors.exit_status`)."""
    print(f"djsandbox: error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(exit_status(exc))


def report_interrupt(exc: BaseException, prefix: str, program: str, args: list[str]) -> None:
    """Ctrl-C: one line on stderr (then the front end exits 130): what was running, what is
    kept, the command that continues. A multirun's trials are separate runs: no command."""
    if any(a in ("-m", "--multirun") for a in args):
        line = interrupted_message(exc, None) if isinstance(exc, RunInterrupted) else "interrupted"
        line += "; the sweep's finished runs are kept in their folders"
    else:
        line = interrupted_message(exc, resume_command(program, args))
    # On a terminal a progress bar may have been cut mid-line (then "^C"): start a new one.
    start = "\n" if sys.stderr.isatty() else ""
    print(f"{start}{prefix}: {line}", file=sys.stderr, flush=True)


def run_from_hydra(cfg: DictConfig) -> float | list[float] | None:
    """Body of the Hydra main: validate, run, and return the objective (`optimized_metric`).

    A single run reports a user error as one message and exits with its status (errors.py: 1 a
    job failed, 2 a config error, 3 run folder busy); Ctrl-C propagates to the entry point
    (`report_interrupt`, exit 130), in a multirun too. A multirun trial raises
    instead (an exception, never SystemExit, which would end the whole sweep): Hydra stores it
    on the job's return and the Optuna sweeper records the trial as failed.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from .context import register_resolver

    register_resolver()  # joblib workers run this function without the entry point
    logging.getLogger("djsandbox").setLevel(logging.INFO)
    # A single run lives in a new timestamped folder: resume=true looks at its siblings. In a
    # multirun the siblings are other trials, so only an explicit folder resumes there.
    hydra_cfg = HydraConfig.get()
    single_run = hydra_cfg.mode == RunMode.RUN
    try:
        return _run_and_measure(cfg, single_run, str(hydra_cfg.sweeper.get("_target_", "")))
    except SandboxError as exc:
        if single_run:
            report_and_exit(exc)
        log.error("trial failed: %s", exc)
        raise
    except Exception as exc:
        if single_run:
            raise
        # Any other error also fails only this trial; wrapped so that the joblib worker can
        # always send it back (the full traceback is in this trial's log).
        log.exception("trial failed")
        from .hpo.objective import TrialFailedError

        raise TrialFailedError(f"{type(exc).__name__}: {exc}") from None


def remove_empty_run_folder() -> None:
    """After a check: remove the run folder Hydra made (and parents it left empty) when nothing
    was written into it; only empty folders under the working directory are removed."""
    from hydra.core.hydra_config import HydraConfig

    folder = Path(HydraConfig.get().runtime.output_dir).resolve()
    cwd = Path.cwd().resolve()
    while folder != cwd and cwd in folder.parents:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            return
        folder = folder.parent


def _drop_fresh_folder_when_resuming(plain: dict[str, Any]) -> None:
    """`resume=true` continues an earlier folder: Hydra's new one is not left empty."""
    from hydra.core.hydra_config import HydraConfig

    from .app import continued_folder
    from .hydra_resume import drop_fresh_run_folder

    earlier = continued_folder(plain, search_siblings=True)
    if earlier is not None:
        drop_fresh_run_folder(Path(HydraConfig.get().runtime.output_dir), earlier)


def _run_and_measure(cfg: DictConfig, single_run: bool, sweeper: str) -> float | list[float] | None:
    from .app import run_sandbox
    from .errors import ConfigError
    from .hpo.objective import check_metric_against_plan, objective_from_context, parse_metric_spec
    from .plan import build_plan

    plain = split_config(cfg)
    if plain.get("check"):
        from .check import check_run
        from .progress import quiet_terminal

        try:
            with quiet_terminal(bool(plain.get("verbose"))):
                report = check_run(plain, [Path.cwd()], search_siblings=single_run)
            print(report, end="", flush=True)
        finally:
            if single_run:
                remove_empty_run_folder()
        return None
    if plain.get("hpo_config"):
        if not single_run:
            raise ConfigError(
                "hpo_config runs its own Optuna study; do not combine it with a "
                "Hydra multirun (-m). Use one: `hpo_config=FILE` without -m, or "
                "-m with hpo=optuna and hydra.sweeper.params"
            )
        from .hpo.reference import run_reference_study

        run_reference_study(plain, [Path.cwd()], search_siblings=True)
        return None
    keys = parse_metric_spec(plain.get("optimized_metric"))
    if keys is None and not single_run and "optuna" in sweeper.lower():
        raise ConfigError(
            "optimized_metric is not set: an Optuna sweep needs the run's "
            "objective, e.g. optimized_metric=pipeline.meta_name.res_1.accuracy"
        )
    check_metric_against_plan(keys, build_plan(plain).pipelines)
    if single_run:
        _drop_fresh_folder_when_resuming(plain)
    outcome = run_sandbox(plain, [Path.cwd()], snapshot=plain, search_siblings=single_run)
    value = objective_from_context(keys, outcome.context)
    if keys:
        log.info("objective %s = %s", ", ".join(keys), value)
    return value
