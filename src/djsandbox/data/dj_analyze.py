"""Run Data-Juicer's Analyzer on a recipe and return per-sample stats plus a JSON-safe summary."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from djsandbox.data.dj_runtime import (
    build_dj_config,
    dj_log_to,
    forbid_runtime_installs,
    prepare_offline_env,
)

__all__ = ["analyze", "summarize_overall", "finite_float"]

STAT_ROWS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")


def finite_float(value: Any) -> float | None:
    """Plain float, with NaN/inf/non-numbers as None (JSON has no NaN)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def summarize_overall(overall: Any) -> dict[str, dict[str, float | None]]:
    """Data-Juicer's overall table (a pandas DataFrame: rows count/mean/std/percentiles, maybe
    unique/top/freq for string stats; one column per stats key) as {key: {row: float|None}}.
    Only numeric stats are kept: a column whose mean is not a number is a string stat."""
    out: dict[str, dict[str, float | None]] = {}
    if overall is None:
        return out
    index = [str(i) for i in overall.index]
    for column in overall.columns:
        values = dict(zip(index, overall[column].tolist()))
        if finite_float(values.get("mean")) is None:
            continue
        out[str(column)] = {
            row: finite_float(values.get(row)) for row in STAT_ROWS if row in values
        }
        for row, value in values.items():  # extra percentiles asked for in `percentiles`
            if row.endswith("%") and row not in out[str(column)]:
                out[str(column)][row] = finite_float(value)
    return out


def analyze(
    recipe: Mapping[str, Any], *, work_dir: Path, base_dirs: Sequence[Path] = ()
) -> tuple[str, dict[str, Any]]:
    """Compute the stats of every filter in the recipe over its dataset, without filtering.

    Returns (path of the exported dataset whose rows carry ``__dj__stats__``, summary) with
    summary = {"analysis_dir", "stats": {key: {count, mean, std, min, 25%, 50%, 75%, max}},
    "rows"}. Data-Juicer also writes ``<export stem>_stats.jsonl`` (stats only) next to the
    export, and overall.csv/overall.md and plots into ``analysis_dir``.
    """
    from djsandbox.data.dj_ray import ray_analyze, ray_job, uses_ray

    prepare_offline_env()
    with ray_job(recipe):
        # The Analyzer exports rows (and keeps their stats) only with export_original_dataset.
        cfg = build_dj_config(
            recipe,
            work_dir=work_dir,
            base_dirs=base_dirs,
            job="analyze",
            overrides={"export_original_dataset": True, "keep_stats_in_res_ds": True},
        )
        with dj_log_to(cfg, "analyze"), forbid_runtime_installs():
            if uses_ray(cfg):  # stats on Ray, summarised here as the default Analyzer does
                overall, analysis_path, rows = ray_analyze(cfg)
            else:
                from data_juicer.core import Analyzer

                analyzer = Analyzer(cfg)
                dataset = analyzer.run()
                overall, analysis_path = analyzer.overall_result, analyzer.analysis_path
                rows = int(len(dataset)) if overall is not None else 0
    if overall is None:  # no stats-producing op: Data-Juicer returns before exporting
        raise ValueError("the recipe has no filter that computes stats; nothing to analyse")
    summary = {
        "analysis_dir": str(Path(analysis_path).absolute()),
        "stats": summarize_overall(overall),
        "rows": rows,
    }
    return str(cfg.export_path), summary
