"""The model behind `text_quality_classifier`: hashed word n-grams and a logistic regression
(scikit-learn), saved as one .npz file. numpy and scikit-learn load inside the functions.
"""

from __future__ import annotations

import json
import math
import re
import warnings
import zlib
from pathlib import Path
from typing import Any, Iterable

from ..atomic import atomic_open

OURS = "text_quality_classifier"  # the component these models belong to

MODEL_FORMAT = "djsandbox.text_quality_classifier"
MODEL_VERSION = 1

_TOKEN_RE = re.compile(r"\w+")


# ------------------------------------------------------------------------------ features


def terms(text: str, ngram: int = 2) -> list[str]:
    """Lowercased word tokens and their word n-grams up to ``ngram`` (space-joined, so an
    n-gram can never equal a unigram)."""
    toks = _TOKEN_RE.findall(text.lower())
    out = list(toks)
    for n in range(2, ngram + 1):
        out += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return out


class HashedFeatures:
    """Texts -> sparse rows of ``log1p(term count)`` over ``num_buckets`` CRC32 buckets,
    L2-normalised so that long and short documents score on the same scale.

    CRC32 rather than ``hash()``: Python salts string hashes per process, which would make a
    saved model meaningless in the next one.
    """

    def __init__(self, num_buckets: int, ngram: int) -> None:
        self.num_buckets = int(num_buckets)
        self.ngram = int(ngram)
        self._cache: dict[str, int] = {}

    def bucket(self, term: str) -> int:
        b = self._cache.get(term)
        if b is None:
            b = zlib.crc32(term.encode("utf-8")) % self.num_buckets
            if len(self._cache) < 2_000_000:
                self._cache[term] = b
        return b

    def transform(self, texts: Iterable[str]) -> Any:
        import numpy as np
        from scipy import sparse

        indptr, indices, values = [0], [], []
        for text in texts:
            counts: dict[int, int] = {}
            for t in terms(text, self.ngram):
                b = self.bucket(t)
                counts[b] = counts.get(b, 0) + 1
            cols = sorted(counts)
            vals = [math.log1p(counts[c]) for c in cols]
            norm = math.sqrt(sum(v * v for v in vals)) or 1.0
            indices += cols
            values += [v / norm for v in vals]
            indptr.append(len(indices))
        n = len(indptr) - 1
        return sparse.csr_matrix(
            (
                np.asarray(values, dtype=np.float64),
                np.asarray(indices, dtype=np.int64),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(n, self.num_buckets),
        )


# --------------------------------------------------------------------------------- model


class TextQualityModel:
    """Logistic regression over :class:`HashedFeatures`; ``score`` is P(positive)."""

    def __init__(
        self,
        weights: Any,
        bias: float,
        num_buckets: int,
        ngram: int,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.weights = weights
        self.bias = float(bias)
        self.features = HashedFeatures(num_buckets, ngram)
        self.info = dict(info or {})

    def score(self, texts: list[str]) -> Any:
        import numpy as np

        z = self.features.transform(texts) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path) -> None:
        """Only the non-zero weights are stored (unseen buckets stay exactly zero)."""
        import numpy as np

        nz = np.flatnonzero(self.weights)
        meta = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "num_buckets": self.features.num_buckets,
            "ngram": self.features.ngram,
            "bias": self.bias,
            "info": self.info,
        }
        with atomic_open([path], "wb") as (fh,):
            np.savez_compressed(
                fh,
                indices=nz.astype(np.int64),
                values=self.weights[nz],
                meta=np.array(json.dumps(meta)),
            )

    @classmethod
    def load(cls, path: Path | str) -> TextQualityModel:
        import numpy as np

        p = Path(path)
        if not p.is_file():
            raise ValueError(f"model_path: model file {str(p)!r} does not exist")
        try:
            with np.load(p, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                indices, values = data["indices"], data["values"]
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"model_path: {str(p)!r} is not a {OURS} model ({exc})") from None
        if meta.get("format") != MODEL_FORMAT or meta.get("version") != MODEL_VERSION:
            raise ValueError(
                f"model_path: {str(p)!r} is not a {OURS} model of version "
                f"{MODEL_VERSION} (found {meta.get('format')!r} {meta.get('version')!r})"
            )
        weights = np.zeros(int(meta["num_buckets"]), dtype=np.float64)
        weights[indices] = values
        return cls(weights, meta["bias"], meta["num_buckets"], meta["ngram"], meta.get("info"))


def _auc(scores: Any, labels: Any) -> float | None:
    """Area under the ROC curve (ties counted half); None with one class."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def fit_logistic(X: Any, y: Any, l2: float, max_iter: int) -> tuple[Any, float, dict[str, Any]]:
    """Class-balanced, L2-regularised logistic regression (scikit-learn's Newton-CG:
    deterministic, 5x faster than its L-BFGS on these features, and unlike liblinear it leaves
    the bias unregularised).

    The objective is the class-weighted mean log loss plus ``l2/2 * |w|^2`` (the bias is not
    regularised), i.e. scikit-learn's with ``C = 1 / (l2 * n)`` (``l2 = 0``: none). Only the buckets seen in
    training are fitted; the others stay exactly zero, which keeps the problem and the saved
    model small.
    """
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    cols = np.unique(X.indices)
    Xs = X[:, cols].tocsr()
    n = Xs.shape[0]
    clf = LogisticRegression(
        C=1.0 / (l2 * n) if l2 > 0 else np.inf,
        class_weight="balanced",
        solver="newton-cg",
        tol=1e-6,
        max_iter=int(max_iter),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported as "converged": false
        clf.fit(Xs, y)
    w, bias = clf.coef_[0], float(clf.intercept_[0])
    sw = np.where(y == 1, n / (2.0 * y.sum()), n / (2.0 * (n - y.sum()))) / n  # sums to 1
    z = Xs @ w + bias
    loss = float(sw @ np.logaddexp(0.0, np.where(y == 1, -z, z)) + 0.5 * l2 * (w @ w))
    weights = np.zeros(X.shape[1], dtype=np.float64)
    weights[cols] = w
    iterations = int(clf.n_iter_[0])
    return (
        weights,
        bias,
        {"iterations": iterations, "converged": iterations < int(max_iter), "final_loss": loss},
    )
