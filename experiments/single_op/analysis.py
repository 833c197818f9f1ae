"""Study 1's numbers: pool means, the best-worst gap per stat with bootstrap CIs, the ranking.

Also used by the transfer study (`gaps`, `bootstrap_gaps`) and read by the multi_op and
duplication studies through results.json (`top_operators`, `best_pool`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.common.bootstrap import bootstrap, mean_ci, range_of_means
from experiments.common.tables import markdown_table

NULL_PREFIX = "random partition "  # the control's "operators" (null_control.yaml)
POOL_NAMES = ("low", "mid", "high")


def is_null(name: str) -> bool:
    return name.startswith(NULL_PREFIX)


def gaps(accuracy: dict[str, Any], idx: np.ndarray | None = None) -> dict[str, float]:
    """Best minus worst pool mean per stat, over all seeds or the seed columns `idx`."""
    out = {}
    for stat, matrix in accuracy.items():
        m = np.asarray(matrix, dtype=float)
        out[stat] = range_of_means(m if idx is None else m[:, idx])
    return out


def _same_pools(facts: dict[str, list[dict[str, Any]]]) -> dict[str, str | None]:
    """For each stat, the first earlier stat whose three pools hold exactly the same rows."""
    seen: dict[tuple[str, ...], str] = {}
    out: dict[str, str | None] = {}
    for stat, pools in facts.items():
        if is_null(stat):
            continue
        key = tuple(p["digest"] for p in pools)
        out[stat] = seen.get(key)
        seen.setdefault(key, stat)
    return out


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    """Everything the tables, figures and the other studies need."""
    facts = measured["pool_facts"]
    same = _same_pools(facts)
    operators: dict[str, Any] = {}
    for stat, matrix in measured["accuracy"].items():
        m = np.asarray(matrix, dtype=float)
        means = m.mean(axis=1)
        operators[stat] = {
            "gap": bootstrap(m, range_of_means).as_dict(),
            "best_pool": int(means.argmax()),
            "worst_pool": int(means.argmin()),
            "pools": [
                {
                    "name": f"third {i + 1}" if is_null(stat) or len(m) != 3 else POOL_NAMES[i],
                    "accuracy": mean_ci(row).as_dict(),
                    "macro_f1": float(np.mean(measured["macro_f1"][stat][i])),
                    **facts[stat][i],
                }
                for i, row in enumerate(m)
            ],
            "same_pools_as": same.get(stat),
        }
    ranked = sorted(
        (s for s in operators if not is_null(s)), key=lambda s: -operators[s]["gap"]["value"]
    )
    nulls = [s for s in operators if is_null(s)]
    floor = max((operators[s]["gap"]["value"] for s in nulls), default=None)
    for s in ranked:  # an operator is above the noise when its whole interval is
        operators[s]["above_noise"] = None if floor is None else operators[s]["gap"]["low"] > floor
    distinct = [s for s in ranked if operators[s]["same_pools_as"] is None]
    best_stat, best_pool = max(
        ((s, p) for s in ranked for p in range(len(operators[s]["pools"]))),
        key=lambda sp: operators[sp[0]]["pools"][sp[1]]["accuracy"]["value"],
    )
    return {
        "operators": operators,
        "ranking": ranked,
        "distinct_ranking": distinct,
        "top_operators": [
            {"stat": s, "best_pool": operators[s]["best_pool"]} for s in distinct[:3]
        ],
        "best_pool": {
            "stat": best_stat,
            "pool": best_pool,
            "accuracy": operators[best_stat]["pools"][best_pool]["accuracy"],
        },
        "null_operators": nulls,
        "noise_floor": floor,  # the largest random-partition gap
    }


def _ci(e: dict[str, float]) -> str:
    return f"{e['value']:.3f} [{e['low']:.3f}, {e['high']:.3f}]"


def markdown(summary: dict[str, Any], measured: dict[str, Any], figures: list[str]) -> list[str]:
    ops, p = summary["operators"], measured["profile"]
    setup = (
        f"## Setup\n\nTraining rows: {p['train_rows'] or 'all (4000)'}; test rows: "
        f"{p['test_rows'] or 'all (1000)'} (majority-class accuracy "
        f"{measured['majority_accuracy']:.3f}). Text classifier: embed_dim "
        f"{p['embed_dim']}, max_epochs {p['epochs']}, no validation split. Seeds: "
        f"{measured['seeds']}. Intervals: 95% percentile bootstrap over seeds.\n"
    )
    rows = []
    for rank, stat in enumerate(summary["ranking"], 1):
        o = ops[stat]
        rows.append(
            [
                rank,
                stat,
                _ci(o["gap"]),
                o["pools"][o["best_pool"]]["name"],
                o["pools"][o["worst_pool"]]["name"],
                {True: "yes", False: "no", None: "–"}[o.get("above_noise")],
                o["same_pools_as"] or "",
            ]
        )
    for stat in summary["null_operators"]:
        rows.append(["–", stat, _ci(ops[stat]["gap"]), "–", "–", "–", "control: no stat"])
    floor = (
        ""
        if summary["noise_floor"] is None
        else f"Noise floor: the largest random-partition gap, {summary['noise_floor']:.3f}. "
        "`above noise`: the gap's whole interval lies above it.\n\n"
    )
    ranking = (
        "## Ranking: best-pool minus worst-pool accuracy\n\n"
        + floor
        + markdown_table(
            [
                "rank",
                "stat",
                "gap [95% CI]",
                "best pool",
                "worst pool",
                "above noise",
                "same pools as",
            ],
            rows,
        )
    )
    pool_rows = []
    for stat in summary["ranking"] + summary["null_operators"]:
        for pool in ops[stat]["pools"]:
            span = (
                f"{pool['stat_min']:.4g} – {pool['stat_max']:.4g}"
                if pool.get("stat_min") is not None
                else "–"
            )
            pool_rows.append(
                [
                    stat,
                    pool["name"],
                    span,
                    pool.get("stat_mode_share"),
                    pool["rows"],
                    pool["positive_share"],
                    _ci(pool["accuracy"]),
                    pool["macro_f1"],
                ]
            )
    pools = (
        "## Pools\n\n`tied`: share of the pool's rows at its most common stat value (rows "
        "tied across a pool boundary are split by their order in the file). `great share`: "
        "fraction labelled `great` (the test set: "
        f"{measured['majority_accuracy']:.3f}).\n\n"
        + markdown_table(
            [
                "stat",
                "pool",
                "stat range",
                "tied",
                "rows",
                "great share",
                "test accuracy [95% CI]",
                "macro-F1",
            ],
            pool_rows,
        )
    )
    best = summary["best_pool"]
    top = ", ".join(f"{t['stat']} ({POOL_NAMES[t['best_pool']]})" for t in summary["top_operators"])
    picks = (
        "## Handed to the other studies\n\n"
        f"Top-3 distinct operators (multi_op): {top}. "
        f"Best single pool (duplication): {best['stat']} {POOL_NAMES[best['pool']]} "
        f"({_ci(best['accuracy'])}).\n"
    )
    figs = "## Figures\n\n" + "\n".join(f"![{f}]({f})" for f in figures) + "\n"
    return [setup, ranking, pools, picks, figs]
