"""Distances between two sets of video features, and the Inception Score of class
probabilities: the numbers behind FVD, KVD and IS, computed here from a detector's outputs.

- FVD: the Fréchet distance between Gaussian fits of the two sets (mean and population
  covariance, as StyleGAN-V's FVD). The matrix square root is taken through symmetric
  eigendecompositions (``tr sqrt(A B) = sum sqrt(eig(sqrt(A) B sqrt(A)))``), which stays real
  and finite when the covariances are singular: with fewer clips than feature dimensions they
  always are, and ``scipy.linalg.sqrtm`` then returns complex noise.
- KVD: the unbiased squared MMD with the cubic polynomial kernel ``(x.y / d + 1) ** 3`` of
  KID/KVD (Binkowski et al.), over all pairs of the two sets (sizes may differ).
- IS: ``exp(E_x KL(p(y|x) || p(y)))`` over the set's class probabilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def _features(x: np.ndarray, what: str, min_rows: int = 2) -> np.ndarray:
    import numpy as np

    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < min_rows:
        raise ValueError(f"{what}: expected at least {min_rows} feature rows, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what}: features hold NaN or infinite values")
    return a


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance (negative round-off eigenvalues clipped)."""
    import numpy as np

    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population covariance (divided by n, as the reference) of feature rows."""

    a = _features(features, "features")
    mean = a.mean(axis=0)
    centred = a - mean
    return mean, centred.T @ centred / a.shape[0]


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))``, never negative."""
    import numpy as np

    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    value = float(np.square(mu1 - mu2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * cross)
    return max(value, 0.0)


def fvd(fake: np.ndarray, real: np.ndarray) -> float:
    """Fréchet distance between the Gaussian fits of two feature sets."""
    return frechet_distance(*gaussian_fit(fake), *gaussian_fit(real))


def kvd(fake: np.ndarray, real: np.ndarray) -> float:
    """Unbiased squared MMD between two feature sets, cubic polynomial kernel."""
    x, y = _features(fake, "fake features"), _features(real, "real features")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    n, m = len(x), len(y)
    within_x = (kxx.sum() - kxx.trace()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.trace()) / (m * (m - 1))
    return float(within_x + within_y - 2 * kxy.mean())


def inception_score(probs: np.ndarray) -> float:
    """``exp(mean KL(p(y|x) || p(y)))`` of class probabilities (rows summing to 1): 1 when
    every clip gets the same prediction, the class count when predictions are confident and
    spread evenly over the classes."""
    import numpy as np

    p = _features(probs, "class probabilities", min_rows=1)
    p = np.clip(p, 1e-12, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    marginal = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(p) - np.log(marginal))).sum(axis=1)
    return float(np.exp(kl.mean()))
