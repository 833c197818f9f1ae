"""The sweep report's figures: each `draw_*` fills a fresh matplotlib `Figure` it is given.

All drawn here rather than with optuna's own plots: optuna 2.10's matplotlib
parallel-coordinate and importance plots break on current matplotlib.
"""

from __future__ import annotations

import math
from typing import Any

from .document import fmt, number


def draw_pareto(fig: Any, trials: list, front: set[int], names: list[str]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    other = [t for t in trials if t.number not in front]
    best = sorted((t for t in trials if t.number in front), key=lambda t: t.values[0])
    if other:
        ax.scatter(
            [t.values[0] for t in other],
            [t.values[1] for t in other],
            color="#aaa",
            label="trial",
            s=18,
        )
    ax.plot(
        [t.values[0] for t in best],
        [t.values[1] for t in best],
        "o-",
        color="#c0392b",
        label="Pareto front",
        markersize=5,
    )
    for t in best:
        ax.annotate(
            f"#{t.number}",
            (t.values[0], t.values[1]),
            fontsize=7,
            textcoords="offset points",
            xytext=(3, 3),
        )
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.legend(fontsize=7)


def draw_history(fig: Any, study: Any, complete: list, names: list[str]) -> None:
    from optuna.study import StudyDirection

    for i, (name, direction) in enumerate(zip(names, study.directions)):
        ax = fig.add_subplot(1, len(names), i + 1)
        xs = [t.number for t in complete]
        ys = [t.values[i] for t in complete]
        ax.scatter(xs, ys, s=16, color="#3b75af", label="trial")
        pick = min if direction == StudyDirection.MINIMIZE else max
        best, run = [], None
        for y in ys:
            run = y if run is None else pick(run, y)
            best.append(run)
        ax.step(xs, best, where="post", color="#c0392b", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(name)
        ax.set_title(f"{name} ({direction.name.lower()})", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()


def draw_importances(fig: Any, results: dict[str, dict[str, float]]) -> None:
    for i, (name, imp) in enumerate(results.items()):
        ax = fig.add_subplot(1, len(results), i + 1)
        items = sorted(imp.items(), key=lambda kv: kv[1])
        ax.barh(range(len(items)), [v for _, v in items], color="#3b75af")
        ax.set_yticks(range(len(items)), [k for k, _ in items], fontsize=8)
        ax.set_xlabel("importance", fontsize=8)
        ax.set_title(name, fontsize=9)
    fig.tight_layout()


def _param_axis(trials: list, param: str) -> tuple[list[float], list[str], list[float]]:
    """Values of one param mapped to [0, 1] (log scale for log distributions, index for
    categorical ones), plus tick labels and their positions."""
    from optuna.distributions import CategoricalDistribution

    dist = next((t.distributions[param] for t in trials if param in t.distributions), None)
    raw = [t.params.get(param) for t in trials]
    if isinstance(dist, CategoricalDistribution) or any(
        number(v) is None for v in raw if v is not None
    ):
        choices = (
            list(dist.choices)
            if isinstance(dist, CategoricalDistribution)
            else list(dict.fromkeys(raw))
        )
        labels = [str(c) for c in choices]
        idx = [labels.index(str(v)) if str(v) in labels else math.nan for v in raw]
        span = max(len(choices) - 1, 1)
        return [i / span for i in idx], labels, [i / span for i in range(len(choices))]
    log_scale = bool(getattr(dist, "log", False))
    xs = [float(v) if v is not None else math.nan for v in raw]
    tx = [math.log10(x) if log_scale and x > 0 else x for x in xs]
    finite = [x for x in tx if math.isfinite(x)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = (hi - lo) or 1.0
    low_label = 10**lo if log_scale else lo
    high_label = 10**hi if log_scale else hi
    return [(x - lo) / span for x in tx], [fmt(low_label), fmt(high_label)], [0.0, 1.0]


def draw_parallel(fig: Any, trials: list, params: list[str], objective: str) -> None:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    ax = fig.add_subplot(1, 1, 1)
    values = [t.values[0] for t in trials]
    norm = Normalize(min(values), max(values) if max(values) > min(values) else min(values) + 1)
    cmap = colormaps["viridis"]
    lo, hi = min(values), max(values)
    obj_axis = [(v - lo) / ((hi - lo) or 1.0) for v in values]
    axes = [_param_axis(trials, p) for p in params]
    xs = list(range(len(params) + 1))
    for j in range(len(trials)):
        ys = [a[0][j] for a in axes] + [obj_axis[j]]
        ax.plot(xs, ys, color=cmap(norm(values[j])), alpha=0.8, linewidth=1.2)
    for x, (_, labels, ticks) in enumerate(axes):
        ax.axvline(x, color="#555", linewidth=0.8)
        for label, tick in zip(labels, ticks):
            ax.text(x + 0.03, tick, label, fontsize=7, va="center")
    ax.axvline(len(params), color="#555", linewidth=0.8)
    ax.text(len(params) + 0.03, 0.0, fmt(lo), fontsize=7, va="center")
    ax.text(len(params) + 0.03, 1.0, fmt(hi), fontsize=7, va="center")
    ax.set_xticks(xs, params + [objective], fontsize=8, rotation=15)
    ax.set_yticks([])
    ax.set_xlim(-0.1, len(params) + 0.4)
    ax.set_ylim(-0.08, 1.08)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=objective)


def draw_by_run(fig: Any, labels: list[str], metrics: dict[str, list[float | None]]) -> None:
    """One panel per metric: each run's value as a dot (the y axis fits the values, so close
    values are not flattened against a zero baseline); runs without the metric are left out."""
    n = len(metrics)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    for i, (name, values) in enumerate(metrics.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        xs = [j for j, v in enumerate(values) if number(v) is not None]
        ax.plot(xs, [values[j] for j in xs], "o", color="#3b75af", markersize=6)
        for j in xs:
            ax.annotate(
                fmt(values[j]),
                (j, values[j]),
                fontsize=7,
                textcoords="offset points",
                xytext=(4, 3),
            )
        ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=30, ha="right")
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.margins(y=0.25)
        ax.set_title(name, fontsize=9)
        ax.grid(axis="y", color="#eee")
    fig.tight_layout()
