"""Refine a recipe from model feedback: filter bounds that keep the stat ranges of the pools
whose models scored well and cut those that hurt.

Inputs are what the single-op flow produces: the pools `{stat: [pool paths]}` (ascending in
the stat, `data_pool_construction`) and one evaluation result per pool, aligned exactly as
`data_pool_ranking` aligns them (shaped like the pools, a list in pool order, or a dict keyed
by pool path). Each pool's stat range is read from its own rows' Data-Juicer stats. The op
bounding a stat, its argument names and their types are derived as the k-sigma refinement
derives them (`k_sigma.py`); the choice of range is `feedback_decisions.py`.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any, Mapping

from djsandbox.data.dj_runtime import to_plain
from djsandbox.data.feedback_decisions import Pool, decide, noise_floor
from djsandbox.data.k_sigma import (
    arg_kind,
    bound_args_for_op,
    coerce_bound,
    key_for_arg,
    stat_keys_for_op,
)
from djsandbox.data.pools import io
from djsandbox.data.pools.labels import part_name
from djsandbox.data.pools.ranking import _MISSING, aligned, flatten_like, lookup
from djsandbox.data.pools.stat_values import numeric_stat

__all__ = ["refine_recipe_from_feedback", "pool_range", "scores_of"]


def _score(result: Any, key: str, where: str) -> float | None:
    value = lookup(result, key) if key else result
    if value is _MISSING:
        raise ValueError(f"ranking_key: {key!r} is not in the result of {where}: {result!r}")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"ranking_key: {key!r} of {where} is {value!r}, not a number")
    return float(value)


def scores_of(pools: Mapping[str, list[str]], metrics: Any, key: str) -> dict[str, list]:
    """{stat: [score per pool]}, the results aligned with the pools as `data_pool_ranking`
    aligns them (any doubt about which result is whose is an error)."""
    if not isinstance(pools, Mapping) or not all(
        isinstance(v, list) and all(isinstance(p, str) for p in v) for v in pools.values()
    ):
        raise ValueError(
            "dataset_path: expected the single-op pools {stat: [pool paths]} "
            f"(data_pool_construction's result), got {type(pools).__name__}"
        )
    paths = [p for v in pools.values() for p in v]
    same = flatten_like(dict(pools), metrics)
    flat = aligned(paths, same if same is not None else metrics)
    out: dict[str, list] = {}
    i = 0
    for stat, group in pools.items():
        out[stat] = []
        for path in group:
            out[stat].append(_score(flat[i], key, f"pool {path}"))
            i += 1
    return out


def control_scores(metrics: Any, key: str) -> list[float]:
    """The scores of the random-partition control's results (any nesting of lists/dicts)."""
    if isinstance(metrics, Mapping) and (not key or lookup(metrics, key) is not _MISSING):
        score = _score(metrics, key, "a control result")
        return [] if score is None else [score]
    values = metrics.values() if isinstance(metrics, Mapping) else metrics
    if not isinstance(values, (list, tuple, type({}.values()))):
        raise ValueError(
            f"control_metrics: expected evaluation results with {key!r}, got {metrics!r}"
        )
    return [s for v in values for s in control_scores(v, key)]


def pool_range(path: str, stat: str) -> tuple[float, float]:
    """(min, max) of `stat` over the pool's rows (read from its Data-Juicer stats)."""
    import numpy as np

    table = io.read_table(path, "dataset_path")
    fields = io.stats_struct_fields(table)
    if stat not in fields:
        raise ValueError(f"dataset_path: pool {path!r} has no stat {stat!r} in {io.STATS}")
    values = numeric_stat(table.column(io.STATS).combine_chunks().field(stat), fields[stat])
    if values is None or np.isnan(values).all():
        raise ValueError(f"dataset_path: pool {path!r} has no numeric value of {stat!r}")
    return float(np.nanmin(values)), float(np.nanmax(values))


