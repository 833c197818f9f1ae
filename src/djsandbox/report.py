"""The run report: `work_dir/report/report.md` (+ PNG figures, + one self-contained report.html).

Built only from what the run left on disk (sandbox_state.json, config_snapshot.json, job
folders), so it can be rebuilt for any run folder, finished, failed or half-done:
`python -m djsandbox.report RUN_FOLDER`. A report must never break a run: every section is
built inside a guard that logs a warning and leaves the section out when anything in it fails.

Figures use matplotlib's object API (`matplotlib.figure.Figure`, imported lazily): no global
pyplot state and no backend switch, so reports are safe from any thread or process.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as _dt
import html
import json
import logging
import math
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

log = logging.getLogger("djsandbox.report")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPORT_DIR = "report"
MAX_STAT_ROWS = 200_000  # rows read per dataset for histograms (enough for a clear shape)
_DJ_OP_LINE = re.compile(
    r"\[(\d+)/(\d+)\] OP \[([^\]]+)\] Done in ([0-9.eE+-]+)s\. Left (\d+) samples")


# ---------------------------------------------------------------------------------------------
# A tiny document model rendered to Markdown and to self-contained HTML (shared with sweeps)
# ---------------------------------------------------------------------------------------------
class Doc:
    """Blocks of a report; one model, two renderings, so the HTML never drifts from the Markdown.

    `section()` guards a part of the report: if anything inside raises, the blocks it added
    are dropped and a warning is logged, so one broken plot never costs the whole report.
    """

    def __init__(self, out_dir: Path, title: str) -> None:
        self.out_dir = Path(out_dir)
        self.fig_dir = self.out_dir / "figures"
        self.title = title
        self.blocks: list[tuple[str, Any]] = []
        self.skipped: list[str] = []
        for old in self.fig_dir.glob("*.png"):  # a rebuilt report must not keep stale figures
            with contextlib.suppress(OSError):
                old.unlink()

    def build(self, sections: Sequence[Any], *args: Any) -> None:
        """Run each `section(doc, *args)`; a section that raises is logged and left out, and
        the report says which parts are missing."""
        for section in sections:
            try:
                section(self, *args)
            except Exception as exc:  # noqa: BLE001 - sections guard themselves; belt and braces
                log.warning("%s: %s failed: %s", self.title, section.__name__, exc)
        if self.skipped:
            self.heading("Left out", 2)
            self.para("These sections could not be built (see the log for why): "
                      + ", ".join(self.skipped))

    # -- blocks -----------------------------------------------------------------------------
    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("h", (level, text)))

    def para(self, text: str) -> None:
        self.blocks.append(("p", text))

    def bullets(self, items: Sequence[str]) -> None:
        if items:
            self.blocks.append(("ul", list(items)))

    def code(self, text: str) -> None:
        self.blocks.append(("pre", text))

    def table(self, rows: Sequence[dict[str, Any]], cols: Sequence[str] | None = None) -> None:
        if not rows:
            return
        if cols is None:
            cols = []
            for row in rows:
                cols += [c for c in row if c not in cols]
        self.blocks.append(("table", (list(cols), [dict(r) for r in rows])))

    def figure(self, name: str, draw: Callable[[Any], None], caption: str = "",
               size: tuple[float, float] = (8.0, 4.5)) -> bool:
        """Draw into a fresh Figure and save `figures/<name>.png`; referenced only if the file
        was written and is a real PNG. Returns whether the figure made it into the report."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, dpi=100)
        try:
            draw(fig)
            self.fig_dir.mkdir(parents=True, exist_ok=True)
            path = self.fig_dir / f"{_slug(name)}.png"
            fig.savefig(path, format="png", bbox_inches="tight")
        except Exception as exc:  # noqa: BLE001 - a plot must never break the report
            log.warning("report: figure %r left out: %s: %s", name, type(exc).__name__, exc)
            return False
        finally:
            fig.clear()
        if not _is_png(path):
            log.warning("report: figure %r was not written as a PNG; left out", name)
            return False
        self.blocks.append(("img", (path, caption or name)))
        return True

    @contextlib.contextmanager
    def section(self, title: str, level: int = 2) -> Iterator[None]:
        start = len(self.blocks)
        self.heading(title, level)
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - leave the section out, keep the report
            del self.blocks[start:]
            self.skipped.append(title)
            log.warning("report: section %r left out: %s: %s", title, type(exc).__name__, exc,
                        exc_info=log.isEnabledFor(logging.DEBUG))
        else:
            if len(self.blocks) == start + 1:  # nothing to say: drop the bare heading
                del self.blocks[start:]

    # -- rendering --------------------------------------------------------------------------
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "h":
                level, text = value
                out += ["#" * level + " " + text, ""]
            elif kind == "p":
                out += [value, ""]
            elif kind == "ul":
                out += [f"- {item}" for item in value] + [""]
            elif kind == "pre":
                out += ["```", value.rstrip("\n"), "```", ""]
            elif kind == "table":
                cols, rows = value
                out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
                out.append("|" + "|".join("---" for _ in cols) + "|")
                out += ["| " + " | ".join(_md_cell(_fmt(r.get(c))) for c in cols) + " |"
                        for r in rows]
                out.append("")
            elif kind == "img":
                path, caption = value
                rel = path.relative_to(self.out_dir).as_posix()
                out += [f"![{caption}]({rel})", ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        esc = html.escape
        body = [f"<h1>{esc(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "h":
                level, text = value
                body.append(f"<h{level}>{esc(text)}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline_code(esc(value))}</p>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline_code(esc(i))}</li>" for i in value)
                            + "</ul>")
            elif kind == "pre":
                body.append(f"<pre>{esc(value)}</pre>")
            elif kind == "table":
                cols, rows = value
                head = "".join(f"<th>{esc(str(c))}</th>" for c in cols)
                trs = "".join("<tr>" + "".join(f"<td>{esc(_fmt(r.get(c)))}</td>" for c in cols)
                              + "</tr>" for r in rows)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
            elif kind == "img":
                path, caption = value
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                body.append(f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,'
                            f'{data}"><figcaption>{esc(caption)}</figcaption></figure>')
        style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                 "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
                 "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
                 "th{background:#f3f3f3}img{max-width:100%}pre{background:#f6f6f6;padding:8px;"
                 "overflow-x:auto}figcaption{color:#555;font-size:90%}")
        return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{esc(self.title)}"
                f"</title><style>{style}</style></head><body>\n" + "\n".join(body)
                + "\n</body></html>\n")

    def write(self, html_too: bool = True) -> Path:
        from .atomic import atomic_write_text

        self.out_dir.mkdir(parents=True, exist_ok=True)
        md = self.out_dir / "report.md"
        atomic_write_text(md, self.markdown())
        if html_too:
            try:
                atomic_write_text(self.out_dir / "report.html", self.html())
            except Exception as exc:  # noqa: BLE001
                log.warning("report: report.html not written: %s", exc)
        return md


