"""Scoring for study 7: precision and recall of each pool (and of k-sigma's removals) as a
detector of the recorded defects, with bootstrap intervals over clips, and the tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.common.bootstrap import Estimate
from experiments.common.tables import markdown_table

ANY = "any"
N_BOOT = 2000


def precision_recall(
    flagged: np.ndarray, truth: np.ndarray, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Precision and recall of `flagged` clips against `truth` (boolean arrays over the same
    clips), with 95% percentile intervals from resampling clips with replacement."""
    tp, f, t = flagged & truth, flagged, truth

    def ratios(idx: np.ndarray | slice) -> tuple[float, float]:
        hits, picked, actual = tp[idx].sum(-1), f[idx].sum(-1), t[idx].sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return hits / picked, hits / actual

    point_p, point_r = ratios(slice(None))
    draws = np.random.default_rng(seed).integers(0, len(truth), size=(N_BOOT, len(truth)))
    boot_p, boot_r = ratios(draws)
    out = {}
    for name, point, boot in (("precision", point_p, boot_p), ("recall", point_r, boot_r)):
        boot = boot[np.isfinite(boot)]
        point = float(point) if np.isfinite(point) else float("nan")
        if boot.size == 0 or not np.isfinite(point):
            out[name] = Estimate(point, point, point).as_dict()
            continue
        low, high = np.quantile(boot, [0.025, 0.975])
        out[name] = Estimate(point, float(min(low, point)), float(max(high, point))).as_dict()
    return out


def score(ids: list[str], defect: dict[str, str], detectors: dict[str, set[str]]) -> dict[str, Any]:
    """{detector: {defect kind or 'any': {precision, recall}}} plus prevalence per kind."""
    kinds = sorted({defect[i] for i in ids} - {""})
    truth = {kind: np.array([defect[i] == kind for i in ids]) for kind in kinds}
    truth[ANY] = np.array([defect[i] != "" for i in ids])
    scores = {}
    for name, chosen in detectors.items():
        flagged = np.array([i in chosen for i in ids])
        scores[name] = {
            kind: {**precision_recall(flagged, t), "flagged": int(flagged.sum())}
            for kind, t in truth.items()
        }
    prevalence = {kind: float(t.mean()) for kind, t in truth.items()}
    counts = {kind: int(t.sum()) for kind, t in truth.items()}
    return {"kinds": [*kinds, ANY], "scores": scores, "prevalence": prevalence, "counts": counts}


def _ci(value: dict[str, float]) -> str:
    if not np.isfinite(value["value"]):
        return "-"
    return f"{value['value']:.2f} [{value['low']:.2f}, {value['high']:.2f}]"


def best_detectors(result: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Per defect kind, the detector with the highest F1 (point values)."""
    best = {}
    for kind in result["kinds"]:
        ranked = []
        for name, per in result["scores"].items():
            p, r = per[kind]["precision"]["value"], per[kind]["recall"]["value"]
            f1 = 2 * p * r / (p + r) if np.isfinite(p) and p + r > 0 else 0.0
            ranked.append((f1, name))
        f1, name = max(ranked)
        best[kind] = (name, round(f1, 3))
    return best


def markdown(result: dict[str, Any], constant: list[str], facts: dict[str, Any]) -> list[str]:
    kinds, scores = result["kinds"], result["scores"]
    prevalence = ", ".join(
        f"{k} {result['counts'][k]} ({result['prevalence'][k]:.1%})" for k in kinds
    )
    sections = [
        "## Data\n\n"
        f"{facts['clips']} training clips; defects recorded (never shown to the run): "
        f"{prevalence}. A pool is one third of the clips by a stat (low: the lowest third); "
        "`k_sigma_<k>` is the set of clips Data-Juicer removed with the k-sigma recipe "
        "(bounds mean +- k std of each stat). A random third has, in expectation, precision "
        "= the defect's share and recall 0.33."
        + (
            f"\n\nStats with one value for every clip, left out of the tables (their thirds "
            f"are file-order thirds, not a detector): {', '.join(constant)}."
            if constant
            else ""
        )
    ]
    rows = [
        [name, _ci(per[ANY]["precision"]), _ci(per[ANY]["recall"]), per[ANY]["flagged"]]
        for name, per in scores.items()
    ]
    sections.append(
        "## Any defect: precision and recall (95% bootstrap interval over clips)\n\n"
        + markdown_table(["detector", "precision", "recall", "clips flagged"], rows)
    )
    for metric in ("recall", "precision"):
        rows = [
            [
                name,
                *(
                    f"{per[k][metric]['value']:.2f}"
                    if np.isfinite(per[k][metric]["value"])
                    else "-"
                    for k in kinds
                ),
            ]
            for name, per in scores.items()
        ]
        sections.append(
            f"## {metric.capitalize()} per defect kind\n\n"
            + markdown_table(["detector", *(f"{k} (n={result['counts'][k]})" for k in kinds)], rows)
        )
    best = best_detectors(result)
    lines = [f"- {kind}: `{name}` (F1 {f1:.2f})" for kind, (name, f1) in best.items()]
    sections.append("## Best detector per defect (F1)\n\n" + "\n".join(lines))
    return sections
