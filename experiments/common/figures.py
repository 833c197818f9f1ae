"""Matplotlib without a display, and one way to save figures (PNG, tight, 120 dpi)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> str:
    """Write the figure and close it; returns the file name (for Markdown links)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return path.name


def estimate_point(
    ax: Any,
    x: dict[str, float],
    y: dict[str, float],
    label: str,
    marker: str = "o",
    fontsize: int = 7,
) -> None:
    """One labelled point for two estimates ({value, low, high}): its interval on each axis."""
    ax.errorbar(
        x["value"],
        y["value"],
        xerr=[[x["value"] - x["low"]], [x["high"] - x["value"]]],
        yerr=[[y["value"] - y["low"]], [y["high"] - y["value"]]],
        fmt=marker,
        capsize=2,
    )
    ax.annotate(
        label,
        (x["value"], y["value"]),
        fontsize=fontsize,
        xytext=(3, 3),
        textcoords="offset points",
    )