def _is_png(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == PNG_MAGIC
    except OSError:
        return False


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "figure"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _inline_code(escaped: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# Reading the run folder
# ---------------------------------------------------------------------------------------------
def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _job_dir(status: dict[str, Any]) -> Path | None:
    """A done job records `job_dir`; a failed one only `error_log`, which lies in it."""
    if status.get("job_dir"):
        return Path(status["job_dir"])
    if status.get("error_log"):
        return Path(status["error_log"]).parent
    return None


def _job_config(status: dict[str, Any]) -> dict[str, Any]:
    """The resolved dj_configs/extra_configs the job ran with (job_config.json)."""
    folder = _job_dir(status)
    data = _read_json(folder / "job_config.json") if folder else None
    return data if isinstance(data, dict) else {}


def _export_path(status: dict[str, Any]) -> Path | None:
    dj = _job_config(status).get("dj_configs")
    if isinstance(dj, dict) and dj.get("export_path"):
        return Path(str(dj["export_path"]))
    return None


class _Run:
    """The saved state of a run plus lookups the sections share."""

    def __init__(self, work_dir: Path) -> None:
        from .context import STATE_FILE, RunState

        self.work_dir = Path(work_dir)
        self.state = RunState.load(self.work_dir / STATE_FILE)
        self.snapshot = _read_json(self.work_dir / "config_snapshot.json") or {}
        self.iterations = self.state.context.iterations

    def jobs(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self.state.jobs.items())

    def done(self, hook: str) -> list[tuple[str, dict[str, Any]]]:
        return [(k, s) for k, s in self.state.jobs.items()
                if s.get("hook") == hook and s.get("status") == "done"]

    def results(self, key: str, status: dict[str, Any]) -> dict[str, Any]:
        it = int(key.split("/", 1)[0])
        name = status.get("meta_name") or f"{status.get('stage')}_{status.get('index')}"
        if it >= len(self.iterations):
            return {}
        return self.iterations[it].get(status.get("pipeline"), {}).get(name, {}) or {}

    def planned_not_run(self) -> list[dict[str, Any]]:
        """Jobs of the config that have no status in the last iteration (e.g. after a failure)."""
        try:
            from .plan import build_plan

            plan = build_plan(self.snapshot)
        except Exception:  # noqa: BLE001 - an unreadable snapshot only loses this list
            return []
        its = [int(k.split("/", 1)[0]) for k in self.state.jobs] or [0]
        last = max(its)
        out = []
        for spec in plan.jobs():
            if f"{last}/{spec.key}" not in self.state.jobs:
                out.append({"iter": last, "pipeline": spec.pipeline, "stage": spec.stage,
                            "#": spec.index, "meta_name": spec.meta_name or "",
                            "hook": str(spec.hook), "status": "not run"})
        return out


def _job_label(key: str, status: dict[str, Any]) -> str:
    it = key.split("/", 1)[0]
    name = status.get("meta_name") or f"{status.get('stage')}_{status.get('index')}"
    return f"iter {it} / {status.get('pipeline')} / {name} ({status.get('hook')})"


def _iter_jsonl(path: Path, limit: int = MAX_STAT_ROWS) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= limit:
                return
            line = line.strip()
            if line:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict):
                    yield row


def _stats_of(rows: Iterator[dict[str, Any]], id_key: str | None = "id",
              ) -> tuple[dict[str, list[float]], list[Any]]:
    """({stat: values}, ids) from rows carrying `__dj__stats__` (scalar stats only)."""
    stats: dict[str, list[float]] = {}
    ids: list[Any] = []
    for row in rows:
        st = row.get("__dj__stats__")
        if not isinstance(st, dict):
            continue
        if id_key:
            ids.append(row.get(id_key))
        for k, v in st.items():
            x = _number(v)
            if x is not None:
                stats.setdefault(k, []).append(x)
    return stats, ids


def _dataset_stats(path: Path) -> tuple[dict[str, list[float]], list[Any]]:
    """Per-sample stats of an exported dataset: from its rows, else from Data-Juicer's
    `<stem>_stats.jsonl` written beside it (stats only, same row order)."""
    if path.is_file():
        stats, ids = _stats_of(_iter_jsonl(path))
        if stats:
            return stats, ids
    side = path.with_name(f"{path.stem}_stats.jsonl")
    if side.is_file():
        stats, _ = _stats_of(_iter_jsonl(side), id_key=None)
        return stats, []
    return {}, []


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------
def _when(ts: Any) -> str:
    x = _number(ts)
    return _dt.datetime.fromtimestamp(x).strftime("%Y-%m-%d %H:%M:%S") if x else ""


def _notes_text(notes: Any) -> str:
    if not isinstance(notes, dict):
        return ""
    parts = []
    for k, v in notes.items():
        if k == "changes" and isinstance(v, list):
            parts.append(f"{len(v)} bound changes")
        elif not isinstance(v, (dict, list)):
            parts.append(f"{k}={_fmt(v)}")
    return ", ".join(parts)


def _section_overview(doc: Doc, run: _Run) -> None:
    with doc.section("Overview"):
        statuses = [s.get("status") for s in run.state.jobs.values()]
        counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
        meta = run.state.meta or {}
        doc.bullets([
            f"project: `{meta.get('project_name') or run.snapshot.get('project_name') or '?'}`, "
            f"experiment: `{meta.get('experiment_name') or run.snapshot.get('experiment_name') or '?'}`",
            f"run folder: `{run.work_dir}`",
            f"iterations with results: {len(run.iterations)}",
            "jobs: " + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none ran"),
        ])
        if any(s == "failed" for s in statuses):
            doc.para("**The run failed**: see *Failed jobs* below.")


def _section_jobs(doc: Doc, run: _Run) -> None:
    with doc.section("Pipelines and jobs"):
        rows = []
        for key, s in run.jobs():
            rows.append({"iter": key.split("/", 1)[0], "pipeline": s.get("pipeline"),
                         "stage": s.get("stage"), "#": s.get("index"),
                         "meta_name": s.get("meta_name") or "", "hook": s.get("hook"),
                         "status": s.get("status"), "started": _when(s.get("started")),
                         "time s": round(float(s.get("elapsed") or 0.0), 1)
                         if s.get("elapsed") is not None else None,
                         "notes": _notes_text(s.get("notes"))})
        rows += run.planned_not_run()
        if not rows:
            doc.para("No job has run.")
            return
        doc.table(rows, ["iter", "pipeline", "stage", "#", "meta_name", "hook", "status",
                         "started", "time s", "notes"])
    failed = [(k, s) for k, s in run.jobs() if s.get("status") == "failed"]
    if failed:
        with doc.section("Failed jobs"):
            for key, s in failed:
                doc.para(f"**{_job_label(key, s)}**: {s.get('error') or 'no error recorded'}")
                if s.get("error_log"):
                    doc.para(f"traceback: `{s['error_log']}`")
    running = [(k, s) for k, s in run.jobs() if s.get("status") == "running"]
    if running:
        with doc.section("Interrupted jobs"):
            doc.bullets([f"{_job_label(k, s)}: started {_when(s.get('started'))}, never finished"
                         for k, s in running])


def _section_summary(doc: Doc, run: _Run) -> None:
    from .summary import format_table, item_rows, summary_rows

    with doc.section("Summary (last iteration)"):
        rows = summary_rows(run.state)
        if rows:
            _table_from_summary(doc, rows, format_table)
        items = item_rows(run.state)
        if items:
            doc.heading("Per item (e.g. one model per data pool)", 3)
            _table_from_summary(doc, items, format_table)


def _table_from_summary(doc: Doc, rows: list[dict[str, Any]], format_table: Callable) -> None:
    """Reuse summary.format_table's column order (it also adds `total s`)."""
    rows = [dict(r) for r in rows]
    text = format_table(rows)  # adds `total s` to the rows
    for row in rows:
        for col, value in row.items():
            if col.endswith(" s") and isinstance(value, float):
                row[col] = round(value, 1)
    header = text.splitlines()[0]
    cols = [c.strip() for c in header.strip("|").split("|")]
    doc.table(rows, cols)


def parse_dj_process_log(job_dir: Path) -> list[dict[str, Any]]:
    """Per-op rows left, from Data-Juicer's executor log in `job_dir/dj/process/logs/`.

    Lines read like `[3/8] OP [special_characters_filter] Done in 1.675s. Left 3858 samples.`
    A log may hold several runs (a resumed job): the last complete one wins.
    """
    logs = sorted(Path(job_dir).glob("dj/process/logs/*.log"))
    best: list[dict[str, Any]] = []
    for path in logs:
        runs: list[list[dict[str, Any]]] = []
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            m = _DJ_OP_LINE.search(line)
            if not m:
                continue
            i, n = int(m.group(1)), int(m.group(2))
            if i == 1 or not runs:
                runs.append([])
            runs[-1].append({"#": i, "of": n, "op": m.group(3), "seconds": float(m.group(4)),
                             "left": int(m.group(5))})
        complete = [r for r in runs if r and r[-1]["#"] == r[-1]["of"] and len(r) == r[-1]["of"]]
        pick = complete[-1] if complete else (runs[-1] if runs else [])
        if len(pick) > len(best):
            best = pick
    return best


def estimate_funnel(recipe: dict[str, Any], stats: dict[str, list[float]],
                    changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
            lo = next((_number(v) for a, v in args.items() if a.startswith("min_")), None)
            hi = next((_number(v) for a, v in args.items() if a.startswith("max_")), None)
            for j, x in enumerate(values):
                if keep[j] and ((lo is not None and x < lo) or (hi is not None and x > hi)):
                    keep[j] = False
        out.append({"#": index + 1, "op": op, "left": sum(keep),
                    "applied": values is not None})
    return out


def _analysis_for(run: _Run, key: str, status: dict[str, Any]) -> tuple[str, dict] | None:
    """The analysis probe feeding a job: same iteration and pipeline, same meta_name if any,
    else the latest before it."""
    it = key.split("/", 1)[0]
    probes = [(k, s) for k, s in run.done("ProbeViaAnalyzerHook")
              if k.startswith(f"{it}/") and s.get("pipeline") == status.get("pipeline")]
    same = [(k, s) for k, s in probes if s.get("meta_name") == status.get("meta_name")]
    pick = same or probes
    return pick[-1] if pick else None


def _refine_for(run: _Run, key: str, status: dict[str, Any]) -> tuple[str, dict] | None:
    it = key.split("/", 1)[0]
    refines = [(k, s) for k, s in run.done("RefineRecipeViaKSigmaHook")
               if k.startswith(f"{it}/") and s.get("pipeline") == status.get("pipeline")]
    return refines[-1] if refines else None


def _analysed_path(run: _Run, key: str, status: dict[str, Any]) -> Path | None:
    """Where an analysis exported its rows. The export path in job_config.json is preferred:
    a later k-sigma job with the same meta_name overwrites the context's `res_1`."""
    path = _export_path(status)
    if path and path.is_file():
        return path
    for value in run.results(key, status).values():
        if isinstance(value, str) and value.endswith(".jsonl") and Path(value).is_file():
            return Path(value)
    return None


def _processed_path(run: _Run, key: str, status: dict[str, Any]) -> Path | None:
    for value in run.results(key, status).values():
        if isinstance(value, str) and Path(value).is_file():
            return Path(value)
    path = _export_path(status)
    return path if path and path.is_file() else None


def _section_funnel(doc: Doc, run: _Run) -> None:
    processes = [(k, s) for k, s in run.jobs() if s.get("hook") == "ProcessDataHook"
                 and s.get("status") == "done"]
    if not processes:
        return
    with doc.section("Data funnel"):
        doc.para("Rows left after each op of each Data-Juicer process job, read from "
                 "Data-Juicer's own executor log (`dj/process/logs/*.log`, lines "
                 "`OP [name] Done in ... Left N samples`). When that log is missing, the funnel "
                 "is recomputed by applying the refined bounds to the analysed per-sample stats "
                 "in recipe order, and marked *estimated*.")
        for key, s in processes:
            name = _job_label(key, s)
            notes = s.get("notes") or {}
            rows_in = notes.get("rows_in")
            steps = parse_dj_process_log(_job_dir(s)) if _job_dir(s) else []
            source = "Data-Juicer log"
            if not steps:
                steps, source = _estimated_steps(run, key, s), "estimated from analysed stats"
            if rows_in is None:
                rows_in = _analysis_rows(run, key, s)
            doc.heading(name, 3)
            if not steps:
                doc.para(f"rows in: {_fmt(rows_in)}, rows out: {_fmt(notes.get('rows_out'))} "
                         "(no per-op counts available)")
                continue
            table, prev = [], rows_in
            for step in steps:
                left = step["left"]
                removed = (prev - left) if isinstance(prev, int) else None
                table.append({"#": step["#"], "op": step["op"], "rows left": left,
                              "removed": removed,
                              "% of input": round(100.0 * left / rows_in, 2)
                              if isinstance(rows_in, int) and rows_in else None,
                              "seconds": step.get("seconds")})
                prev = left
            doc.para(f"source: {source}; rows in: {_fmt(rows_in)}, rows out: "
                     f"{_fmt(notes.get('rows_out', steps[-1]['left']))}")
            doc.table(table, ["#", "op", "rows left", "removed", "% of input", "seconds"])
            labels = ["input"] + [f"{t['#']}. {t['op']}" for t in table]
            counts = [rows_in if isinstance(rows_in, int) else None] + [t["rows left"]
                                                                         for t in table]
            doc.figure(f"funnel_{key}", lambda fig, l=labels, c=counts: _draw_funnel(fig, l, c),
                       f"Data funnel: {name}", size=(8.0, 0.45 * len(labels) + 1.2))


def _analysis_rows(run: _Run, key: str, status: dict[str, Any]) -> int | None:
    probe = _analysis_for(run, key, status)
    if probe:
        rows = (probe[1].get("notes") or {}).get("rows")
        return int(rows) if isinstance(rows, (int, float)) else None
    return None


def _estimated_steps(run: _Run, key: str, status: dict[str, Any]) -> list[dict[str, Any]]:
    probe, refine = _analysis_for(run, key, status), _refine_for(run, key, status)
    recipe = _job_config(status).get("dj_configs")
    if not probe or not isinstance(recipe, dict):
        return []
    path = _analysed_path(run, *probe)
    if path is None:
        return []
    stats, _ = _dataset_stats(path)
    changes = ((refine[1].get("notes") or {}).get("changes") or []) if refine else []
    return estimate_funnel(recipe, stats, changes)


def _draw_funnel(fig: Any, labels: list[str], counts: list[int | None]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    ys = list(range(len(labels)))[::-1]
    vals = [c if c is not None else 0 for c in counts]
    bars = ax.barh(ys, vals, color=["#888"] + ["#3b75af"] * (len(vals) - 1))
    ax.set_yticks(ys, labels)
    for bar, c in zip(bars, counts):
        if c is not None:
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {c}",
                    va="center", fontsize=8)
    ax.set_xlabel("rows")
    if vals and max(vals) > 0:
        ax.set_xlim(0, max(vals) * 1.15)


def _section_distributions(doc: Doc, run: _Run) -> None:
    probes = run.done("ProbeViaAnalyzerHook")
    if not probes:
        return
    with doc.section("Stat distributions before and after refinement"):
        doc.para("Histograms of the per-sample stats of the analysed dataset (*before*) and of "
                 "the processed dataset (*after*, when a process job followed in the same "
                 "pipeline), with the k-sigma bounds written by the refinement as dashed lines.")
        for key, s in probes:
            _distribution_block(doc, run, key, s)


def _distribution_block(doc: Doc, run: _Run, key: str, status: dict[str, Any]) -> None:
    name = _job_label(key, status)
    path = _analysed_path(run, key, status)
    if path is None:
        return
    before, before_ids = _dataset_stats(path)
    if not before:
        return
    refine = _refine_for(run, key, status)
    changes = ((refine[1].get("notes") or {}).get("changes") or []) if refine else []
    bounds: dict[str, dict[str, float]] = {}
    for c in changes:
        x = _number(c.get("new"))
        if c.get("stat") and x is not None:
            bounds.setdefault(c["stat"], {})["min" if str(c.get("arg")).startswith("min")
                                             else "max"] = x
    after: dict[str, list[float]] = {}
    after_source = ""
    it = key.split("/", 1)[0]
    jobs = list(run.state.jobs)
    later = [(k, s) for k, s in run.done("ProcessDataHook")
             if k.startswith(f"{it}/") and s.get("pipeline") == status.get("pipeline")
             and jobs.index(k) > jobs.index(key)]
    if later:
        ppath = _processed_path(run, *later[0])
        if ppath is not None:
            after, _ = _dataset_stats(ppath)
            after_source = f"`{ppath.name}`"
            if not after and before_ids and any(i is not None for i in before_ids):
                kept = {r.get("id") for r in _iter_jsonl(ppath)}
                after = {k: [x for x, i in zip(v, before_ids) if i in kept]
                         for k, v in before.items() if len(v) == len(before_ids)}
                after_source += " (stats of the analysed rows whose `id` was kept)"
    stats = [k for k in dict.fromkeys(c.get("stat") for c in changes) if k in before] \
        or sorted(before)[:12]
    doc.heading(name, 3)
    doc.para(f"before: `{path.name}` ({len(next(iter(before.values())))} rows read)"
             + (f"; after: {after_source} ({len(next(iter(after.values()), []))} rows)"
                if after else "; no processed dataset to compare"))
    if changes:
        doc.table([{k: c.get(k) for k in ("op", "arg", "old", "new", "stat", "mean", "std")}
                   for c in changes])
    doc.figure(f"stats_{key}",
               lambda fig: _draw_hists(fig, stats, before, after, bounds),
               f"Stat distributions: {name}",
               size=(11.0, 3.0 * math.ceil(len(stats) / 3) + 0.5))


def _draw_hists(fig: Any, stats: list[str], before: dict[str, list[float]],
                after: dict[str, list[float]], bounds: dict[str, dict[str, float]]) -> None:
    import numpy as np

    cols = min(3, len(stats))
    rows = math.ceil(len(stats) / cols)
    for i, stat in enumerate(stats):
        ax = fig.add_subplot(rows, cols, i + 1)
        b = np.asarray(before.get(stat, []), dtype=float)
        a = np.asarray(after.get(stat, []), dtype=float)
        both = np.concatenate([b, a]) if a.size else b
        if both.size == 0:
            continue
        lo, hi = float(both.min()), float(both.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
        ax.hist(b, bins=edges, alpha=0.55, label=f"before ({b.size})", color="#999")
        if a.size:
            ax.hist(a, bins=edges, alpha=0.6, label=f"after ({a.size})", color="#3b75af")
        for side, value in (bounds.get(stat) or {}).items():
            if lo - (hi - lo) <= value <= hi + (hi - lo):  # far-off bounds would squash the plot
                ax.axvline(value, color="#c0392b", linestyle="--", linewidth=1,
                           label=f"{side} bound")
        ax.set_title(stat, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.tight_layout()


def _metric_columns(rows: list[dict[str, Any]], skip: set[str]) -> list[str]:
    cols: list[str] = []
    for row in rows:
        for col, value in row.items():
            if (col in skip or col.endswith(" s") or col in cols or _number(value) is None
                    or col.split(".")[-1] in ("rows", "count")):
                continue
            cols.append(col)
    return cols


def _section_metrics(doc: Doc, run: _Run) -> None:
    from .summary import item_rows, summary_rows

    rows = summary_rows(run.state)
    items = item_rows(run.state)
    metric_cols = _metric_columns(rows, {"pipeline", "rows kept", "train rows"})
    item_cols = _metric_columns(items, {"pipeline", "job", "item"})
    if not metric_cols and not item_cols:
        return
    with doc.section("Evaluation metrics across pipelines"):
        doc.para("One panel per metric, each on its own scale (metrics of different scales are "
                 "never averaged together).")
        if metric_cols:
            labels = [str(r["pipeline"]) for r in rows]
            series = {c: [_number(r.get(c)) for r in rows] for c in metric_cols}
            doc.figure("metrics_pipelines", lambda fig: _draw_bars(fig, labels, series),
                       "Evaluation metrics per pipeline",
                       size=(min(4.0 * len(series), 14.0), 3.6))
        if item_cols:
            doc.heading("Per item (one model per data pool)", 3)
            labels = [f"{r['pipeline']}:{r['job'].split('.')[0]}:{r['item']}" for r in items]
            series = {c: [_number(r.get(c)) for r in items] for c in item_cols}
            doc.figure("metrics_items", lambda fig: _draw_bars(fig, labels, series,
                                                               horizontal=True),
                       "Evaluation metrics per item",
                       size=(min(4.5 * len(series), 14.0), 0.3 * len(labels) + 1.5))


def _draw_bars(fig: Any, labels: list[str], series: dict[str, list[float | None]],
               horizontal: bool = False) -> None:
    n = len(series)
    for i, (metric, values) in enumerate(series.items()):
        ax = fig.add_subplot(1, n, i + 1)
        vals = [v if v is not None else 0.0 for v in values]
        pos = list(range(len(labels)))
        if horizontal:
            ax.barh(pos[::-1], vals, color="#3b75af")
            ax.set_yticks(pos[::-1], labels if i == 0 else [""] * len(labels), fontsize=7)
        else:
            bars = ax.bar(pos, vals, color="#3b75af")
            ax.set_xticks(pos, labels, rotation=30 if len(labels) > 3 else 0, ha="right"
                          if len(labels) > 3 else "center", fontsize=8)
            for bar, v in zip(bars, values):
                if v is not None:
                    ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{v:.4g}",
                            ha="center", va="bottom", fontsize=7)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()


def read_metrics_csv(path: Path) -> dict[str, list[tuple[float, float]]]:
    """Lightning CSVLogger metrics.csv as {column: [(step, value), ...]} (empty cells skipped)."""
    out: dict[str, list[tuple[float, float]]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                step = float(row.get("step") or row.get("epoch") or 0)
            except ValueError:
                continue
            for col, cell in row.items():
                if col in ("step", "epoch") or cell in (None, ""):
                    continue
                try:
                    out.setdefault(col, []).append((step, float(cell)))
                except ValueError:
                    continue
    return out


def _section_training(doc: Doc, run: _Run) -> None:
    trains = [(k, s) for k, s in run.jobs() if s.get("hook") == "TrainModelHook" and _job_dir(s)]
    found = [(k, s, sorted(_job_dir(s).rglob("metrics.csv"))) for k, s in trains]
    found = [f for f in found if f[2]]
    if not found:
        return
    with doc.section("Training curves"):
        doc.para("From each training job's Lightning CSV log (`metrics.csv`): losses on the "
                 "left, validation metrics on the right, against the optimiser step.")
        for key, s, paths in found:
            curves = {}
            for p in paths:
                rel = p.parent.relative_to(_job_dir(s)).as_posix()
                rel = re.sub(r"/?(logs|lightning_logs|csv)/version_\d+$", "", rel) or rel
                data = read_metrics_csv(p)
                if data:
                    curves[rel] = data
            if not curves:
                continue
            name = _job_label(key, s)
            doc.figure(f"training_{key}", lambda fig, c=curves: _draw_curves(fig, c),
                       f"Training curves: {name}", size=(11.0, 4.0))


def _draw_curves(fig: Any, curves: dict[str, dict[str, list[tuple[float, float]]]]) -> None:
    ax_loss, ax_val = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    many = len(curves) > 1
    for label, data in curves.items():
        prefix = f"{label}: " if many else ""
        for col, points in data.items():
            if col.endswith("_epoch") and col.replace("_epoch", "_step") in data:
                continue  # the per-step curve already shows it
            is_loss = "loss" in col
            if many and not is_loss and "accuracy" not in col:
                continue  # keep a readable legend with one model per pool
            if many and is_loss and not col.startswith("val"):
                continue
            xs, ys = zip(*points)
            ax = ax_loss if is_loss else ax_val
            ax.plot(xs, ys, marker="o" if len(points) < 12 else None, markersize=3,
                    linewidth=1, label=prefix + col)
    for ax, title in ((ax_loss, "loss"), (ax_val, "validation metrics")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    fig.tight_layout()


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------
def write_run_report(work_dir: Path | str, *, html: bool = True) -> Path:
    """Write `work_dir/report/report.md` (+ figures, + report.html) and return its path.

    Safe to call at the end of every run, failed ones included: it reads only the run folder,
    and no problem while building it (missing files, a plot error) raises; the worst case is a
    short report that says what could not be read.
    """
    work_dir = Path(work_dir)
    out_dir = work_dir / REPORT_DIR
    doc = Doc(out_dir, f"Run report: {work_dir.name}")
    try:
        run = _Run(work_dir)
    except Exception as exc:  # noqa: BLE001
        log.warning("report: cannot read the run state in %s: %s", work_dir, exc)
        doc.para(f"The run state could not be read: {exc}")
        return _write(doc, html)
    doc.build((_section_overview, _section_jobs, _section_summary, _section_funnel,
               _section_distributions, _section_metrics, _section_training), run)
    return _write(doc, html)


def _write(doc: Doc, html_too: bool) -> Path:
    try:
        return doc.write(html_too)
    except Exception as exc:  # noqa: BLE001 - a report must never break the run
        log.warning("report: could not write %s: %s", doc.out_dir, exc)
        return doc.out_dir / "report.md"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m djsandbox.report RUN_FOLDER [...]`: (re)build the report of finished runs."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m djsandbox.report RUN_FOLDER [RUN_FOLDER ...]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    for folder in args:
        print(write_run_report(Path(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
