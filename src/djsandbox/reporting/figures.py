"""The run report's figures: each `draw_*` fills a fresh matplotlib `Figure` it is given.

Drawing only: the sections gather the data and hand it over, and `Doc.figure` saves the result
(matplotlib is imported there, lazily; numpy here, inside the function that needs it).
"""

from __future__ import annotations

import math
from typing import Any


def draw_funnel(fig: Any, labels: list[str], counts: list[int | None]) -> None:
    """Rows left after each op, as horizontal bars (the input in grey)."""
    ax = fig.add_subplot(1, 1, 1)
    ys = list(range(len(labels)))[::-1]
    vals = [c if c is not None else 0 for c in counts]
    bars = ax.barh(ys, vals, color=["#888"] + ["#3b75af"] * (len(vals) - 1))
    ax.set_yticks(ys, labels)
    for bar, c in zip(bars, counts):
        if c is not None:
            ax.text(
                bar.get_width(),
                bar.get_y() + bar.get_height() / 2,
                f" {c}",
                va="center",
                fontsize=8,
            )
    ax.set_xlabel("rows")
    if vals and max(vals) > 0:
        ax.set_xlim(0, max(vals) * 1.15)


def draw_hists(
    fig: Any,
    stats: list[str],
    before: dict[str, list[float]],
    after: dict[str, list[float]],
    bounds: dict[str, dict[str, float]],
) -> None:
    """One histogram per stat, before and after, with the refined bounds as dashed lines."""
    import numpy as np

    cols = min(3, len(stats))
    rows = math.ceil(len(stats) / cols)
    for i, stat in enumerate(stats):
        ax = fig.add_subplot(rows, cols, i + 1)
        b = np.asarray(before.get(stat, []), dtype=float)
        a = np.asarray(after.get(stat, []), dtype=float)
        both = np.concatenate([b, a]) if a.size else b
        if both.size == 0:
            continue
        lo, hi = float(both.min()), float(both.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
        ax.hist(b, bins=edges, alpha=0.55, label=f"before ({b.size})", color="#999")
        if a.size:
            ax.hist(a, bins=edges, alpha=0.6, label=f"after ({a.size})", color="#3b75af")
        for side, value in (bounds.get(stat) or {}).items():
            if lo - (hi - lo) <= value <= hi + (hi - lo):  # far-off bounds would squash the plot
                ax.axvline(
                    value, color="#c0392b", linestyle="--", linewidth=1, label=f"{side} bound"
                )
        ax.set_title(stat, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.tight_layout()


def draw_points(
    fig: Any,
    labels: list[str],
    series: dict[str, list[dict[str, Any] | None]],
    horizontal: bool = False,
) -> None:
    """One panel per metric: a dot per arm at its value (the mean over seeds), its 95% interval
    as a bar when known, each seed as a small grey dot. The axis spans the values, never from
    0: arms 0.002 apart must not look equal, nor a difference inside the interval look real."""
    n = len(series)
    for i, (metric, points) in enumerate(series.items()):
        ax = fig.add_subplot(1, n, i + 1)
        pos = list(range(len(labels)))[::-1] if horizontal else list(range(len(labels)))
        for p, point in zip(pos, points):
            if not point or point.get("mean") is None:
                continue
            mean, half = point["mean"], point.get("ci95")
            seeds = point.get("seeds") or []
            xy = (lambda v, p=p: (v, p)) if horizontal else (lambda v, p=p: (p, v))
            if seeds:
                ax.scatter(*zip(*[xy(v) for v in seeds]), s=9, color="#999", zorder=2)
            err = {"xerr" if horizontal else "yerr": half} if half is not None else {}
            ax.errorbar(*xy(mean), fmt="o", color="#3b75af", capsize=4, zorder=3, **err)
            text = f"{mean:.4g}" + (f" ± {half:.2g}" if half is not None else "")
            ax.annotate(text, xy(mean), textcoords="offset points", xytext=(6, 4), fontsize=7)
        if horizontal:
            ax.set_yticks(pos, labels if i == 0 else [""] * len(labels), fontsize=7)
            ax.margins(x=0.25, y=0.1)
        else:
            many = len(labels) > 3
            ax.set_xticks(pos, labels, rotation=30 if many else 0, ha="right" if many else "center")
            ax.margins(x=0.3, y=0.25)
        noisy = any(p and p.get("ci95") is not None for p in points)
        ax.set_title(metric + (" (mean, 95% CI)" if noisy else ""), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, axis="x" if horizontal else "y", linewidth=0.3)
    fig.tight_layout()


def draw_curves(fig: Any, curves: dict[str, dict[str, list[tuple[float, float]]]]) -> None:
    """Losses on the left, validation metrics on the right, against the step."""
    ax_loss, ax_val = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    many = len(curves) > 1
    for label, data in curves.items():
        prefix = f"{label}: " if many else ""
        for col, points in data.items():
            if col.endswith("_epoch") and col.replace("_epoch", "_step") in data:
                continue  # the per-step curve already shows it
            is_loss = "loss" in col
            if many and not is_loss and "accuracy" not in col:
                continue  # keep a readable legend with one model per pool
            if many and is_loss and not col.startswith("val"):
                continue
            xs, ys = zip(*points)
            ax = ax_loss if is_loss else ax_val
            ax.plot(
                xs,
                ys,
                marker="o" if len(points) < 12 else None,
                markersize=3,
                linewidth=1,
                label=prefix + col,
            )
    for ax, title in ((ax_loss, "loss"), (ax_val, "validation metrics")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    fig.tight_layout()
