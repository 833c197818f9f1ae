"""The run's objective: the context value(s) named by `optimized_metric`, as float(s).

A sweeper can only learn from numbers, so every way a trial can go wrong (a missing key, a
result that is not a number, NaN, a failed job) becomes an `ObjectiveError`: Hydra's Optuna
sweeper records a raising trial as FAIL and counts it against `max_failure_rate`, whereas a
NaN would be stored as a value and mislead the sampler.
"""

from __future__ import annotations

import math
from typing import Any

from ..context import Context
from ..errors import ConfigError, ContextLookupError, SandboxError

MAX_LISTED = 60  # keys listed in a "missing metric" message


class TrialFailedError(SandboxError):
    """A sweep trial that failed; raised (never SystemExit) so the sweeper records a failure."""


class ObjectiveError(TrialFailedError):
    """The objective cannot be read as a finite number; the trial counts as failed."""


def parse_metric_spec(spec: Any) -> list[str] | None:
    """`optimized_metric` as a list of context keys (None: the run has no objective).

    A single string gives one key (single objective), a list several (multi-objective). Each
    key is `pipeline.meta_name.result[.nested]`, checked here so a typo fails before any job.
    """
    if spec is None or spec == "" or spec == []:
        return None
    keys = [spec] if isinstance(spec, str) else spec
    if not isinstance(keys, (list, tuple)) or not keys:
        raise ConfigError(
            f"optimized_metric: expected a key 'pipeline.meta_name.result' or a "
            f"list of them, got {spec!r}"
        )
    for key in keys:
        parts = str(key).split(".") if isinstance(key, str) else []
        if len(parts) < 3 or any(not p for p in parts) or parts[0] == "-1":
            raise ConfigError(
                f"optimized_metric: {key!r} is not of the form "
                "'pipeline.meta_name.result[.key]' (e.g. "
                "refined.test.res_1.accuracy)"
            )
    return [str(k) for k in keys]


def check_metric_against_plan(keys: list[str] | None, pipelines: dict[str, list[Any]]) -> None:
    """Fail before the run when a metric names a pipeline or job that the plan does not have."""
    for key in keys or []:
        pipeline, meta_name = key.split(".")[:2]
        if pipeline not in pipelines:
            raise ConfigError(
                f"optimized_metric: {key!r}: no pipeline '{pipeline}'; pipelines: "
                f"{sorted(pipelines)}"
            )
        names = [spec.context_name for spec in pipelines[pipeline]]
        if meta_name not in names:
            raise ConfigError(
                f"optimized_metric: {key!r}: pipeline '{pipeline}' has no job "
                f"'{meta_name}'; its jobs: {names}"
            )


def available_keys(context: Context, iteration: int, depth: int = 2) -> list[str]:
    """Every `pipeline.meta_name.result[.key...]` of an iteration, down to `depth` levels
    below the result, for error messages that show what could have been named."""
    out: list[str] = []

    def walk(prefix: str, value: Any, level: int) -> None:
        out.append(prefix)
        if isinstance(value, dict) and level < depth:
            for k, v in value.items():
                walk(f"{prefix}.{k}", v, level + 1)

    results = context.iterations[iteration] if 0 <= iteration < len(context.iterations) else {}
    for pipeline, jobs in results.items():
        for name, res in jobs.items():
            for result_name, value in res.items():
                walk(f"{pipeline}.{name}.{result_name}", value, 0)
    return out


def _as_float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if value is None:
            raise ObjectiveError(
                f"optimized_metric {key!r} is None (a NaN or missing value in "
                "the run's results); the trial counts as failed"
            )
        hint = ""
        if isinstance(value, dict):
            numeric = [
                k
                for k, v in value.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            ]
            examples = ", ".join(f"{key}.{k}" for k in numeric[:5])
            hint = (
                f"; name one of its numeric keys, e.g. {examples}"
                if numeric
                else f"; its keys: {sorted(value)}"
            )
        raise ObjectiveError(
            f"optimized_metric {key!r} is a {type(value).__name__}, not a number{hint}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ObjectiveError(
            f"optimized_metric {key!r} is {number}; a sweep needs a finite "
            "number, so the trial counts as failed"
        )
    return number


def objective_from_context(
    keys: list[str] | None, context: Context, iteration: int | None = None
) -> float | list[float] | None:
    """The objective read from the final iteration (or `iteration`): one float for one key,
    a list of floats for several, None when no metric is configured."""
    if not keys:
        return None
    last = len(context.iterations) - 1 if iteration is None else iteration
    values: list[float] = []
    for key in keys:
        try:
            value = context.lookup(key, iteration=last, where="optimized_metric")
        except ContextLookupError as exc:
            known = available_keys(context, last)
            listing = ", ".join(known[:MAX_LISTED]) + (" ..." if len(known) > MAX_LISTED else "")
            raise ObjectiveError(
                f"{exc}. Keys available in the final iteration ({last}): "
                f"{listing or '(none: no job finished)'}"
            ) from None
        values.append(_as_float(key, value))
    return values[0] if len(values) == 1 else values
