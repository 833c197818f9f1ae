"""`data_pool_ranking`: order pool paths by their evaluation metrics, best first.

Keys as in the reference: `dataset_path` (the pools), `metrics` (one result per pool),
`ranking_keys` (dotted paths into each result, compared as a tuple; none: the result itself),
`descending` (default true), `top_n`. Returns the ordered paths as given. Differences: the
alignment of pools and results is checked, not assumed: `metrics` may be a list in pool order
(equal lengths; a result that names its pool under `dataset_path` must name that pool) or a
dict keyed by pool path (exactly the pools); a ranking key missing from a result, or not a
number, is an error (the reference logged and dropped it); ties keep the input order. A
ranking value that is null (an evaluator could not score that pool, e.g. `mse` when none of
its predictions parsed) ranks the pool after every scored one, whatever `descending` says.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from ...registry import ComponentSpec
from ...shapes import as_path_list
from . import options

KEYS = ("dataset_path", "metrics", "ranking_keys", "descending", "top_n")

SPECS = tuple(
    ComponentSpec(
        factory,
        "data_pool_ranking",
        f"{__name__}:run",
        "order pools by evaluation metrics (optionally top_n)",
        keys=KEYS,
        required=("dataset_path", "metrics"),
        check=f"{__name__}:check",
    )
    for factory in ("DataPoolManipulator", "GeneralProbe")
)

_MISSING = object()
log = logging.getLogger(__name__)


def _keys(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(k, str) and k for k in value):
        raise ValueError(f"ranking_keys: expected a list of (dotted) metric names, got {value!r}")
    return list(value)


def _top_n(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"top_n: expected a positive integer, got {value!r}")
    return value


def lookup(obj: Any, dotted: str) -> Any:
    """`a.b.0` into nested dicts/lists; _MISSING when absent."""
    for part in dotted.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif (
            isinstance(obj, (list, tuple))
            and part.lstrip("-").isdigit()
            and -len(obj) <= int(part) < len(obj)
        ):
            obj = obj[int(part)]
        else:
            return _MISSING
    return obj


def _same(a: Any, b: str) -> bool:
    return isinstance(a, (str, os.PathLike)) and Path(a).resolve() == Path(b).resolve()


def flatten_like(pools: Any, metrics: Any) -> list[Any] | None:
    """Results shaped like the pools (e.g. `{stat: [result per pool]}`, as the model
    components return for construction's `{stat: [paths]}`) -> one flat list in pool order;
    None when the shapes differ."""
    if isinstance(pools, (str, os.PathLike)):
        return [metrics]
    if isinstance(pools, dict):
        if not isinstance(metrics, dict) or list(pools) != list(metrics):
            return None
        pairs = [(pools[k], metrics[k]) for k in pools]
    elif isinstance(pools, (list, tuple)):
        if not isinstance(metrics, (list, tuple)) or len(pools) != len(metrics):
            return None
        pairs = list(zip(pools, metrics))
    else:
        return None
    out: list[Any] = []
    for pool, metric in pairs:
        flat = flatten_like(pool, metric)
        if flat is None:
            return None
        out += flat
    return out


def aligned(paths: list[str], metrics: Any) -> list[Any]:
    """One result per pool, in pool order; any doubt about which result is whose is an error."""
    if isinstance(metrics, dict):
        by_path = {str(Path(k).resolve()): v for k, v in metrics.items()}
        want = [str(Path(p).resolve()) for p in paths]
        extra = sorted(set(by_path) - set(want))
        lacking = [p for p, w in zip(paths, want) if w not in by_path]
        if extra or lacking or len(by_path) != len(metrics):
            raise ValueError(
                f"metrics: keyed by path, must have exactly the pools of "
                f"dataset_path; no result for {lacking}, results for unknown {extra}"
            )
        return [by_path[w] for w in want]
    if not isinstance(metrics, (list, tuple)):
        raise ValueError(
            f"metrics: expected a list of results in pool order or a dict keyed "
            f"by pool path, got {type(metrics).__name__}"
        )
    if len(metrics) != len(paths):
        raise ValueError(
            f"metrics: {len(metrics)} results for {len(paths)} pools in "
            "dataset_path; each pool needs exactly one result"
        )
    for i, (p, m) in enumerate(zip(paths, metrics)):
        named = m.get("dataset_path") if isinstance(m, dict) else None
        if named is not None and not _same(named, p):
            raise ValueError(
                f"metrics: result {i} is for {named!r}, but pool {i} of dataset_path is {p!r}"
            )
    return list(metrics)


def _score(metric: Any, keys: list[str], i: int, path: str) -> tuple[float, ...] | None:
    """The pool's ranking values, or None when one of them is null (it ranks last)."""
    values = [metric] if not keys else [lookup(metric, k) for k in keys]
    names = keys or ["(the whole result)"]
    out = []
    for name, v in zip(names, values):
        if v is _MISSING:
            raise ValueError(
                f"ranking_keys: {name!r} is not in the result of pool {i} ({path}): {metric!r}"
            )
        if v is None:
            log.warning("pool %d (%s): %r is null; ranked last", i, path, name)
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
            raise ValueError(f"ranking_keys: {name!r} of pool {i} ({path}) is {v!r}, not a number")
        out.append(float(v))
    return tuple(out)


def check(cfg: dict[str, Any]) -> list[str]:
    problems = options.path_problems(cfg, "dataset_path")
    problems += options.collect(
        lambda: _keys(cfg.get("ranking_keys")), lambda: _top_n(cfg.get("top_n"))
    )
    if "descending" in cfg and not isinstance(cfg["descending"], bool):
        problems.append(f"descending: expected true or false, got {cfg['descending']!r}")
    if cfg.get("dataset_path") is not None and cfg.get("metrics") is not None:
        problems += options.collect(
            lambda: aligned(as_path_list(cfg["dataset_path"], "dataset_path"), cfg["metrics"])
        )
    return problems


def run(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """The pool paths (as given), best first; the first `top_n` when set."""
    paths = as_path_list(cfg.get("dataset_path"), "dataset_path")
    if not paths:
        raise ValueError("dataset_path: expected at least one pool path, got none")
    options.require_paths(paths, "dataset_path")
    if cfg.get("metrics") is None:
        raise ValueError("metrics: required (one evaluation result per pool)")
    keys = _keys(cfg.get("ranking_keys"))
    top_n = _top_n(cfg.get("top_n"))
    descending = cfg.get("descending", True)
    if not isinstance(descending, bool):
        raise ValueError(f"descending: expected true or false, got {descending!r}")
    same_shape = flatten_like(cfg.get("dataset_path"), cfg["metrics"])
    metrics = aligned(
        paths,
        same_shape
        if isinstance(cfg.get("dataset_path"), dict) and same_shape is not None
        else cfg["metrics"],
    )
    scores = [_score(m, keys, i, p) for i, (p, m) in enumerate(zip(paths, metrics))]
    scored = [i for i in range(len(paths)) if scores[i] is not None]
    order = sorted(scored, key=lambda i: scores[i], reverse=descending)
    order += [i for i in range(len(paths)) if scores[i] is None]
    ranked = [paths[i] for i in order]
    if top_n is not None:
        if top_n > len(ranked):
            raise ValueError(f"top_n: {top_n} is more than the {len(ranked)} pools ranked")
        ranked = ranked[:top_n]
    return ranked
