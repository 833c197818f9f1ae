"""Study 3's numbers: gap rankings at two scales, Spearman with a seed-bootstrap interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experiments.common.bootstrap import DEFAULT_LEVEL, Estimate
from experiments.common.figures import estimate_point, pyplot, save
from experiments.common.spearman import average_ranks, spearman
from experiments.common.tables import markdown_table
from experiments.single_op.analysis import gaps
from experiments.single_op.analysis import summarise as summarise_single

N_BOOT = 2000


def _matrices(measured: dict[str, Any], stats: list[str]) -> dict[str, np.ndarray]:
    return {s: np.asarray(measured["accuracy"][s], dtype=float) for s in stats}


def _pool_means(acc: dict[str, np.ndarray], idx: np.ndarray | None = None) -> np.ndarray:
    return np.concatenate([(m if idx is None else m[:, idx]).mean(axis=1) for m in acc.values()])


def bootstrap_spearman(
    small: dict[str, np.ndarray],
    large: dict[str, np.ndarray],
    level: str = "gap",
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> Estimate:
    """Spearman between the two scales' operator gaps (level="gap") or pool means
    (level="pool"); each bootstrap sample resamples each side's seeds with replacement."""

    def stat(i_small: np.ndarray | None, i_large: np.ndarray | None) -> float:
        if level == "gap":
            a, b = gaps(small, i_small), gaps(large, i_large)
            return spearman([a[s] for s in small], [b[s] for s in small])
        return spearman(_pool_means(small, i_small), _pool_means(large, i_large))

    point = stat(None, None)
    n_s = next(iter(small.values())).shape[1]
    n_l = next(iter(large.values())).shape[1]
    rng = np.random.default_rng(seed)
    draws = np.array(
        [stat(rng.integers(0, n_s, n_s), rng.integers(0, n_l, n_l)) for _ in range(n_boot)]
    )
    draws = draws[~np.isnan(draws)]  # a resample where every gap ties has no ranking
    if not len(draws) or np.isnan(point):
        return Estimate(point, float("nan"), float("nan"))
    alpha = (1 - DEFAULT_LEVEL) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return Estimate(point, float(min(low, point)), float(max(high, point)))


def summarise(small: dict[str, Any], large: dict[str, Any], stats: list[str]) -> dict[str, Any]:
    s_acc, l_acc = _matrices(small, stats), _matrices(large, stats)
    s_sum, l_sum = summarise_single(small), summarise_single(large)
    s_rank = average_ranks([-s_sum["operators"][s]["gap"]["value"] for s in stats])
    l_rank = average_ranks([-l_sum["operators"][s]["gap"]["value"] for s in stats])
    operators = [
        {
            "stat": s,
            "small_gap": s_sum["operators"][s]["gap"],
            "large_gap": l_sum["operators"][s]["gap"],
            "small_rank": float(s_rank[i]),
            "large_rank": float(l_rank[i]),
            "small_best_pool": s_sum["operators"][s]["best_pool"],
            "large_best_pool": l_sum["operators"][s]["best_pool"],
            "small_pool_means": [p["accuracy"]["value"] for p in s_sum["operators"][s]["pools"]],
            "large_pool_means": [p["accuracy"]["value"] for p in l_sum["operators"][s]["pools"]],
        }
        for i, s in enumerate(stats)
    ]
    return {
        "operators": operators,
        "spearman_gap": bootstrap_spearman(s_acc, l_acc, "gap").as_dict(),
        "spearman_pool": bootstrap_spearman(s_acc, l_acc, "pool").as_dict(),
        "same_best_pool": sum(o["small_best_pool"] == o["large_best_pool"] for o in operators),
        "noise_floor_small": s_sum["noise_floor"],  # study 1's largest random-partition gap
        "mean_accuracy": {
            "small": float(_pool_means(s_acc).mean()),
            "large": float(_pool_means(l_acc).mean()),
        },
    }


def _ci(e: dict[str, float] | None) -> str:
    if not e or e.get("value") is None or np.isnan(e["value"]):
        return "–"
    return f"{e['value']:.3f} [{e['low']:.3f}, {e['high']:.3f}]"


def _floor(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown(
    summary: dict[str, Any],
    small: dict[str, Any],
    large: dict[str, Any],
    small_path: Path,
    figure: str,
) -> list[str]:
    sp, lp = small["profile"], large["profile"]
    n = len(summary["operators"])
    setup = (
        f"## Setup\n\nSmall scale: study 1's results (`{small_path.parent.name}/"
        f"{small_path.name}`): embed_dim {sp['embed_dim']}, max_epochs {sp['epochs']}, "
        f"seeds {small['seeds']}. Large scale: embed_dim {lp['embed_dim']}, max_epochs "
        f"{lp['epochs']}, seeds {large['seeds']}; same pools, same test set. Operators "
        f"compared: the {n} distinct ones of study 1 (identical-pool duplicates dropped). "
        "Spearman uses average ranks for ties; its 95% interval resamples the seeds of "
        "both scales.\n"
    )
    headline = (
        "## Rank correlation\n\n"
        + markdown_table(
            ["what is correlated", "items", "Spearman [95% CI]"],
            [
                ["operator gap (best minus worst pool)", n, _ci(summary["spearman_gap"])],
                ["pool mean accuracy", 3 * n, _ci(summary["spearman_pool"])],
            ],
        )
        + f"\nSame best pool at both scales: {summary['same_best_pool']} of {n} operators. Mean "
        f"pool accuracy: {summary['mean_accuracy']['small']:.3f} small, "
        f"{summary['mean_accuracy']['large']:.3f} large. Study 1's noise floor (largest gap of a "
        f"random partition, small model): {_floor(summary['noise_floor_small'])}; operators "
        "whose gaps sit below it at both scales can only be ranked by noise.\n"
    )
    rows = [
        [
            o["stat"],
            _ci(o["small_gap"]),
            o["small_rank"],
            _ci(o["large_gap"]),
            o["large_rank"],
            f"{o['small_best_pool']} / {o['large_best_pool']}",
        ]
        for o in sorted(summary["operators"], key=lambda o: o["small_rank"])
    ]
    table = "## Operators\n\nPools: 0 low, 1 mid, 2 high.\n\n" + markdown_table(
        [
            "stat",
            "small gap [95% CI]",
            "small rank",
            "large gap [95% CI]",
            "large rank",
            "best pool small / large",
        ],
        rows,
        digits=1,
    )
    return [setup, headline, table, f"## Figure\n\n![{figure}]({figure})\n"]


def figure(summary: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    ops = summary["operators"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    for o in ops:
        estimate_point(a, o["small_gap"], o["large_gap"], o["stat"])
        b.scatter(o["small_pool_means"], o["large_pool_means"], label=o["stat"], s=18)
    a.set_xlabel("gap, small model")
    a.set_ylabel("gap, large model")
    a.set_title(f"Operator gaps (Spearman {summary['spearman_gap']['value']:.2f})")
    lo = min(min(o["small_pool_means"] + o["large_pool_means"]) for o in ops)
    hi = max(max(o["small_pool_means"] + o["large_pool_means"]) for o in ops)
    b.plot([lo, hi], [lo, hi], color="grey", linestyle="--", linewidth=1)
    b.set_xlabel("pool accuracy, small model")
    b.set_ylabel("pool accuracy, large model")
    b.set_title(f"Pool means (Spearman {summary['spearman_pool']['value']:.2f})")
    b.legend(fontsize=6)
    return save(fig, path)
