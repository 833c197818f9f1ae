"""Read the caption study's runs and summarise CIDEr over seeds (tables and one figure).

Pools are fixed by the data (the same for every seed); seeds change model initialisation,
batch order and the downsampling draw, so they are the unit of replication. The multi-op pools
are chosen by their single-op pools' test CIDEr, and the best multi-op pool by its own test
CIDEr: both selections use the test split, so "best" numbers are optimistic, as in the
reference's flow (the README says so).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from experiments.common.bootstrap import bootstrap, mean_ci, paired_difference, range_of_means
from experiments.common.figures import pyplot, save
from experiments.common.runs import one
from experiments.common.tables import fmt, markdown_table

POOL_NAMES = ("low", "mid", "high")
SCORE = "CIDEr"


def _count(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def _pool_labels(pools: dict[str, list[str]]) -> dict[str, str]:
    """Pool file -> 'stat level' (e.g. 'text_len high')."""
    return {
        path: f"{stat} {POOL_NAMES[i] if len(paths) == 3 else i}"
        for stat, paths in pools.items()
        for i, path in enumerate(paths)
    }


def _members(combined: str, ranked: list[str], labels: dict[str, str]) -> str:
    """'a ∩ b' for a combination file named ..._top_0_1_num_N.jsonl."""
    ranks = re.search(r"_top_([\d_]+)_num_", Path(combined).name)
    if ranks is None:
        return Path(combined).stem
    return " ∩ ".join(labels[ranked[int(r)]] for r in ranks.group(1).split("_"))


def measure(contexts: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Per-seed scores from each run's context, aligned by pool."""
    first = contexts[0]
    pools = first["single_op"]["pools"]["res_1"]
    single = {
        stat: {
            "rows": [_count(p) for p in paths],
            SCORE: [
                [ctx["single_op"]["test"]["res_1"][stat][i][SCORE] for ctx in contexts]
                for i in range(len(paths))
            ],
        }
        for stat, paths in pools.items()
    }
    multi, scaling = [], []
    for seed, ctx in zip(seeds, contexts):
        labels = _pool_labels(ctx["single_op"]["pools"]["res_1"])  # each run has its own files
        ranked = ctx["multi_op"]["ranking"]["res_1"]
        arms = [
            {"pool": _members(c, ranked, labels), "rows": _count(d), SCORE: m[SCORE]}
            for c, d, m in zip(
                ctx["multi_op"]["combine"]["res_1"],
                ctx["multi_op"]["downsample"]["res_1"],
                ctx["multi_op"]["test"]["res_1"],
            )
        ]
        multi.append({"seed": seed, "top": [labels[p] for p in ranked], "arms": arms})
        metas = ctx["multi_op"]["meta"]["res_1"]
        best = metas.index(one(ctx["scaling"]["best"]["res_1"]))
        scaling.append(
            {
                "seed": seed,
                "pool": arms[best]["pool"],
                "small": arms[best][SCORE],
                "large": one(ctx["scaling"]["test"]["res_1"])[SCORE],
            }
        )
    return {
        "seeds": seeds,
        "baseline": {
            "rows": first["baseline"]["train"]["train_metrics"]["train_rows"],
            SCORE: [ctx["baseline"]["test"]["res_1"][SCORE] for ctx in contexts],
            "caption_score": [
                ctx["baseline"]["test"]["res_1"]["caption_score"] for ctx in contexts
            ],
        },
        "single_op": single,
        "multi_op": multi,
        "scaling": scaling,
    }


