"""The run report's sections about the models: evaluation metrics across pipelines (and per
item, e.g. one model per data pool) and the training curves of each training job."""

from __future__ import annotations

import re
from typing import Any

from ..seed_stats import SUFFIXES
from .document import Doc, number
from .figures import draw_curves, draw_points
from .job_outputs import read_metrics_csv
from .pool_labels import folder_labels
from .run_folder import RunFolder, job_dir, job_label
from .summary import item_rows, summary_rows


def _metric_columns(rows: list[dict[str, Any]], skip: set[str]) -> list[str]:
    """Columns of summary rows that hold a metric (numbers; not times, row counts, labels)."""
    cols: list[str] = []
    for row in rows:
        for col, value in row.items():
            if (
                col in skip
                or col.endswith(" s")
                or col in cols
                or number(value) is None
                or col.split(".")[-1] in ("rows", "count")
                or col.endswith(SUFFIXES)
            ):
                continue
            cols.append(col)
    return cols


def _point(row: dict[str, Any], col: str) -> dict[str, Any] | None:
    """What one arm shows for a metric: its value, and the 95% interval and seeds if known."""
    mean = number(row.get(col))
    if mean is None:
        return None
    seeds = row.get(f"{col}_seeds")
    return {
        "mean": mean,
        "ci95": number(row.get(f"{col}_ci95")),
        "seeds": [float(v) for v in seeds] if isinstance(seeds, list) else [],
    }


def section_metrics(doc: Doc, run: RunFolder) -> None:
    rows = summary_rows(run.state)
    items = item_rows(run.state)
    metric_cols = _metric_columns(rows, {"pipeline", "rows kept", "train rows", "best epoch"})
    item_cols = _metric_columns(items, {"pipeline", "job", "item", "pool rows"})
    if not metric_cols and not item_cols:
        return
    with doc.section("Evaluation metrics across pipelines"):
        doc.para(
            "One panel per metric, each on its own scale (metrics of different scales are "
            "never averaged together), the axis spanning the values rather than starting at "
            "0. A metric measured over several training seeds shows its mean with the 95% "
            "interval (Student t) and each seed as a grey dot; a single seed shows no noise, "
            "so a small difference between arms may be chance. The summary above says which "
            "arms are within noise."
        )
        if metric_cols:
            labels = [str(r["pipeline"]) for r in rows]
            series = {c: [_point(r, c) for r in rows] for c in metric_cols}
            doc.figure(
                "metrics_pipelines",
                lambda fig: draw_points(fig, labels, series),
                "Evaluation metrics per pipeline",
                size=(min(4.0 * len(series), 14.0), 3.6),
            )
        if item_cols:
            doc.heading("Per item (one model per data pool)", 3)
            labels = [f"{r['pipeline']}:{r['job'].split('.')[0]}:{r['item']}" for r in items]
            series = {c: [_point(r, c) for r in items] for c in item_cols}
            doc.figure(
                "metrics_items",
                lambda fig: draw_points(fig, labels, series, horizontal=True),
                "Evaluation metrics per item",
                size=(min(4.5 * len(series), 14.0), 0.3 * len(labels) + 1.5),
            )


def section_training(doc: Doc, run: RunFolder) -> None:
    trains = [(k, s) for k, s in run.jobs() if s.get("hook") == "TrainModelHook" and job_dir(s)]
    found = [(k, s, sorted(job_dir(s).rglob("metrics.csv"))) for k, s in trains]
    found = [f for f in found if f[2]]
    if not found:
        return
    with doc.section("Training curves"):
        doc.para(
            "From each training job's Lightning CSV log (`metrics.csv`): losses on the "
            "left, validation metrics on the right, against the optimiser step."
        )
        for key, s, paths in found:
            curves = {}
            pools = folder_labels(run.state, key, s)  # one model per pool: name it by its pool
            for p in paths:
                rel = p.parent.relative_to(job_dir(s)).as_posix()
                rel = re.sub(r"/?(logs|lightning_logs|csv)/version_\d+$", "", rel) or rel
                data = read_metrics_csv(p)
                if data:
                    curves[pools.get(rel, rel)] = data
            if not curves:
                continue
            name = job_label(key, s)
            doc.figure(
                f"training_{key}",
                lambda fig, c=curves: draw_curves(fig, c),
                f"Training curves: {name}",
                size=(11.0, 4.0),
            )
