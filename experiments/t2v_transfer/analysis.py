"""Study 10's numbers: each model's pool ranking (mean over seeds), the Spearman between the two
models' rankings with a seed-bootstrap interval, how reproducible one model's ranking is from
seed to seed, and where the random thirds land."""

from __future__ import annotations

from itertools import combinations, product
from typing import Any

import numpy as np

from experiments.common.bootstrap import DEFAULT_LEVEL, Estimate, bootstrap, range_of_means
from experiments.common.spearman import average_ranks, spearman

N_BOOT = 2000
POOL_NAMES = ("low", "mid", "high")
CONTROL = "random"  # the file-order thirds (the clips are sorted by a hash of their id)
METRICS = {"fvd": False, "kvd": False, "motion_accuracy": True}  # name: higher is better


def pools_of_run(context: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{"stat/pool": {metric: value}} for one run of `+pipeline=easyanimate_pools`, the
    random thirds as "random/1".."random/3"."""
    single = context["single_op"]
    out: dict[str, dict[str, float]] = {}
    for stat, scores in single["fvd_pools"]["res_1"].items():
        for name, score in zip(POOL_NAMES, scores):
            out[f"{stat}/{name}"] = {m: float(score[m]) for m in METRICS}
    for i, score in enumerate(single["fvd_control"]["res_1"]["ignore_stats"], 1):
        out[f"{CONTROL}/{i}"] = {m: float(score[m]) for m in METRICS}
    return out


def matrix(runs: list[dict[str, dict[str, float]]], items: list[str], metric: str) -> np.ndarray:
    """items x seeds."""
    return np.array([[run[item][metric] for run in runs] for item in items], dtype=float)


def ranks(values: np.ndarray, higher_better: bool) -> np.ndarray:
    """Rank 1 = best pool (ties share the mean rank)."""
    return average_ranks(-values if higher_better else values)


def cross_model_spearman(
    a: np.ndarray, b: np.ndarray, n_boot: int = N_BOOT, seed: int = 0
) -> Estimate:
    """Spearman between the two models' pool means (items x seeds each); the interval
    resamples each model's seeds with replacement (the models' seeds are not paired)."""
    point = spearman(a.mean(axis=1), b.mean(axis=1))
    rng = np.random.default_rng(seed)
    na, nb = a.shape[1], b.shape[1]
    draws = np.array(
        [
            spearman(a[:, rng.integers(0, na, na)].mean(1), b[:, rng.integers(0, nb, nb)].mean(1))
            for _ in range(n_boot)
        ]
    )
    draws = draws[~np.isnan(draws)]  # a resample where every pool ties has no ranking
    if np.isnan(point) or not len(draws):
        return Estimate(point, float("nan"), float("nan"))
    alpha = (1 - DEFAULT_LEVEL) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return Estimate(point, float(min(low, point)), float(max(high, point)))


def pairwise(values: list[float]) -> dict[str, Any]:
    finite = [v for v in values if not np.isnan(v)]
    if not finite:
        return {"mean": None, "min": None, "max": None, "pairs": len(values)}
    return {
        "mean": float(np.mean(finite)),
        "min": float(min(finite)),
        "max": float(max(finite)),
        "pairs": len(values),
    }


def seed_to_seed(m: np.ndarray) -> dict[str, Any]:
    """Spearman between the rankings of every two seeds of one model: how reproducible a
    single seed's ranking is at all."""
    return pairwise([spearman(m[:, i], m[:, j]) for i, j in combinations(range(m.shape[1]), 2)])


def across_models(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """The same, between a seed of one model and a seed of the other: comparable with
    `seed_to_seed` (one seed's ranking against another's)."""
    pairs = product(range(a.shape[1]), range(b.shape[1]))
    return pairwise([spearman(a[:, i], b[:, j]) for i, j in pairs])


def spreads(m: np.ndarray, items: list[str], n_boot: int = N_BOOT) -> dict[str, dict[str, float]]:
    """Per stat (and the random thirds): best minus worst pool mean, with its seed interval."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(item.split("/")[0], []).append(i)
    return {
        g: bootstrap(m[idx], range_of_means, n_boot=n_boot).as_dict() for g, idx in groups.items()
    }


def summarise_metric(
    small: np.ndarray,
    large: np.ndarray,
    items: list[str],
    higher_better: bool,
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """One metric's comparison; `small`/`large`: items x seeds, the control items last."""
    stat_rows = [i for i, item in enumerate(items) if not item.startswith(CONTROL + "/")]
    out: dict[str, Any] = {"pools": []}
    rank_s, rank_l = ranks(small.mean(1), higher_better), ranks(large.mean(1), higher_better)
    for i, item in enumerate(items):
        out["pools"].append(
            {
                "pool": item,
                "small": bootstrap(small[i], np.mean, n_boot=n_boot).as_dict(),
                "large": bootstrap(large[i], np.mean, n_boot=n_boot).as_dict(),
                "small_rank": float(rank_s[i]),
                "large_rank": float(rank_l[i]),
            }
        )
    agree = cross_model_spearman(small[stat_rows], large[stat_rows], n_boot)
    out["spearman_stat_pools"] = agree.as_dict()
    out["spearman_all_pools"] = cross_model_spearman(small, large, n_boot).as_dict()
    out["seed_to_seed"] = {
        "small": seed_to_seed(small[stat_rows]),
        "large": seed_to_seed(large[stat_rows]),
        "across_models": across_models(small[stat_rows], large[stat_rows]),
    }
    out["spreads"] = {
        "small": spreads(small, items, n_boot),
        "large": spreads(large, items, n_boot),
    }
    control = [i for i in range(len(items)) if i not in stat_rows]
    out["control_ranks"] = {
        "small": [float(rank_s[i]) for i in control],
        "large": [float(rank_l[i]) for i in control],
    }
    out["best_pool"] = {
        "small": items[int(np.argmin(rank_s))],
        "large": items[int(np.argmin(rank_l))],
    }
    return out


def summarise(
    small_runs: list[dict[str, dict[str, float]]],
    large_runs: list[dict[str, dict[str, float]]],
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """Every metric's comparison; the pools are those of the first run, control last."""
    items = sorted(small_runs[0], key=lambda k: (k.startswith(CONTROL + "/"), 0))
    return {
        "items": items,
        "metrics": {
            metric: summarise_metric(
                matrix(small_runs, items, metric),
                matrix(large_runs, items, metric),
                items,
                hb,
                n_boot,
            )
            for metric, hb in METRICS.items()
        },
    }
