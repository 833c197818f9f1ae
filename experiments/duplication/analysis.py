"""Study 5's numbers and figure: each arm's accuracy, duplicated minus fresh at equal size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experiments.common.bootstrap import mean_ci, paired_difference
from experiments.common.figures import pyplot, save
from experiments.common.tables import markdown_table


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    arms = measured["arms"]
    out = {
        name: {
            "times": a["times"],
            "rows": a["facts"]["rows"],
            "distinct_rows": a["facts"]["distinct_rows"],
            "positive_share": a["facts"]["positive_share"],
            "accuracy": mean_ci(a["accuracy"]).as_dict(),
        }
        for name, a in arms.items()
    }
    diffs = {}
    for t in (1, 2, 4):
        dup, fresh = arms.get(f"best pool x{t}"), arms.get(f"fresh rows x{t}")
        if dup and fresh:
            diffs[f"x{t}"] = paired_difference(dup["accuracy"], fresh["accuracy"]).as_dict()
    x1 = arms["best pool x1"]["accuracy"]
    gains = {
        name: paired_difference(a["accuracy"], x1).as_dict()
        for name, a in arms.items()
        if name.startswith("best pool") and name != "best pool x1"
    }
    return {"arms": out, "duplicated_minus_fresh": diffs, "gain_over_best_pool_x1": gains}


def _ci(e: dict[str, float], sign: bool = False) -> str:
    f = "+.3f" if sign else ".3f"
    return f"{e['value']:{f}} [{e['low']:{f}}, {e['high']:{f}}]"


def markdown(summary: dict[str, Any], measured: dict[str, Any], figure: str) -> list[str]:
    p, best = measured["profile"], measured["best_pool"]
    names = ("low", "mid", "high")
    setup = (
        f"## Setup\n\nBest pool of study 1 (`{Path(measured['single_op_results']).parent.name}"
        f"/results.json`): {best['stat']} {names[best['pool']]}. Base: {p['base_rows']} rows "
        f"of it, drawn per seed. Text classifier: embed_dim {p['embed_dim']}, max_epochs "
        f"{p['epochs']} (the `long` arm: {4 * p['epochs']}). Seeds: {measured['seeds']}. "
        f"Majority-class test accuracy {measured['majority_accuracy']:.3f}. Intervals: 95% "
        "percentile bootstrap over seeds; differences are paired by seed.\n"
    )
    rows = [
        [name, a["rows"], a["distinct_rows"], a["positive_share"], _ci(a["accuracy"])]
        for name, a in summary["arms"].items()
    ]
    arms = "## Arms\n\n" + markdown_table(
        ["arm", "rows trained on", "distinct rows", "great share", "test accuracy [95% CI]"], rows
    )
    diff_rows = [
        [f"best pool {k} minus fresh rows {k}", _ci(e, sign=True)]
        for k, e in summary["duplicated_minus_fresh"].items()
    ]
    diff_rows += [
        [f"{name} minus best pool x1", _ci(e, sign=True)]
        for name, e in summary["gain_over_best_pool_x1"].items()
    ]
    diffs = "## Paired differences\n\n" + markdown_table(
        ["difference", "accuracy [95% CI]"], diff_rows
    )
    return [setup, arms, diffs, f"## Figure\n\n![{figure}]({figure})\n"]


def figure(summary: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    arms = summary["arms"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for prefix, colour in (("best pool x", "tab:blue"), ("fresh rows x", "tab:orange")):
        pts = sorted(
            (a["rows"], a["accuracy"])
            for n, a in arms.items()
            if n.startswith(prefix) and "epochs" not in n
        )
        xs = [r for r, _ in pts]
        ys = np.array([e["value"] for _, e in pts])
        err = np.array([[e["value"] - e["low"], e["high"] - e["value"]] for _, e in pts]).T
        ax.errorbar(
            xs,
            ys,
            yerr=err,
            fmt="o-",
            color=colour,
            capsize=3,
            label=prefix.rstrip(" x") + (" (duplicated)" if "best" in prefix else ""),
        )
    long = [(n, a) for n, a in arms.items() if "epochs" in n]
    for n, a in long:
        e = a["accuracy"]
        ax.errorbar(
            [a["rows"]],
            [e["value"]],
            yerr=[[e["value"] - e["low"]], [e["high"] - e["value"]]],
            fmt="s",
            color="tab:green",
            capsize=3,
            label=n,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("rows trained on (per epoch)")
    ax.set_ylabel("test accuracy (mean, 95% CI)")
    ax.set_title("Duplicated best pool vs fresh rows")
    ax.legend(fontsize=8)
    return save(fig, path)
