"""k-sigma recipe refinement: tighten filter bounds to mean +- k*std of analysed stats.

Which stats key a filter's ``min_*``/``max_*`` arguments bound is derived from Data-Juicer
itself, without running data: the keys are the ``StatsKeys.<name>`` attributes its module (and
the modules of its parent op classes) read, parsed from source with ``ast``; the argument types
come from the op's ``__init__`` signature. Running ops on a dummy sample
(``StatsKeys.get_access_log``) would cost a full Analyzer run per refinement for the same answer.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import operator
import re
import sys
import typing
from typing import Any, Mapping

from djsandbox.data.dj_analyze import finite_float
from djsandbox.data.dj_runtime import prepare_offline_env, to_plain

__all__ = [
    "arg_kind",
    "bound_args_for_op",
    "coerce_bound",
    "key_for_arg",
    "refine_recipe_k_sigma",
    "stat_keys_for_op",
]

# Ops whose stats key depends on an argument, and lone bound args (no min/max pair).
_KEY_BY_ARG_VALUE = {
    "alphanumeric_filter": ("tokenization", {True: "alpha_token_ratio", False: "alnum_ratio"}),
}
_LONE_BOUNDS = {"language_id_score_filter": {"min_score": "lang_score"}}

# Stats that cannot leave a range, by Data-Juicer's naming: ratios lie in [0, 1]; lengths,
# counts and sizes are >= 0. A k-sigma bound beyond (text_len's `min_len -743`) is clamped.
_UNIT_RATIO = re.compile(r"_ratio$")
_NON_NEGATIVE = re.compile(
    r"(_len|_length|_num|_count|_width|_height|_size|_sizes|_duration|perplexity)$|^num_"
)


def natural_range(stat: str) -> tuple[float | None, float | None]:
    """(floor, ceiling) a stat cannot cross by its nature; None where it has none."""
    if _UNIT_RATIO.search(stat):
        return 0.0, 1.0
    return (0.0, None) if _NON_NEGATIVE.search(stat) else (None, None)


def _clamp_natural(
    new: int | float, stat: str, is_min: bool, kind: type
) -> tuple[int | float, str | None]:
    """`new` within the stat's natural range, and a note when it was clamped there."""
    floor, ceiling = natural_range(stat)
    edge = floor if is_min else ceiling
    if edge is None or (new >= edge if is_min else new <= edge):
        return new, None
    side = "floor" if is_min else "ceiling"
    return (int(edge) if kind is int else float(edge)), (
        f"k-sigma gave {new:.4g}, beyond {stat}'s natural {side} {edge:g}: clamped (cuts nothing)"
    )


def _cuts_nothing(new: float, summary: Mapping[str, Any], is_min: bool) -> str | None:
    """A note when the analysed values all lie inside the bound (from the stat's min/max)."""
    edge = finite_float(summary.get("min" if is_min else "max"))
    if edge is None or (new > edge if is_min else new < edge):
        return None
    return f"every analysed value is {'>=' if is_min else '<='} {new:.4g}: cuts nothing"


def _registry() -> Mapping[str, type]:
    prepare_offline_env()
    from data_juicer.ops import OPERATORS

    return OPERATORS.modules


@functools.cache
def _module_stat_keys(module_name: str) -> tuple[str, ...]:
    module = sys.modules.get(module_name)
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return ()
    keys: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "StatsKeys"
            and node.attr not in keys
        ):
            keys.append(node.attr)
    return tuple(keys)


def stat_keys_for_op(op_name: str) -> tuple[str, ...]:
    """Every stats key the op's code can write (e.g. alphanumeric_filter ->
    ('alpha_token_ratio', 'alnum_ratio')); empty for unknown ops and non-stats filters."""
    cls = _registry().get(op_name)
    if cls is None:
        return ()
    from data_juicer.utils.constant import StatsKeysConstant

    keys: list[str] = []
    for klass in inspect.getmro(cls):
        mod = klass.__module__
        if not mod.startswith("data_juicer.ops.") or mod.endswith("base_op"):
            continue
        for attr in _module_stat_keys(mod):
            value = getattr(StatsKeysConstant, attr, None)
            if isinstance(value, str) and value not in keys:
                keys.append(value)
    return tuple(keys)


def _unwrap(annotation: Any) -> tuple[Any, list[tuple[Any, float]]]:
    """(base type, [(comparison, bound), ...]) for int/float-like annotations, handling
    Optional[...], pydantic Annotated[int, Gt(0)] and jsonargparse restricted types."""
    restrictions: list[tuple[Any, float]] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            return None, []
        return _unwrap(args[0])
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        for m in meta:
            for attr, op in (
                ("ge", operator.ge),
                ("gt", operator.gt),
                ("le", operator.le),
                ("lt", operator.lt),
            ):
                bound = getattr(m, attr, None)
                if isinstance(bound, (int, float)):
                    restrictions.append((op, bound))
        inner, more = _unwrap(base)
        return inner, restrictions + more
    if isinstance(annotation, type):
        for op, bound in getattr(annotation, "_restrictions", None) or []:
            restrictions.append((op, bound))
        if issubclass(annotation, bool):
            return bool, restrictions
        if issubclass(annotation, int):
            return int, restrictions
        if issubclass(annotation, float):
            return float, restrictions
        return annotation, restrictions
    return None, restrictions


