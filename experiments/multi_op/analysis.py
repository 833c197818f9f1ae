"""Study 2's numbers and figure: each intersection against the same-size random pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experiments.common.bootstrap import mean_ci, paired_difference
from experiments.common.figures import pyplot, save
from experiments.common.tables import markdown_table


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    rand = np.asarray(measured["random"]["accuracy"], dtype=float)
    rows = []
    for label, c in measured["combos"].items():
        acc = np.asarray(c["accuracy"], dtype=float)
        rows.append(
            {
                "pool": label,
                "members": c["members"],
                "intersection_rows": c["intersection_rows"],
                "rows": c["downsampled"]["rows"],
                "positive_share": c["downsampled"]["positive_share"],
                "accuracy": mean_ci(acc).as_dict(),
                "minus_random": paired_difference(acc, rand).as_dict(),
                "wins_over_random": int((acc > rand).sum()),
            }
        )
    return {
        "pools": rows,
        "random": {
            "rows": measured["random"]["facts"]["rows"],
            "positive_share": measured["random"]["facts"]["positive_share"],
            "accuracy": mean_ci(rand).as_dict(),
        },
        "seeds": len(rand),
    }


def _ci(e: dict[str, float], sign: bool = False) -> str:
    f = "+.3f" if sign else ".3f"
    return f"{e['value']:{f}} [{e['low']:{f}}, {e['high']:{f}}]"


def markdown(summary: dict[str, Any], measured: dict[str, Any], figure: str) -> list[str]:
    picks = ", ".join(f"{p['stat']} (pool {p['best_pool']})" for p in measured["picks"])
    p = measured["profile"]
    source = Path(measured["single_op_results"])
    setup = (
        f"## Setup\n\nPicked pools (study 1's top-3 distinct operators, each one's best "
        f"pool, 0 low / 1 mid / 2 high; from `{source.parent.name}/{source.name}`): {picks}. Every non-empty "
        f"intersection is downsampled to the smallest one's size; the control is as many "
        f"random training rows, drawn per seed. Text classifier: embed_dim "
        f"{p['embed_dim']}, max_epochs {p['epochs']}. Seeds: {measured['seeds']} "
        f"(the same seed trains every pool and draws the random rows). Majority-class "
        f"test accuracy {measured['majority_accuracy']:.3f}. Intervals: 95% percentile "
        "bootstrap over seeds; the difference is paired by seed.\n"
    )
    n = summary["seeds"]
    rows = [
        [
            r["pool"],
            r["intersection_rows"],
            r["rows"],
            r["positive_share"],
            _ci(r["accuracy"]),
            _ci(r["minus_random"], sign=True),
            f"{r['wins_over_random']}/{n}",
        ]
        for r in summary["pools"]
    ]
    rnd = summary["random"]
    rows.append(
        [
            "random rows (control)",
            "–",
            rnd["rows"],
            rnd["positive_share"],
            _ci(rnd["accuracy"]),
            "–",
            "–",
        ]
    )
    table = "## Results\n\n" + markdown_table(
        [
            "pool",
            "rows before downsampling",
            "rows trained on",
            "great share",
            "test accuracy [95% CI]",
            "minus random [95% CI]",
            "seeds beating random",
        ],
        rows,
    )
    return [setup, table, f"## Figure\n\n![{figure}]({figure})\n"]


def figure(summary: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    rows = summary["pools"]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.8))
    for y, r in enumerate(reversed(rows)):
        e = r["minus_random"]
        ax.errorbar(
            e["value"],
            y,
            xerr=[[e["value"] - e["low"]], [e["high"] - e["value"]]],
            fmt="o",
            color="tab:blue",
            capsize=3,
        )
    ax.axvline(0, color="grey", linestyle="--")
    ax.set_yticks(range(len(rows)), [r["pool"] for r in reversed(rows)], fontsize=7)
    ax.set_xlabel("accuracy minus same-size random rows (paired by seed, 95% CI)")
    ax.set_title(f"Intersections of the top-3 pools, {rows[0]['rows']} rows each")
    return save(fig, path)
