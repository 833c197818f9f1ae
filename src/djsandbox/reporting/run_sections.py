"""The run report's sections about the run itself: overview, jobs (failed and interrupted
ones included) and the summary table of the last iteration."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..seed_stats import format_mean, noise_verdicts
from .document import Doc, fmt, number
from .run_folder import RunFolder, job_label
from .summary import format_table, item_rows, summary_rows


def _when(ts: Any) -> str:
    x = number(ts)
    return _dt.datetime.fromtimestamp(x).strftime("%Y-%m-%d %H:%M:%S") if x else ""


def _notes_text(notes: Any) -> str:
    if not isinstance(notes, dict):
        return ""
    parts = []
    for k, v in notes.items():
        if k == "changes" and isinstance(v, list):
            parts.append(f"{len(v)} bound changes")
        elif not isinstance(v, (dict, list)):
            parts.append(f"{k}={fmt(v)}")
    return ", ".join(parts)


def section_overview(doc: Doc, run: RunFolder) -> None:
    with doc.section("Overview"):
        statuses = [s.get("status") for s in run.state.jobs.values()]
        counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
        meta = run.state.meta or {}
        doc.bullets(
            [
                f"project: `{meta.get('project_name') or run.snapshot.get('project_name') or '?'}`, "
                f"experiment: `{meta.get('experiment_name') or run.snapshot.get('experiment_name') or '?'}`",
                f"run folder: `{run.work_dir}`",
                f"iterations with results: {len(run.iterations)}",
                "jobs: " + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none ran"),
            ]
        )
        if any(s == "failed" for s in statuses):
            doc.para("**The run failed**: see *Failed jobs* below.")
        elif any(s == "interrupted" for s in statuses):
            doc.para("**The run was interrupted**: `resume=true` continues it.")


def section_jobs(doc: Doc, run: RunFolder) -> None:
    with doc.section("Pipelines and jobs"):
        rows = []
        for key, s in run.jobs():
            rows.append(
                {
                    "iter": key.split("/", 1)[0],
                    "pipeline": s.get("pipeline"),
                    "stage": s.get("stage"),
                    "#": s.get("index"),
                    "meta_name": s.get("meta_name") or "",
                    "hook": s.get("hook"),
                    "status": s.get("status"),
                    "started": _when(s.get("started")),
                    "time s": round(float(s.get("elapsed") or 0.0), 1)
                    if s.get("elapsed") is not None
                    else None,
                    "notes": _notes_text(s.get("notes")),
                }
            )
        rows += run.planned_not_run()
        if not rows:
            doc.para("No job has run.")
            return
        doc.table(
            rows,
            [
                "iter",
                "pipeline",
                "stage",
                "#",
                "meta_name",
                "hook",
                "status",
                "started",
                "time s",
                "notes",
            ],
        )
    failed = [(k, s) for k, s in run.jobs() if s.get("status") == "failed"]
    if failed:
        with doc.section("Failed jobs"):
            for key, s in failed:
                doc.para(f"**{job_label(key, s)}**: {s.get('error') or 'no error recorded'}")
                if s.get("error_log"):
                    doc.para(f"traceback: `{s['error_log']}`")
    stopped = [(k, s) for k, s in run.jobs() if s.get("status") in ("running", "interrupted")]
    if stopped:
        with doc.section("Interrupted jobs"):
            doc.bullets(
                [
                    f"{job_label(k, s)}: started {_when(s.get('started'))}, "
                    + (
                        str(s.get("error") or "interrupted")
                        if s.get("status") == "interrupted"
                        else "never finished"
                    )
                    for k, s in stopped
                ]
            )


def section_summary(doc: Doc, run: RunFolder) -> None:
    with doc.section("Summary (last iteration)"):
        rows = summary_rows(run.state)
        if rows:
            _table_from_summary(doc, rows)
        items = item_rows(run.state)
        if items:
            doc.heading("Per item (e.g. one model per data pool)", 3)
            _table_from_summary(doc, items)


def _table_from_summary(doc: Doc, rows: list[dict[str, Any]]) -> None:
    """Reuse summary.format_table's column order (it also adds `total s`)."""
    rows = [dict(r) for r in rows]
    text = format_table(rows)  # adds `total s` to the rows
    header = text.splitlines()[0]
    cols = [c.strip() for c in header.strip("|").split("|")]
    verdicts = noise_verdicts(rows)
    for row in rows:
        for col, value in list(row.items()):
            if col.endswith(" s") and isinstance(value, float):
                row[col] = round(value, 1)
            elif col in cols and format_mean(row, col) is not None:
                row[col] = format_mean(row, col)  # mean ± std (n seeds)
    doc.table(rows, cols)
    if verdicts:
        doc.para(
            "Metrics over seeds: mean ± std (n seeds); arms are compared by their 95% "
            "intervals (Student t over seeds)."
        )
        doc.bullets(verdicts)
