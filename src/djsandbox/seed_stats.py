"""Mean, spread and a 95% interval of a metric measured over several training seeds.

One seed's accuracy says little: two arms 0.002 apart may swap places with the next seed.
Components that train one model per seed report `<metric>` (the mean), `<metric>_std`,
`<metric>_ci95` (half-width of the Student-t interval of the mean) and `<metric>_seeds`; the
summary table and the report read the same keys back to say whether arms are within noise.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

SUFFIXES = ("_std", "_ci95", "_seeds")


def t_quantile(n: int) -> float:
    """The two-sided 95% quantile of Student's t with n-1 degrees of freedom (n >= 2)."""
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1))


def describe(values: Sequence[float]) -> dict[str, Any]:
    """mean, std (sample, n-1), ci95 half-width and n; std and ci95 are None for one value."""
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        return {"mean": None, "std": None, "ci95": None, "n": 0}
    mean = sum(xs) / n
    if n < 2:
        return {"mean": mean, "std": None, "ci95": None, "n": n}
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return {"mean": mean, "std": std, "ci95": t_quantile(n) * std / math.sqrt(n), "n": n}


def seed_metrics(name: str, values: Sequence[float]) -> dict[str, Any]:
    """`{name: mean, name_std, name_ci95, name_seeds}` for one metric over seeds."""
    d = describe(values)
    return {
        name: d["mean"],
        f"{name}_std": d["std"],
        f"{name}_ci95": d["ci95"],
        f"{name}_seeds": [float(v) for v in values],
    }


def interval(row: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    """The 95% interval of `metric` in a row holding the keys of `seed_metrics` (None when
    the noise is not known: one seed, or no spread reported)."""
    mean, half = row.get(metric), row.get(f"{metric}_ci95")
    if not isinstance(mean, (int, float)) or not isinstance(half, (int, float)):
        return None
    return float(mean) - float(half), float(mean) + float(half)


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two intervals overlap (then the difference is within noise)."""
    return a[0] <= b[1] and b[0] <= a[1]


def format_mean(row: Mapping[str, Any], metric: str, digits: int = 4) -> str | None:
    """'0.7980 ± 0.0021 (n=3)' (mean ± std) when the row holds seeds for `metric`, else None."""
    mean, std, seeds = row.get(metric), row.get(f"{metric}_std"), row.get(f"{metric}_seeds")
    if not isinstance(mean, (int, float)) or not isinstance(seeds, list):
        return None
    if not isinstance(std, (int, float)):
        return f"{mean:.{digits}f} (n={len(seeds)})"
    return f"{mean:.{digits}f} ± {std:.{digits}f} (n={len(seeds)})"


LABEL_KEYS = ("pipeline", "job", "item")


def _label(row: Mapping[str, Any]) -> str:
    return ":".join(str(row[k]) for k in LABEL_KEYS if row.get(k) not in (None, ""))


def noise_verdicts(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One plain sentence per metric with seeds in two or more rows: which arms (named by
    pipeline, and job and item when given) are within noise of each other (95% intervals
    overlap) and which differ."""
    metrics: list[str] = []
    for row in rows:
        for key in row:
            if key.endswith("_seeds") and key[: -len("_seeds")] not in metrics:
                metrics.append(key[: -len("_seeds")])
    lines = []
    for metric in metrics:
        arms = [(_label(r), interval(r, metric)) for r in rows if metric in r]
        known = [(name, iv) for name, iv in arms if iv is not None]
        if len(known) < 2:
            continue
        ordered = sorted(known, key=lambda a: -(a[1][0] + a[1][1]))
        same = all(overlap(a[1], b[1]) for i, a in enumerate(known) for b in known[i + 1 :])
        if same:
            verdict = "within noise (95% intervals overlap): no arm is shown better"
        else:
            pairs = [
                f"{a[0]} > {b[0]}"
                for i, a in enumerate(ordered)
                for b in ordered[i + 1 :]
                if not overlap(a[1], b[1])
            ]
            verdict = "differ beyond noise: " + ", ".join(pairs)
        lines.append(f"{metric}: " + ", ".join(n for n, _ in ordered) + f" {verdict}.")
    return lines
