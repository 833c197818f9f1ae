"""The end-of-run comparison: one row per pipeline, with rows kept, metrics and stage times.

Read only from the saved state, so it can be rebuilt for any run folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..config import STAGES
from ..context import RunState
from ..data.pools.labels import leaves
from ..seed_stats import SUFFIXES, format_mean, noise_verdicts
from .pool_labels import PoolLabels, job_inputs, place_text

_METRIC_HOOKS = ("EvaluateModelHook", "EvaluateDataHook")


def _numbers(value: Any) -> bool:
    """A non-empty list of numbers (e.g. one metric per training seed)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)) or _numbers(value):
        out[prefix] = value
    elif isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)


def _is_metrics(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(not isinstance(v, (dict, list)) or _numbers(v) for v in value.values())
    )


def item_rows(state: RunState, iteration: int | None = None) -> list[dict[str, Any]]:
    """One row per item when an evaluation scored many models (e.g. one per data pool); a
    pooled item is named by its pool's composition (`num_words high ∩ text_len mid`) with the
    pool's rows, else by its place in the result (`text_len[0]`)."""
    ctx = state.context
    it = len(ctx.iterations) - 1 if iteration is None else iteration
    rows = []
    pools: PoolLabels | None = None
    for key, status in state.jobs.items():
        if (
            not key.startswith(f"{it}/")
            or status.get("status") != "done"
            or status.get("hook") not in _METRIC_HOOKS
        ):
            continue
        name = status.get("meta_name") or f"{status['stage']}_{status['index']}"
        results = ctx.iterations[it].get(status["pipeline"], {}).get(name, {})
        for result, value in results.items():
            if _is_metrics(value):
                continue
            items = [(p, m) for p, m in leaves(value, _is_metrics) if _is_metrics(m)]
            if not items:
                continue
            pools = pools or PoolLabels(state, it)
            named = pools.items(job_inputs(status), [p for p, _ in items])
            for place, metrics in items:
                label, pool_rows = named.get(place, (place_text(place), None))
                numbers = {
                    k: v
                    for k, v in metrics.items()
                    if (isinstance(v, (int, float)) and not isinstance(v, bool)) or _numbers(v)
                }
                row = {"pipeline": status["pipeline"], "job": f"{name}.{result}", "item": label}
                if pool_rows is not None:
                    row["pool rows"] = pool_rows
                rows.append({**row, **numbers})
    return rows


def summary_rows(state: RunState, iteration: int | None = None) -> list[dict[str, Any]]:
    """Rows for the last (or given) iteration: pipeline, rows kept, metrics, seconds per stage."""
    ctx = state.context
    it = len(ctx.iterations) - 1 if iteration is None else iteration
    rows: dict[str, dict[str, Any]] = {}
    for key, status in state.jobs.items():
        if not key.startswith(f"{it}/") or status.get("status") != "done":
            continue
        pipeline = status["pipeline"]
        row = rows.setdefault(pipeline, {"pipeline": pipeline})
        stage_key = f"{status['stage']} s"
        row[stage_key] = row.get(stage_key, 0.0) + float(status.get("elapsed") or 0.0)
        notes = status.get("notes") or {}
        if "rows_out" in notes:
            row["rows kept"] = f"{notes['rows_out']}/{notes['rows_in']}"
        name = status.get("meta_name") or f"{status['stage']}_{status['index']}"
        results = ctx.iterations[it].get(pipeline, {}).get(name, {})
        if status.get("hook") == "TrainModelHook":
            for value in results.values():
                if isinstance(value, dict) and "train_rows" in value:
                    row["train rows"] = value["train_rows"]
                    best = value.get("best_epochs", value.get("best_epoch"))
                    if best is not None:  # the epoch kept (best validation score), per seed
                        row["best epoch"] = (
                            "/".join(str(b) for b in best) if isinstance(best, list) else best
                        )
        if status.get("hook") in _METRIC_HOOKS:
            metrics: dict[str, Any] = {}
            _flatten("", results, metrics)
            for metric, value in metrics.items():
                if metric.startswith("res_") and "." in metric:
                    metric = metric.split(".", 1)[1]  # unnamed result: keep the metric name
                row[f"{name}.{metric}"] = value
    return list(rows.values())


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table with a stable column order: pipeline, data, metrics, stage times."""
    if not rows:
        return "(no finished jobs)\n"
    stage_cols = [f"{s} s" for s in STAGES]
    lead = [
        c
        for c in ("pipeline", "job", "item", "pool rows", "rows kept", "train rows", "best epoch")
        if any(c in r for r in rows)
    ]
    cols: list[str] = list(lead)
    for row in rows:
        for col, value in row.items():
            # Per-seed values and their spread show in the metric's own cell (mean ± std).
            if isinstance(value, list) or col.endswith(SUFFIXES[:2]):
                continue
            if col not in cols and col not in stage_cols:
                cols.append(col)
    cols += [c for c in stage_cols if any(c in r for r in rows)]

    if any(c in r for r in rows for c in stage_cols):
        for row in rows:
            row["total s"] = sum(row.get(c, 0.0) for c in stage_cols)
        cols.append("total s")

    def cell(row: dict[str, Any], col: str) -> str:
        value = row.get(col)
        with_noise = format_mean(row, col)
        if with_noise is not None:
            return with_noise
        if isinstance(value, float):
            return f"{value:.1f}" if col.endswith(" s") else f"{value:.4f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(r, c) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n" + noise_note(rows)


def noise_note(rows: list[dict[str, Any]]) -> str:
    """Below a table: how metrics over seeds read, and which arms are within noise; a
    reminder when a single seed is compared."""
    verdicts = noise_verdicts(rows)
    if verdicts:
        return (
            "\nMetrics over seeds: mean ± std (n seeds); arms compared by their 95% intervals "
            "(Student t over seeds).\n" + "".join(f"- {v}\n" for v in verdicts)
        )
    return ""


def write_summary(state: RunState, work_dir: Path) -> tuple[str, dict[str, Any]]:
    """Write summary.md/summary.json; returns (the printed tables, the summary data)."""
    rows, items = summary_rows(state), item_rows(state)
    table = format_table(rows)
    if items:
        table += "\nPer item (e.g. one model per data pool):\n\n" + format_table(items)
    stop = state.meta.get("stop")  # e.g. max_iter_cap reached without meeting iter_targets
    if stop:
        table = f"Warning: {stop}.\n\n{table}"
    atomic_write_text(work_dir / "summary.md", "# Run summary\n\n" + table)
    summary = {"pipelines": rows, "items": items, **({"stop": stop} if stop else {})}
    atomic_write_text(work_dir / "summary.json", json.dumps(summary, indent=1))
    return table, summary
