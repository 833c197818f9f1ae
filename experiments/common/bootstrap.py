"""Percentile-bootstrap confidence intervals over training seeds.

Seeds are the unit of replication in these studies (the pools are fixed by the data), so every
interval resamples seeds with replacement, and paired quantities (two arms trained with the
same seed) are resampled together. With 3-5 seeds the interval is crude and tends to be too
narrow; the READMEs say so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

DEFAULT_BOOT = 5000
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def text(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def bootstrap(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    n_boot: int = DEFAULT_BOOT,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> Estimate:
    """`statistic` of `values` (seeds on the last axis) with a percentile interval.

    Each bootstrap sample draws seed columns with replacement, the same columns for every row,
    so rows measured with the same seeds stay paired. The point value is the statistic of the
    data itself, which can fall outside a skewed interval; the interval is widened to contain
    it so that low <= value <= high always holds.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[-1]
    if n == 0:
        raise ValueError("bootstrap: no seeds")
    point = float(statistic(values))
    if n == 1:
        return Estimate(point, point, point)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n))
    stats = np.array([statistic(values[..., idx]) for idx in draws], dtype=float)
    alpha = (1 - level) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return Estimate(point, float(min(low, point)), float(max(high, point)))


def mean_ci(values: np.ndarray | list[float], **kwargs) -> Estimate:
    """Mean over seeds with its bootstrap interval."""
    return bootstrap(np.asarray(values, dtype=float), lambda v: float(np.mean(v)), **kwargs)


def paired_difference(
    a: np.ndarray | list[float], b: np.ndarray | list[float], **kwargs
) -> Estimate:
    """Mean of a - b over seeds (same seed, same index) with its bootstrap interval."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_difference: shapes differ {a.shape} vs {b.shape}")
    return mean_ci(a - b, **kwargs)


def range_of_means(matrix: np.ndarray) -> float:
    """Best minus worst row mean: the gap between pools (rows) averaged over seeds (columns)."""
    means = np.asarray(matrix, dtype=float).mean(axis=-1)
    return float(means.max() - means.min())