def bound_args_for_op(op_name: str) -> dict[str, inspect.Parameter]:
    """The op's ``min_X``/``max_X`` constructor args that come in pairs (a lone ``max_size`` of a
    video op is a resize setting, not a stats bound), plus known lone bounds."""
    cls = _registry().get(op_name)
    if cls is None:
        return {}
    params = inspect.signature(cls.__init__).parameters
    out: dict[str, inspect.Parameter] = {}
    for name, p in params.items():
        if name.startswith("min_") and f"max_{name[4:]}" in params:
            out[name] = p
            out[f"max_{name[4:]}"] = params[f"max_{name[4:]}"]
    for name in _LONE_BOUNDS.get(op_name, {}):
        if name in params:
            out[name] = params[name]
    return out


def key_for_arg(
    op_name: str, arg: str, op_args: Mapping[str, Any], candidates: list[str]
) -> str | None:
    if op_name in _LONE_BOUNDS and arg in _LONE_BOUNDS[op_name]:
        key = _LONE_BOUNDS[op_name][arg]
        return key if key in candidates else None
    if op_name in _KEY_BY_ARG_VALUE:
        flag, choice = _KEY_BY_ARG_VALUE[op_name]
        default = _param_default(op_name, flag)
        key = choice.get(bool(op_args.get(flag, default)))
        return key if key in candidates else None
    if len(candidates) == 1:
        return candidates[0]
    suffix = arg.split("_", 1)[1]
    matches = [k for k in candidates if suffix in k.split("_")]
    return matches[0] if len(matches) == 1 else None


def _param_default(op_name: str, arg: str) -> Any:
    p = inspect.signature(_registry()[op_name].__init__).parameters.get(arg)
    return None if p is None or p.default is inspect.Parameter.empty else p.default


def coerce_bound(
    value: float, kind: type, is_min: bool, restrictions: list[tuple[Any, float]]
) -> int | float:
    """Round ints outward (floor a lower bound, ceil an upper one) so integer stats on the
    boundary stay in, then clamp into the type's allowed range (e.g. [0, 1])."""
    out: int | float = (
        (math.floor(value) if is_min else math.ceil(value)) if kind is int else float(value)
    )
    for op, bound in restrictions:
        if op is operator.ge and out < bound or op is operator.le and out > bound:
            out = bound
        elif op is operator.gt and out <= bound:
            out = bound + 1 if kind is int else math.nextafter(bound, math.inf)
        elif op is operator.lt and out >= bound:
            out = bound - 1 if kind is int else math.nextafter(bound, -math.inf)
    return int(out) if kind is int else float(out)


def arg_kind(param: inspect.Parameter, old: Any) -> tuple[type, list[tuple[Any, float]]] | None:
    """(int or float, restrictions) of a bound argument, from its annotation, then the recipe's
    value, then the default; None when the bound is not a number (e.g. '10KB' strings)."""
    kind, restrictions = _unwrap(param.annotation)
    if kind in (int, float):
        return kind, restrictions
    fallback = old if old is not None else param.default
    if isinstance(fallback, bool) or not isinstance(fallback, (int, float)):
        return None
    return (int if isinstance(fallback, int) else float), restrictions


def refine_recipe_k_sigma(
    recipe: Mapping[str, Any], stats: Mapping[str, Mapping[str, Any]], *, k: float = 3.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return (a refined copy of ``recipe``, change records) where every stats filter in
    ``process`` whose stats key is in ``stats`` (``analyze()``'s summary["stats"]) gets
    ``min_* = mean - k*std`` and ``max_* = mean + k*std``.

    Types stay valid for Data-Juicer: the op signature decides int vs float (then the recipe's
    value, then the default), ints are rounded outward, restricted types are clamped, and a stat
    without a finite mean/std is skipped. Ops with ``reversed_range: true`` are left alone.
    A bound beyond the stat's natural range (``natural_range``: lengths and counts >= 0,
    ratios in [0, 1]) is clamped to it. Records: {index, op, arg, old, new, stat, mean, std,
    and ``note`` when the bound was clamped or cuts nothing of the analysed data}; ``old`` is
    the recipe value or, when the recipe left it out, the op's default.
    """
    if not (isinstance(k, (int, float)) and math.isfinite(k) and k >= 0):
        raise ValueError(f"k must be a finite number >= 0, got {k!r}")
    refined = to_plain(recipe)
    changes: list[dict[str, Any]] = []
    for index, item in enumerate(refined.get("process") or []):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        op_name, op_args = next(iter(item.items()))
        op_args = dict(op_args or {})
        if op_args.get("reversed_range"):
            continue
        candidates = [
            key
            for key in stat_keys_for_op(op_name)
            if key in stats and finite_float((stats[key] or {}).get("mean")) is not None
        ]
        if not candidates:
            continue
        changed = False
        for arg, param in bound_args_for_op(op_name).items():
            key = key_for_arg(op_name, arg, op_args, candidates)
            if key is None:
                continue
            mean, std = finite_float(stats[key].get("mean")), finite_float(stats[key].get("std"))
            if mean is None or std is None:
                continue
            old = op_args.get(
                arg, None if param.default is inspect.Parameter.empty else param.default
            )
            typed = arg_kind(param, old)
            if typed is None:
                continue  # e.g. image_size_filter's '10KB' strings
            kind, restrictions = typed
            is_min = arg.startswith("min_")
            raw = mean - k * std if is_min else mean + k * std
            new, note = _clamp_natural(
                coerce_bound(raw, kind, is_min, restrictions), key, is_min, kind
            )
            note = note or _cuts_nothing(new, stats[key], is_min)
            op_args[arg] = new
            changed = True
            changes.append(
                {
                    "index": index,
                    "op": op_name,
                    "arg": arg,
                    "old": old,
                    "new": new,
                    "stat": key,
                    "mean": mean,
                    "std": std,
                    **({"note": note} if note else {}),
                }
            )
        if changed:
            item[op_name] = op_args
    return refined, changes
