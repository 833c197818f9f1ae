"""Study 1's figures: accuracy per pool, and the gap ranking with the random-pool noise floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.common.figures import pyplot, save


def _err(e: dict[str, float]) -> tuple[float, float]:
    return e["value"] - e["low"], e["high"] - e["value"]


def pools_figure(summary: dict[str, Any], path: Path) -> str:
    """Mean test accuracy (95% CI) of each pool, grouped by stat; random partitions last."""
    plt = pyplot()
    ops = summary["operators"]
    stats = summary["ranking"] + summary["null_operators"]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(stats)), 4))
    colours = ["tab:blue", "tab:orange", "tab:green"]
    for x, stat in enumerate(stats):
        for i, pool in enumerate(ops[stat]["pools"]):
            lo, hi = _err(pool["accuracy"])
            null = stat in summary["null_operators"]
            ax.errorbar(
                x + (i - 1) * 0.22,
                pool["accuracy"]["value"],
                yerr=[[lo], [hi]],
                fmt="o",
                color="grey" if null else colours[i % 3],
                capsize=3,
                label=pool["name"] if x == 0 else None,
            )
    if summary["null_operators"]:
        values = [
            p["accuracy"]["value"] for s in summary["null_operators"] for p in ops[s]["pools"]
        ]
        ax.axhspan(
            min(values), max(values), color="grey", alpha=0.2, label="random-partition thirds"
        )
    ax.set_xticks(
        range(len(stats)), [s.replace("_", "\n").replace(" ", "\n") for s in stats], fontsize=8
    )
    ax.set_ylabel("test accuracy")
    ax.set_title("Low / mid / high pool per stat (mean over seeds, 95% CI)")
    ax.legend(fontsize=8)
    return save(fig, path)


def gaps_figure(summary: dict[str, Any], path: Path) -> str:
    """Best-minus-worst gap per stat (95% CI), the random pools' gap as the noise floor."""
    plt = pyplot()
    ops = summary["operators"]
    stats = summary["ranking"]
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(stats) + 1.5))
    for y, stat in enumerate(reversed(stats)):
        gap = ops[stat]["gap"]
        lo, hi = _err(gap)
        ax.errorbar(gap["value"], y, xerr=[[lo], [hi]], fmt="o", color="tab:blue", capsize=3)
    for k, null in enumerate(summary["null_operators"]):
        ax.axvline(
            ops[null]["gap"]["value"],
            color="grey",
            linestyle="--",
            label="random partitions" if k == 0 else None,
        )
    if summary["null_operators"]:
        ax.legend(fontsize=8)
    ax.set_yticks(range(len(stats)), list(reversed(stats)), fontsize=8)
    ax.set_xlabel("best minus worst pool accuracy")
    ax.set_title("Operator ranking")
    return save(fig, path)
