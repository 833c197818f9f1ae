"""The reference's `hpo_config` file (a wandb-sweep style YAML): reading it into an HpoSpec.

Every error names the file and the key before anything runs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..paths import find_existing, load_config_file
from .objective import parse_metric_spec

log = logging.getLogger("djsandbox")

METHODS = ("bayes", "random", "grid")
GOALS = ("maximize", "minimize")
KNOWN_KEYS = (
    "sweep_name",
    "sweep_max_count",
    "sweep_count",
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "seed",
    "description",
    "name",
    "project",
    "entity",
    "program",
)
DISTRIBUTIONS = (
    "constant",
    "categorical",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform_values",
)
DEFAULT_COUNT = 10
MAX_FAILURES_IN_A_ROW = 3  # then the study stops: the config, not the sampled values, is wrong
STUDY_FILE = "optuna.db"


@dataclass
class Param:
    """One search dimension: `suggest(trial)` gives the value applied to the config."""

    name: str
    suggest: Callable[[Any], Any]
    grid: list[Any] | None  # the values, when discrete (GridSampler needs them)


@dataclass
class HpoSpec:
    path: Path
    study_name: str
    count: int
    method: str
    metric: str
    goal: str
    params: list[Param] = field(default_factory=list)
    seed: int | None = None


# -- reading the file -------------------------------------------------------------------------
def load_hpo_config(value: Any, base_dirs: list[Path]) -> HpoSpec:
    """Parse and check the file; every problem is a ConfigError naming the file and the key."""
    if isinstance(value, dict):
        path, raw = Path("<hpo_config mapping>"), value
    else:
        found = find_existing(str(value), base_dirs)
        if found is None or not found.is_file():
            raise ConfigError(
                f"hpo_config: file {value!r} does not exist (looked in: "
                f"{', '.join(str(b) for b in base_dirs)})"
            )
        path = found
        try:
            raw = load_config_file(found)
        except Exception as exc:
            raise ConfigError(f"hpo_config {path}: cannot parse: {exc}") from None
    where = f"hpo_config {path}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    unknown = [k for k in raw if k not in KNOWN_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid: {', '.join(KNOWN_KEYS)}")
    method = raw.get("method", "bayes")
    if method not in METHODS:
        raise ConfigError(f"{where}: method: {method!r} is not one of {', '.join(METHODS)}")
    metric = raw.get("metric")
    if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
        raise ConfigError(
            f"{where}: metric: expected {{name: pipeline.meta_name.result, goal: "
            f"maximize|minimize}}, got {metric!r}"
        )
    goal = metric.get("goal", "maximize")
    if goal not in GOALS:
        raise ConfigError(f"{where}: metric.goal: {goal!r} is not one of {', '.join(GOALS)}")
    try:
        parse_metric_spec(metric["name"])
    except ConfigError as exc:
        raise ConfigError(f"{where}: metric.name: {exc}") from None
    count = raw.get("sweep_max_count", raw.get("sweep_count", DEFAULT_COUNT))
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"{where}: sweep_max_count: expected a positive integer, got {count!r}")
    seed = raw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"{where}: seed: expected an integer, got {seed!r}")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise ConfigError(
            f"{where}: parameters: expected a mapping {{op.arg: {{min, max}} | "
            "{values: [...]}}} with at least one entry"
        )
    params = [
        _param(str(name), spec, f"{where}: parameters.{name}", method)
        for name, spec in parameters.items()
    ]
    if raw.get("early_terminate"):
        log.info(
            "%s: early_terminate %s is ignored: a sandbox trial reports its objective once, "
            "when the run ends, so there is nothing to stop early",
            where,
            raw["early_terminate"],
        )
    name = raw.get("sweep_name") or raw.get("name") or "hpo"
    return HpoSpec(path, str(name), count, method, metric["name"], goal, params, seed)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    return value


def _param(name: str, spec: Any, where: str, method: str) -> Param:
    """Translate one wandb parameter spec into an Optuna suggestion."""
    if len(name.split(".")) != 2 or not all(name.split(".")):
        raise ConfigError(
            f"{where}: the name must be 'op_name.argument' (e.g. "
            "text_length_filter.min_len) or 'vars.name'"
        )
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{where}: expected a mapping such as {{min: 1, max: 9}} or "
            f"{{values: [...]}}, got {spec!r}"
        )
    kind = spec.get("distribution")
    if kind is None:
        kind = (
            "constant"
            if "value" in spec
            else "categorical"
            if "values" in spec
            else "int_uniform"
            if all(
                isinstance(spec.get(k), int) and not isinstance(spec.get(k), bool)
                for k in ("min", "max")
            )
            else "uniform"
            if "min" in spec or "max" in spec
            else None
        )
    if kind not in DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: distribution {kind!r} is not supported; use one of "
            f"{', '.join(DISTRIBUTIONS)} (or give min/max, values or value)"
        )
    if kind == "constant":
        value = spec.get("value")
        return Param(name, lambda trial: value, [value])
    if kind == "categorical":
        values = spec.get("values")
        if (
            not isinstance(values, list)
            or not values
            or not all(v is None or isinstance(v, (bool, int, float, str)) for v in values)
        ):
            raise ConfigError(
                f"{where}: values: expected a non-empty list of numbers, strings, "
                f"booleans or null, got {values!r}"
            )
        if "probabilities" in spec:
            log.info("%s: probabilities are ignored (Optuna samples choices without priors)", where)
        return Param(name, lambda trial: trial.suggest_categorical(name, values), list(values))
    for key in ("min", "max"):
        if key not in spec:
            raise ConfigError(f"{where}: {key}: missing (distribution {kind})")
    low, high = _number(spec["min"], f"{where}.min"), _number(spec["max"], f"{where}.max")
    if low > high:
        raise ConfigError(f"{where}: min {low} is greater than max {high}")
    q = _number(spec.get("q", 1), f"{where}.q")
    integral = all(isinstance(v, int) for v in (low, high, q))
    if kind in ("int_uniform", "q_uniform") and integral:
        step = int(q)
        grid = list(range(int(low), int(high) + 1, step))
        return Param(
            name, lambda trial: trial.suggest_int(name, int(low), int(high), step=step), grid
        )
    if kind == "int_uniform":
        raise ConfigError(f"{where}: int_uniform needs integer min and max")
    if kind in ("uniform", "q_uniform"):
        step = float(q) if kind == "q_uniform" else None
        grid = [low + i * step for i in range(int((high - low) // step) + 1)] if step else None
        return Param(name, lambda trial: trial.suggest_float(name, low, high, step=step), grid)
    if kind == "log_uniform":  # wandb: min/max are natural-log exponents
        low, high = math.exp(low), math.exp(high)
    if low <= 0:
        raise ConfigError(f"{where}: {kind} needs min > 0, got {low}")
    if kind == "q_log_uniform_values" and integral:

        def int_log(trial: Any) -> int:
            raw = trial.suggest_int(name, int(low), int(high), log=True)
            return max(int(low), int(round(raw / q) * q)) if q != 1 else raw

        return Param(name, int_log, None)
    if kind == "q_log_uniform_values":
        return Param(
            name, lambda trial: round(trial.suggest_float(name, low, high, log=True) / q) * q, None
        )
    return Param(name, lambda trial: trial.suggest_float(name, low, high, log=True), None)
