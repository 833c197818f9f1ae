"""The run report's sections about the data: the funnel of each process job (rows left after
each op) and the stat distributions before and after a k-sigma refinement."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .document import Doc, fmt, number
from .figures import draw_funnel, draw_hists
from .job_outputs import dataset_stats, iter_jsonl, parse_dj_process_log
from .run_folder import Job, RunFolder, job_config, job_dir, job_label


def _overwritten_by(run: RunFolder, key: str, status: dict[str, Any], path: Path) -> str:
    """The later processing job (its label) that wrote the analysis' own export file, or ''."""
    for k, s in run.processes_after(key, status):
        out = run.processed_path(k, s)
        if out is not None and out.resolve() == path.resolve():
            return job_label(k, s)
    return ""


def _bound_changes(refine: Job | None) -> list[dict[str, Any]]:
    """The bound changes a k-sigma refinement recorded in its notes."""
    return ((refine[1].get("notes") or {}).get("changes") or []) if refine else []


def estimate_funnel(
    recipe: dict[str, Any], stats: dict[str, list[float]], changes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows left after each op, recomputed by applying each op's bounds (inclusive) to the
    analysed per-sample stats in recipe order. Only ops whose stat is known from the k-sigma
    change records can be applied; others count as keeping every row."""
    stat_of = {(c.get("index"), c.get("op")): c.get("stat") for c in changes}
    n = min((len(v) for v in stats.values()), default=0)
    keep = [True] * n
    out = []
    for index, item in enumerate(recipe.get("process") or []):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        op, args = next(iter(item.items()))
        args = args or {}
        stat = stat_of.get((index, op))
        values = stats.get(stat) if stat else None
        if values is not None and len(values) == n:
            lo = next((number(v) for a, v in args.items() if a.startswith("min_")), None)
            hi = next((number(v) for a, v in args.items() if a.startswith("max_")), None)
            for j, x in enumerate(values):
                if keep[j] and ((lo is not None and x < lo) or (hi is not None and x > hi)):
                    keep[j] = False
        out.append({"#": index + 1, "op": op, "left": sum(keep), "applied": values is not None})
    return out


def section_funnel(doc: Doc, run: RunFolder) -> None:
    processes = [
        (k, s)
        for k, s in run.jobs()
        if s.get("hook") == "ProcessDataHook" and s.get("status") == "done"
    ]
    if not processes:
        return
    with doc.section("Data funnel"):
        doc.para(
            "Rows left after each op of each Data-Juicer process job, read from "
            "Data-Juicer's own executor log (`dj/process/logs/*.log`, lines "
            "`OP [name] Done in ... Left N samples`). When that log is missing, the funnel "
            "is recomputed by applying the refined bounds to the analysed per-sample stats "
            "in recipe order, and marked *estimated*."
        )
        for key, s in processes:
            name = job_label(key, s)
            notes = s.get("notes") or {}
            rows_in = notes.get("rows_in")
            steps = parse_dj_process_log(job_dir(s)) if job_dir(s) else []
            source = "Data-Juicer log"
            if not steps:
                steps, source = _estimated_steps(run, key, s), "estimated from analysed stats"
            if rows_in is None:
                rows_in = _analysis_rows(run, key, s)
            doc.heading(name, 3)
            if not steps:
                doc.para(
                    f"rows in: {fmt(rows_in)}, rows out: {fmt(notes.get('rows_out'))} "
                    "(no per-op counts available)"
                )
                continue
            table, prev = [], rows_in
            for step in steps:
                left = step["left"]
                removed = (prev - left) if isinstance(prev, int) else None
                table.append(
                    {
                        "#": step["#"],
                        "op": step["op"],
                        "rows left": left,
                        "removed": removed,
                        "% of input": round(100.0 * left / rows_in, 2)
                        if isinstance(rows_in, int) and rows_in
                        else None,
                        "seconds": step.get("seconds"),
                    }
                )
                prev = left
            doc.para(
                f"source: {source}; rows in: {fmt(rows_in)}, rows out: "
                f"{fmt(notes.get('rows_out', steps[-1]['left']))}"
            )
            doc.table(table, ["#", "op", "rows left", "removed", "% of input", "seconds"])
            labels = ["input"] + [f"{t['#']}. {t['op']}" for t in table]
            counts = [rows_in if isinstance(rows_in, int) else None] + [
                t["rows left"] for t in table
            ]
            doc.figure(
                f"funnel_{key}",
                lambda fig, x=labels, c=counts: draw_funnel(fig, x, c),
                f"Data funnel: {name}",
                size=(8.0, 0.45 * len(labels) + 1.2),
            )


def _analysis_rows(run: RunFolder, key: str, status: dict[str, Any]) -> int | None:
    probe = run.analysis_for(key, status)
    if probe:
        rows = (probe[1].get("notes") or {}).get("rows")
        return int(rows) if isinstance(rows, (int, float)) else None
    return None


def _estimated_steps(run: RunFolder, key: str, status: dict[str, Any]) -> list[dict[str, Any]]:
    probe, refine = run.analysis_for(key, status), run.refine_for(key, status)
    recipe = job_config(status).get("dj_configs")
    if not probe or not isinstance(recipe, dict):
        return []
    path = run.analysed_path(*probe)
    if path is None:
        return []
    stats, _ = dataset_stats(path)
    changes = _bound_changes(refine)
    return estimate_funnel(recipe, stats, changes)


def section_distributions(doc: Doc, run: RunFolder) -> None:
    probes = run.done("ProbeViaAnalyzerHook")
    if not probes:
        return
    with doc.section("Stat distributions before and after refinement"):
        doc.para(
            "Histograms of the per-sample stats of the analysed dataset (*before*) and of "
            "the processed dataset (*after*, when a process job followed in the same "
            "pipeline), with the k-sigma bounds written by the refinement as dashed lines."
        )
        for key, s in probes:
            _distribution_block(doc, run, key, s)


def _distribution_block(doc: Doc, run: RunFolder, key: str, status: dict[str, Any]) -> None:
    name = job_label(key, status)
    path = run.analysed_path(key, status)
    if path is None:
        return
    before, before_ids = dataset_stats(path)
    if not before:
        return
    refine = run.refine_for(key, status)
    changes = _bound_changes(refine)
    bounds: dict[str, dict[str, float]] = {}
    for c in changes:
        x = number(c.get("new"))
        if c.get("stat") and x is not None:
            bounds.setdefault(c["stat"], {})[
                "min" if str(c.get("arg")).startswith("min") else "max"
            ] = x
    after: dict[str, list[float]] = {}
    after_source = ""
    later = run.processes_after(key, status)
    if later:
        ppath = run.processed_path(*later[0])
        if ppath is not None:
            after, _ = dataset_stats(ppath)
            after_source = f"`{ppath}`, exported by {job_label(*later[0])}"
            if not after and before_ids and any(i is not None for i in before_ids):
                kept = {r.get("id") for r in iter_jsonl(ppath)}
                after = {
                    k: [x for x, i in zip(v, before_ids) if i in kept]
                    for k, v in before.items()
                    if len(v) == len(before_ids)
                }
                after_source += " (stats of the analysed rows whose `id` was kept)"
    stats = [k for k in dict.fromkeys(c.get("stat") for c in changes) if k in before] or sorted(
        before
    )[:12]
    doc.heading(name, 3)
    doc.para(
        f"before: `{path}`, exported by {name} ({len(next(iter(before.values())))} rows read)"
        + (
            f"; after: {after_source} ({len(next(iter(after.values()), []))} rows)"
            if after
            else "; no processed dataset to compare"
        )
    )
    overwritten = _overwritten_by(run, key, status, path)
    if overwritten:
        doc.para(
            f"**Warning:** {overwritten} exported its result to the same file after the "
            "analysis, so “before” shows the processed rows, not the analysed ones. Give the "
            "analysis and the processing distinct `export_path`s."
        )
    if changes:
        doc.table(
            [
                {
                    k: c.get(k, "")
                    for k in ("op", "arg", "old", "new", "stat", "mean", "std", "note")
                }
                for c in changes
            ],
        )
    doc.figure(
        f"stats_{key}",
        lambda fig: draw_hists(fig, stats, before, after, bounds),
        f"Stat distributions: {name}",
        size=(11.0, 3.0 * math.ceil(len(stats) / 3) + 0.5),
    )