def _apply(recipe: dict[str, Any], stat: str, low: float | None, high: float | None) -> list:
    """Set the bounds of every op bounding `stat`; returns [{op, arg, old, new}]."""
    changes = []
    for item in recipe.get("process") or []:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        op_name, op_args = next(iter(item.items()))
        op_args = dict(op_args or {})
        keys = list(stat_keys_for_op(op_name))
        if stat not in keys or op_args.get("reversed_range"):
            continue
        for arg, param in bound_args_for_op(op_name).items():
            value = low if arg.startswith("min_") else high
            if value is None or key_for_arg(op_name, arg, op_args, keys) != stat:
                continue
            default = None if param.default is inspect.Parameter.empty else param.default
            old = op_args.get(arg, default)
            typed = arg_kind(param, old)
            if typed is None:
                continue
            new = coerce_bound(value, typed[0], arg.startswith("min_"), typed[1])
            op_args[arg] = new
            changes.append({"op": op_name, "arg": arg, "old": old, "new": new})
        item[op_name] = op_args
    return changes


def refine_recipe_from_feedback(
    recipe: Mapping[str, Any],
    pools: Mapping[str, list[str]],
    metrics: Any,
    *,
    strategy: str = "noise_aware",
    ranking_key: str = "accuracy",
    descending: bool = True,
    min_gain: float = 0.0,
    control_metrics: Any = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(refined copy of `recipe`, one decision row per stat with its evidence: pools with
    their part, score and stat range, the decision, the reason and the recipe changes)."""
    scores = scores_of(pools, metrics, ranking_key)
    control = None if control_metrics is None else control_scores(control_metrics, ranking_key)
    floor, source = noise_floor(float(min_gain), control)
    refined = to_plain(recipe)
    table = []
    for stat, paths in pools.items():
        ranges = [pool_range(p, stat) for p in paths]
        if any(b[0] < a[0] for a, b in zip(ranges, ranges[1:])):
            raise ValueError(
                f"dataset_path: the pools of {stat!r} are not in ascending order of it "
                "(as data_pool_construction writes them)"
            )
        group = [Pool(p, s, lo, hi) for p, s, (lo, hi) in zip(paths, scores[stat], ranges)]
        row = decide(group, strategy, higher_is_better=descending, floor=floor)
        changes = _apply(refined, stat, row["min"], row["max"]) if row["keep"] else []
        if row["keep"] and not changes:
            row["decision"] = "leave"
            row["reason"] += f"; but no filter in the recipe bounds {stat}: nothing changed"
        table.append(
            {
                "stat": stat,
                "strategy": strategy,
                "pools": [
                    {
                        "part": part_name(i, len(group)),
                        "path": p.path,
                        "score": p.score,
                        "min": p.low,
                        "max": p.high,
                    }
                    for i, p in enumerate(group)
                ],
                "noise_floor": floor,
                "noise_floor_source": source,
                **row,
                "changes": changes,
            }
        )
    return refined, table


def decisions_markdown(table: list[dict[str, Any]], key: str) -> str:
    """The decision table as Markdown, one line per stat (for the job folder and the log)."""
    lines = [
        f"| stat | {key} per pool (low -> high) | kept range | decision | reason |",
        "|---|---|---|---|---|",
    ]
    for row in table:
        scores = ", ".join(
            f"{p['part']} {'-' if p['score'] is None else format(p['score'], '.4f')}"
            for p in row["pools"]
        )
        kept = (
            "-"
            if row["decision"] != "keep"
            else f"[{'-inf' if row['min'] is None else format(row['min'], '.4g')}, "
            f"{'inf' if row['max'] is None else format(row['max'], '.4g')}]"
        )
        lines.append(f"| {row['stat']} | {scores} | {kept} | {row['decision']} | {row['reason']} |")
    return "\n".join(lines) + "\n"


def write_decisions(table: list[dict[str, Any]], key: str, path: Path) -> None:
    from djsandbox.atomic import atomic_write_text

    atomic_write_text(path, decisions_markdown(table, key))
