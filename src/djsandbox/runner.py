"""Runs a validated sandbox: iterations -> pipelines -> stages -> jobs, saving after every job.

A finished job is never run twice for the same run folder: its results and status are in
`sandbox_state.json` (written atomically), and `resume` skips it. The job that was running
when a run died or raised is run again.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .cache.job import run_cached
from .catalog import HOOKS
from .context import STATE_FILE, Context, RunState, register_resolver, to_jsonable
from .errors import ConfigError, JobFailedError, RunInterrupted, SandboxError
from .fingerprint import changed_keys, fingerprint, producers
from .hooks.base import OUTPUT_FILE_KEYS, JobRun
from .interrupts import INTERRUPT_LOG, InterruptWatch
from .jobs import absolute_paths, iteration_path, resolve_job
from .output_safety import runtime_problems
from .plan import JobSpec, Plan, build_plan
from .progress import current, running_job
from .reporting.trackers.base import JobRecord, Tracker
from .targets import parse_targets
from .validation import validate

log = logging.getLogger("djsandbox")

_SHOWN = {"progress_line": True}  # the progress display shows these lines on the terminal
DEFAULT_MAX_ITER_CAP = 100  # iterations of `max_iter_num: 0` at most (global `max_iter_cap`)


@dataclass
class RunOutcome:
    work_dir: Path
    context: Context
    state: RunState
    iterations_run: int
    targets_met: bool | None
    executed: list[str] = field(default_factory=list)  # job keys run (not skipped) this time
    stopped_at_cap: bool = False  # max_iter_num 0 ended at max_iter_cap, targets not met


def result_values(results: Any) -> list[Any]:
    """A hook's return as its list of results: a tuple is several results, anything else one.
    As in the reference, a single result that is a one-item list is recorded as its item, so
    that a one-pool run feeds a path where a path is expected (its configs rely on it)."""
    if isinstance(results, tuple):
        return list(results)
    one = isinstance(results, list) and len(results) == 1
    return [results[0] if one else results]


def name_results(values: list[Any], output: list[str] | None, label: str) -> dict[str, Any]:
    """The results named from `output`, then res_i."""
    names = list(output or [])
    if len(names) > len(values):
        raise SandboxError(
            f"{label}: output names {names} but the hook returned {len(values)} result(s)"
        )
    names += [f"res_{i}" for i in range(len(names) + 1, len(values) + 1)]
    return {name: to_jsonable(value, label) for name, value in zip(names, values)}


class Runner:
    def __init__(
        self, cfg: dict[str, Any], base_dirs: list[Path], tracker: Tracker | None = None
    ) -> None:
        """`cfg`: the sandbox config as plain data, global keys resolved, jobs raw."""
        register_resolver()
        self.tracker = tracker or Tracker()
        self.cfg = cfg
        self.base_dirs = base_dirs
        self.plan: Plan = build_plan(cfg)
        self.globals = {
            k: v for k, v in cfg.items() if not k.endswith("_job_configs") and k != "pipelines"
        }
        validate(self.plan, cfg, base_dirs, self.globals)
        self.targets = parse_targets(cfg.get("iter_targets"))
        self.work_dir = Path(cfg["work_dir"]).resolve()
        self._dependents: dict[str, set[str]] = {}

    # -- state -------------------------------------------------------------------------
    def _open_state(self) -> RunState:
        path = self.work_dir / STATE_FILE
        if self.cfg.get("resume") and path.exists():
            state = RunState.load(path)
            log.info("resuming from %s (%d job records)", path, len(state.jobs))
            return state
        if self.cfg.get("resume"):
            log.warning("resume requested but %s has no saved state: starting fresh", self.work_dir)
        elif path.exists():
            raise SandboxError(
                f"{self.work_dir} already holds a run ({STATE_FILE}); set "
                "resume=true to continue it, or choose another work_dir"
            )
        return RunState(
            path,
            meta={
                "project_name": self.cfg.get("project_name"),
                "experiment_name": self.cfg.get("experiment_name"),
            },
        )

    # -- running -----------------------------------------------------------------------
    def run(self) -> RunOutcome:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        state = self._open_state()
        state.save()
        ctx = state.context
        max_iter = int(self.cfg.get("max_iter_num", 1))
        cap = int(self.cfg.get("max_iter_cap", DEFAULT_MAX_ITER_CAP))
        limit = max_iter or cap  # 0: until iter_targets are met, at most max_iter_cap
        outcome = RunOutcome(self.work_dir, ctx, state, 0, None)
        state.meta.pop("stop", None)
        iteration = 0
        while iteration < limit:
            ctx.start_iteration(iteration)
            updates = self._iteration_updates(ctx, iteration)
            self._dependents = self._dependency_graph(updates)
            for jobs in self.plan.pipelines.values():
                for spec in jobs:
                    self._run_job(spec, state, iteration, updates, outcome, multi=max_iter != 1)
            outcome.iterations_run = iteration + 1
            if self.targets:
                outcome.targets_met = self._targets_met(ctx, iteration)
                if outcome.targets_met:
                    log.info("iteration %d: iter_targets met; stopping", iteration)
                    break
            iteration += 1
        if max_iter == 0 and not outcome.targets_met:
            outcome.stopped_at_cap = True
            state.meta["stop"] = (
                f"stopped after {outcome.iterations_run} iterations: max_iter_cap "
                f"({cap}) reached and iter_targets not met"
            )
            log.warning("%s (raise max_iter_cap to iterate longer)", state.meta["stop"])
            state.save()
        return outcome

    def _run_job(
        self,
        spec: JobSpec,
        state: RunState,
        iteration: int,
        updates: dict[tuple[str, str], dict[str, Any]],
        outcome: RunOutcome,
        multi: bool,
    ) -> None:
        status = state.status(iteration, spec.key) or {}
        ctx = state.context
        digest, why = self._current_fingerprint(spec, iteration, updates)
        position = self.plan.jobs().index(spec) + 1
        shown = f"{spec.pipeline} · {spec.stage} · {spec.context_name}" + (
            f" (iter {iteration})" if multi else ""
        )
        if status.get("status") == "done":
            why = self._why_rerun(status, digest, why)
            if why is None:
                ctx.move_to_end(iteration, spec.pipeline, spec.context_name)  # for `-1`
                log.info("skip (done): iter %d, %s", iteration, spec.label, extra=_SHOWN)
                current().job_skipped(position, shown)
                return
            log.info("rerun (%s): iter %d, %s", why, iteration, spec.label)
        elif status.get("status") == "stale":
            log.info("rerun (%s): iter %d, %s", status.get("stale_reason"), iteration, spec.label)
        self._mark_dependents_stale(spec, state, iteration)
        log.info(
            "run [%d/%d]: iter %d, %s, hook %s",
            position,
            len(self.plan.jobs()),
            iteration,
            spec.label,
            spec.hook,
            extra=_SHOWN,
        )
        state.set_status(
            iteration,
            spec.key,
            status="running",
            pipeline=spec.pipeline,
            stage=spec.stage,
            index=spec.index,
            meta_name=spec.meta_name,
            hook=spec.hook,
            started=time.time(),
            error=None,
        )
        state.save(durable=False)
        started = time.perf_counter()
        job_dir = self.job_dir(spec, iteration)
        # A library may report Ctrl-C as another error (or exit); what it prints while it
        # stops goes to the job's interrupted.log.
        interrupts = InterruptWatch(quiet_to=job_dir / INTERRUPT_LOG).start()
        try:
            run = self._job_run(spec, ctx, iteration, updates, multi)
            run.save_configs()
            hook = HOOKS.get(spec.hook).load()()
            compute = lambda: result_values(hook.run(run))  # noqa: E731
            with running_job(position, shown, job_dir):  # a cache hit restores the job instead
                values = run_cached(spec, hook, run, self.globals, self.work_dir, compute)
            # named after the cache: the key leaves `output` out, so one entry serves any names
            results = name_results(values, spec.body.get("output"), spec.label)
        except BaseException as exc:
            interrupted = interrupts.seen or isinstance(exc, KeyboardInterrupt)
            error_log = job_dir / "error.log"
            atomic_write_text(error_log, traceback.format_exc())
            state.set_status(
                iteration,
                spec.key,
                status="interrupted" if interrupted else "failed",
                elapsed=time.perf_counter() - started,
                error=f"interrupted ({interrupts.signal_name or 'Ctrl-C'})"
                if interrupted
                else f"{type(exc).__name__}: {exc}",
                error_log=str(error_log),
            )
            state.save()
            if interrupted:  # Lightning exits 1 on Ctrl-C, Data-Juicer raises TimeoutError
                raise RunInterrupted(spec.label) from None
            if isinstance(exc, (SystemExit, SandboxError)):
                raise
            raise JobFailedError(
                f"{spec.label} (hook {spec.hook}) failed: "
                f"{type(exc).__name__}: {exc} (traceback: {error_log})"
            ) from exc
        finally:
            interrupts.stop()
        ctx.record(spec.pipeline, spec.context_name, results)
        elapsed = time.perf_counter() - started
        notes = to_jsonable(run.notes, spec.label)
        state.set_status(
            iteration,
            spec.key,
            status="done",
            elapsed=elapsed,
            finished=time.time(),
            notes=notes,
            job_dir=str(run.job_dir),
            config=digest,
            stale_reason=None,
        )
        state.save()
        outcome.executed.append(f"{iteration}/{spec.key}")
        self.tracker.job_finished(
            JobRecord(
                iteration,
                spec.pipeline,
                spec.context_name,
                str(spec.hook),
                spec.stage,
                results,
                notes,
                elapsed,
                run.job_dir,
            )
        )
        if interrupts.seen:  # a library swallowed the Ctrl-C and finished: stop after the job
            raise RunInterrupted(None)

    # -- resume: reruns after a config change, and what depends on them --------------------
    def _current_fingerprint(
        self, spec: JobSpec, iteration: int, updates: dict[tuple[str, str], dict[str, Any]]
    ) -> tuple[dict[str, str] | None, str | None]:
        """(the job's fingerprint now, or None and why it cannot be computed)."""
        extra_local = updates.get((spec.pipeline, spec.meta_name or ""), {})
        try:
            return fingerprint(spec, self.globals, self.base_dirs, extra_local)[0], None
        except SandboxError as exc:
            return None, f"its config cannot be resolved now: {exc}"

    @staticmethod
    def _why_rerun(
        status: dict[str, Any], digest: dict[str, str] | None, why: str | None
    ) -> str | None:
        """Why a finished job must run again (None: its results still hold)."""
        before = status.get("config")
        if before is None:  # a state written before fingerprints were kept
            return None
        if digest is None:
            return why
        changed = changed_keys(before, digest)
        return f"config changed: {', '.join(changed)}" if changed else None

    def _dependency_graph(
        self, updates: dict[tuple[str, str], dict[str, Any]]
    ) -> dict[str, set[str]]:
        """{job key: keys of the jobs that read its results (input, ${ctx:}, -1)}. A job whose
        config cannot be resolved before the iteration (a file an earlier job writes) is taken
        to read every job before it."""
        jobs = self.plan.jobs()
        dependents: dict[str, set[str]] = {j.key: set() for j in jobs}
        for position, spec in enumerate(jobs):
            extra_local = updates.get((spec.pipeline, spec.meta_name or ""), {})
            try:
                sources = fingerprint(spec, self.globals, self.base_dirs, extra_local)[1]
                reads = producers(sources, jobs, position)
            except SandboxError:
                reads = {j.key for j in jobs[:position]}
            for key in reads:
                dependents[key].add(spec.key)
        return dependents

    def _mark_dependents_stale(self, spec: JobSpec, state: RunState, iteration: int) -> None:
        """This job runs (again): every finished job that reads its results, directly or
        through others, is marked stale now, so a crash before they rerun cannot keep them."""
        todo, seen = [(spec.key, spec.label)], {spec.key}
        labels = {j.key: j.label for j in self.plan.jobs()}
        while todo:
            key, label = todo.pop()
            for reader in sorted(self._dependents.get(key, ())):
                if reader in seen:
                    continue
                seen.add(reader)
                todo.append((reader, labels[reader]))
                status = state.status(iteration, reader) or {}
                if status.get("status") == "done":
                    state.set_status(
                        iteration,
                        reader,
                        status="stale",
                        stale_reason=f"reads the results of {label}, which reruns",
                    )

    def job_dir(self, spec: JobSpec, iteration: int) -> Path:
        """The job's own folder: its component writes here, and so do its config and errors."""
        path = (
            self.work_dir
            / f"iter_{iteration}"
            / spec.pipeline
            / (f"{spec.stage}_{spec.index}_{spec.context_name}")
        )
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _job_run(
        self,
        spec: JobSpec,
        ctx: Context,
        iteration: int,
        updates: dict[tuple[str, str], dict[str, Any]],
        multi: bool,
    ) -> JobRun:
        extra_local = updates.get((spec.pipeline, spec.meta_name or ""), {})
        resolved = resolve_job(spec, self.globals, ctx, self.base_dirs, extra_local)
        dj, extra = resolved.dj_configs, resolved.extra_configs
        if multi:  # every file the job writes goes under its iteration's folder
            for dotted in OUTPUT_FILE_KEYS:
                root, _, key = dotted.partition(".")
                cfg = dj if root == "dj_configs" else extra
                if isinstance(cfg, dict) and key in cfg:
                    cfg[key] = iteration_path(cfg[key], iteration)
        base_dirs = self.base_dirs + resolved.source_dirs
        problems = runtime_problems(
            spec.label, spec.body, {"dj_configs": dj, "extra_configs": extra}, base_dirs
        )
        if problems:
            raise ConfigError("; ".join(problems))
        if isinstance(extra, dict):
            extra = absolute_paths(extra, base_dirs)
        job_dir = self.job_dir(spec, iteration)
        return JobRun(
            label=spec.label,
            pipeline=spec.pipeline,
            name=spec.context_name,
            iteration=iteration,
            dj_configs=dj,
            extra_configs=extra,
            job_dir=job_dir,
            base_dirs=base_dirs,
            context=ctx,
        )

    def _iteration_updates(
        self, ctx: Context, iteration: int
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """`iter_updater`: results of the previous iteration become `local` values of jobs."""
        updates: dict[tuple[str, str], dict[str, Any]] = {}
        if iteration == 0:
            return updates
        for source, target in (self.cfg.get("iter_updater") or {}).items():
            value = ctx.lookup(str(source), iteration=iteration - 1, where="iter_updater")
            pipeline, meta_name, key = str(target).split(".", 2)
            updates.setdefault((pipeline, meta_name), {})[key] = value
        return updates

    def _targets_met(self, ctx: Context, iteration: int) -> bool:
        met = [
            t.met(ctx.lookup(t.key, iteration=iteration, where="iter_targets"))
            for t in self.targets
        ]
        for target, ok in zip(self.targets, met):
            log.info("iteration %d: target %s: %s", iteration, target, "met" if ok else "not met")
        return all(met) if self.cfg.get("iter_targets_mode", "all") == "all" else any(met)