def summarise(m: dict[str, Any]) -> dict[str, Any]:
    base = np.array(m["baseline"][SCORE])
    pools = {
        f"{stat} {POOL_NAMES[i]}": (stat, i, np.array(scores))
        for stat, s in m["single_op"].items()
        for i, scores in enumerate(s[SCORE])
    }
    gaps = sorted(
        (
            (stat, bootstrap(np.array(s[SCORE]), range_of_means))
            for stat, s in m["single_op"].items()
        ),
        key=lambda x: -x[1].value,
    )
    best_pool = max(pools, key=lambda k: pools[k][2].mean())
    best_multi = np.array([max(a[SCORE] for a in seed["arms"]) for seed in m["multi_op"]])
    top_counts = Counter(label for seed in m["multi_op"] for label in seed["top"])
    return {
        "baseline": mean_ci(base).as_dict(),
        "pools": {
            k: {
                "stat": s,
                "level": POOL_NAMES[i],
                "rows": m["single_op"][s]["rows"][i],
                SCORE: mean_ci(v).as_dict(),
            }
            for k, (s, i, v) in pools.items()
        },
        "gaps": [{"stat": s, "gap": e.as_dict()} for s, e in gaps],
        "best_pool": best_pool,
        "best_pool_minus_baseline": paired_difference(pools[best_pool][2], base).as_dict(),
        "best_multi_minus_baseline": paired_difference(best_multi, base).as_dict(),
        "best_multi_minus_best_pool": paired_difference(best_multi, pools[best_pool][2]).as_dict(),
        "large_minus_small": paired_difference(
            [s["large"] for s in m["scaling"]], [s["small"] for s in m["scaling"]]
        ).as_dict(),
        "top3_counts": dict(top_counts.most_common()),
    }


def _ci(d: dict[str, float]) -> str:
    return f"{d['value']:.3f} [{d['low']:.3f}, {d['high']:.3f}]"


def pools_figure(s: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    names = list(s["pools"])
    values = [s["pools"][n][SCORE] for n in names]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(
        range(len(names)),
        [v["value"] for v in values],
        yerr=[[v["value"] - v["low"] for v in values], [v["high"] - v["value"] for v in values]],
        color="#4c72b0",
        capsize=3,
    )
    ax.axhline(s["baseline"]["value"], color="black", linestyle="--", label="all training data")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("test CIDEr (mean over seeds)")
    ax.legend(fontsize=8)
    return save(fig, path)


def markdown(s: dict[str, Any], m: dict[str, Any], figure: str) -> list[str]:
    n = len(m["seeds"])
    pool_rows = [[v["stat"], v["level"], v["rows"], _ci(v[SCORE])] for v in s["pools"].values()]
    gap_rows = [[i + 1, g["stat"], _ci(g["gap"])] for i, g in enumerate(s["gaps"])]
    multi_rows = [
        [seed["seed"], a["pool"], a["rows"], fmt(a[SCORE])]
        for seed in m["multi_op"]
        for a in seed["arms"]
    ]
    scale_rows = [[x["seed"], x["pool"], fmt(x["small"]), fmt(x["large"])] for x in m["scaling"]]
    return [
        "## Setup\n\n"
        f"Seeds: {m['seeds']} ({n}); intervals: 95% percentile bootstrap over seeds (crude with "
        f"{n} seeds). Score: test CIDEr (pycocoevalcap). Baseline: the tiny captioner on all "
        f"{m['baseline']['rows']} training captions (after a 10% validation split).\n",
        f"## Baseline\n\nTest CIDEr {_ci(s['baseline'])}.\n",
        "## Single-op pools\n\n"
        + markdown_table(["stat", "pool", "rows", "CIDEr [95% CI]"], pool_rows)
        + f"\n\n![pools]({figure})\n",
        "## Operators ranked by best-minus-worst pool\n\n"
        + markdown_table(["rank", "stat", "gap [95% CI]"], gap_rows)
        + "\n",
        "## Multi-op pools (top pools by CIDEr, intersected, downsampled)\n\n"
        "Top pools chosen, times over seeds: "
        + ", ".join(f"{k} ({v})" for k, v in s["top3_counts"].items())
        + "\n\n"
        + markdown_table(["seed", "pool", "rows", "CIDEr"], multi_rows)
        + "\n",
        "## Scaling: the best multi-op pool with the larger tiny model\n\n"
        + markdown_table(["seed", "pool", "CIDEr small", "CIDEr large"], scale_rows)
        + "\n",
        "## Paired comparisons (mean over seeds [95% CI])\n\n"
        + markdown_table(
            ["comparison", "CIDEr difference"],
            [
                [
                    f"best single-op pool ({s['best_pool']}) minus all data",
                    _ci(s["best_pool_minus_baseline"]),
                ],
                ["best multi-op pool minus all data", _ci(s["best_multi_minus_baseline"])],
                [
                    "best multi-op pool minus best single-op pool",
                    _ci(s["best_multi_minus_best_pool"]),
                ],
                ["larger model minus small model (same pool)", _ci(s["large_minus_small"])],
            ],
        )
        + "\n",
    ]
