"""The table across the runs of a Hydra multirun: each run's overrides against its metrics.

A plain multirun (`python -m djsandbox -m +pipeline=demo vars.k=2,3`) leaves one run folder
per combination; each prints its own table and nothing compares them. `RunsTable`, a Hydra
callback registered in `conf/sandbox.yaml`, writes `<sweep dir>/runs_report/` when the
multirun ends (runs.csv, report.md, report.html, figures/) and prints the table. Built only
from what the runs left on disk (each run's `.hydra/overrides.yaml` and `sandbox_state.json`,
read with the end-of-run summary's own `summary_rows`), so it can be rebuilt for any sweep
folder, also a failed or interrupted one:
`python -m djsandbox.reporting.multirun_report SWEEP_DIR [SWEEP_DIR ...]`.

The report folder is the sandbox's own (marked by `.sandbox_runs_report`): a `runs_report/`
that holds anything else was not written by the sandbox and is never written into.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path
from typing import Any, Sequence

from hydra.experimental.callback import Callback

from ..atomic import atomic_write_text
from ..context import STATE_FILE, RunState
from ..errors import ConfigError
from .document import Doc, number
from .summary import item_rows, summary_rows
from .sweep_figures import draw_by_run, draw_parallel

log = logging.getLogger("djsandbox")

REPORT_DIR = "runs_report"
MARKER = ".sandbox_runs_report"
CSV_NAME = "runs.csv"
MAX_PANELS = 9
_LEAD = ("run", "pipeline", "status")
_COUNTS = ("job", "item", "pool rows", "rows kept", "train rows")  # after the lead columns
_NOT_METRICS = {"pipeline", *_COUNTS}


def _natural(path: Path) -> list[Any]:
    """Sort key: `2` before `10` (Hydra numbers run folders 0, 1, ... 10)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[/\\]", str(path))]


def find_runs(sweep_dir: Path) -> list[Path]:
    """Run folders under `sweep_dir`: every folder Hydra wrote `.hydra/overrides.yaml` into."""
    found = {p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")}
    return sorted(
        (f for f in found if f != sweep_dir), key=lambda f: _natural(f.relative_to(sweep_dir))
    )


def read_overrides(folder: Path) -> dict[str, str]:
    """`key=value` overrides of one run as {key: value} (`+`, `++`, `~` dropped from keys)."""
    import yaml

    path = folder / ".hydra" / "overrides.yaml"
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read as Hydra's list of overrides: {exc}") from None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a list of overrides, got {type(items).__name__}")
    out: dict[str, str] = {}
    for item in items:
        key, _, value = str(item).partition("=")
        key = key.lstrip("+~")
        out[f"{key} (override)" if key in _LEAD else key] = value  # e.g. +pipeline=demo
    return out


def _status(state: RunState) -> str:
    """`done`, or how far the run got (`1/3 jobs done, failed`)."""
    statuses = [str(s.get("status")) for s in state.jobs.values()]
    if statuses and all(s == "done" for s in statuses):
        return "done"
    text = f"{statuses.count('done')}/{len(statuses)} jobs done"
    others = sorted({s for s in statuses if s != "done"})
    return text + (", " + ", ".join(others) if others else "")


def run_rows(sweep_dir: Path, folder: Path) -> list[dict[str, Any]]:
    """One row per pipeline of one run: its overrides, status and summary (metrics, times)."""
    base: dict[str, Any] = {"run": folder.relative_to(sweep_dir).as_posix()}
    base.update(read_overrides(folder))
    state_file = folder / STATE_FILE
    if not state_file.is_file():
        return [{**base, "status": f"no {STATE_FILE} (stopped before its first job)"}]
    try:
        state = RunState.load(state_file)
    except Exception as exc:  # noqa: BLE001 - one unreadable run must not hide the others
        return [{**base, "status": f"unreadable {STATE_FILE}: {exc}"}]
    rows = summary_rows(state)
    status = _status(state)
    if not rows:
        return [{**base, "status": status}]
    out = []
    for row in rows:
        total = sum(v for k, v in row.items() if k.endswith(" s") and number(v) is not None)
        kept = {k: v for k, v in row.items() if not k.endswith(" s")}
        out.append({**base, "status": status, **kept, "total s": round(total, 2)})
    # an evaluation that scored one model per data pool: one row per pool, named by it
    out += [{**base, "status": status, **item} for item in item_rows(state)]
    return out


def collect(sweep_dir: Path) -> tuple[list[dict[str, Any]], list[str], list[str], dict[str, str]]:
    """(rows, columns, overrides that vary, overrides shared by every run) of a sweep folder."""
    runs = find_runs(sweep_dir)
    if not runs:
        raise ConfigError(
            f"{sweep_dir}: no run folders in it (none holds .hydra/overrides.yaml): expected "
            "the sweep folder of a multirun (outputs/<project>/<experiment>/multirun_<time>)"
        )
    per_run = [read_overrides(f) for f in runs]
    keys = list(dict.fromkeys(k for o in per_run for k in o))
    varying = [k for k in keys if len({o.get(k) for o in per_run}) > 1]
    common = {k: per_run[0][k] for k in keys if k not in varying}
    rows = [
        {k: v for k, v in row.items() if k not in common}
        for f in runs
        for row in run_rows(sweep_dir, f)
    ]
    lead = [c for c in (*_LEAD[1:], *_COUNTS) if any(c in r for r in rows)]
    cols = ["run", *varying, *lead]
    for row in rows:
        cols += [c for c in row if c not in cols and c != "total s"]
    if any("total s" in r for r in rows):
        cols.append("total s")
    return rows, cols, varying, common


def metric_columns(rows: list[dict[str, Any]], cols: list[str], varying: list[str]) -> list[str]:
    """Columns holding a number in some row that are metrics (not overrides, counts or times)."""
    skip = set(_LEAD) | set(varying) | _NOT_METRICS
    return [
        c
        for c in cols
        if c not in skip
        and not c.endswith(" s")
        and c.split(".")[-1] not in ("rows", "count")  # e.g. test.rows: the test set's size
        and any(number(r.get(c)) is not None for r in rows)
    ]


def _label(row: dict[str, Any], varying: list[str], pipelines: int) -> str:
    text = ", ".join(f"{k}={row[k]}" for k in varying if k in row) or row["run"]
    text = f"{text} / {row['pipeline']}" if pipelines > 1 and row.get("pipeline") else text
    return f"{text} / {row['item']}" if row.get("item") else text


def _as_number(text: Any) -> Any:
    """An override's text as a number when it is one, so numeric axes are scaled, not listed."""
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            continue
    return text


class _Point:
    """A run as `draw_parallel` reads an Optuna trial: params, values, no distributions."""

    def __init__(self, params: dict[str, Any], value: float) -> None:
        self.params, self.values, self.distributions = params, [value], {}


def _csv(rows: list[dict[str, Any]], cols: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        cells = [row.get(c) for c in cols]
        writer.writerow(
            [
                "" if v is None else json.dumps(v) if isinstance(v, (dict, list)) else v
                for v in cells
            ]
        )
    return buf.getvalue()


def _claim(out: Path) -> None:
    """Refuse an existing `runs_report/` the sandbox did not write; mark a new one as ours."""
    ours = (out / MARKER).is_file()
    if out.exists() and not ours and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"{out}: exists and was not written by the sandbox (no {MARKER} in it); "
            "not writing into it: move it away to build the table across runs"
        )
    out.mkdir(parents=True, exist_ok=True)
    if not ours:
        atomic_write_text(out / MARKER, "written by djsandbox: the table across runs\n")


def write_runs_report(sweep_dir: Path | str, *, html: bool = True) -> tuple[Path, str]:
    """Write `<sweep_dir>/runs_report/` (runs.csv, report.md, report.html, figures/); returns
    report.md's path and the text to print. A sweep folder that is missing, holds no run or
    whose report folder is not the sandbox's is a ConfigError."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError(f"{sweep_dir}: no such folder (expected the sweep folder of a multirun)")
    rows, cols, varying, common = collect(sweep_dir)
    out = sweep_dir / REPORT_DIR
    _claim(out)
    doc = Doc(out, f"Across runs: {sweep_dir.name}")
    runs = len({r["run"] for r in rows})
    doc.bullets(
        [
            f"sweep folder: `{sweep_dir}`",
            f"runs: {runs}; varied: " + (", ".join(f"`{k}`" for k in varying) or "nothing"),
            *[f"every run: `{k.removesuffix(' (override)')}={v}`" for k, v in common.items()],
        ]
    )
    doc.table(rows, cols)
    metrics = metric_columns(rows, cols, varying)[:MAX_PANELS]
    if metrics:
        pipelines = len({r.get("pipeline") for r in rows})
        labels = [_label(r, varying, pipelines) for r in rows]
        values = {  # as stored (an int stays an int in the labels), None where missing
            m: [r.get(m) if number(r.get(m)) is not None else None for r in rows] for m in metrics
        }
        doc.figure(
            "metrics_by_run",
            lambda fig: draw_by_run(fig, labels, values),
            "Each run's metrics",
            size=(min(4.5 * len(metrics), 13.5), 3.6 * ((len(metrics) + 2) // 3) + 0.6),
        )
        scored = [r for r in rows if number(r.get(metrics[0])) is not None]
        if len(varying) >= 2 and len(scored) >= 2:
            points = [
                _Point({k: _as_number(r.get(k)) for k in varying}, r[metrics[0]]) for r in scored
            ]
            doc.figure(
                "parallel_coordinates",
                lambda fig: draw_parallel(fig, points, varying, metrics[0]),
                f"The varied overrides, one line per run, coloured by {metrics[0]}",
                size=(max(6.0, 1.8 * (len(varying) + 1)), 4.5),
            )
    atomic_write_text(out / CSV_NAME, _csv(rows, cols))
    path = doc.save(html, "table across runs")
    shown = [line for line in doc.markdown().splitlines() if not line.startswith("![")]
    return path, "\n".join(shown).rstrip() + f"\n\nTable across runs: {out / CSV_NAME}\n"


_SEQUENTIAL = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


class RunsTable(Callback):
    """At the end of any multirun, write and print the table across its runs.

    With Hydra's default (sequential) launcher the table is also rewritten after each run:
    Hydra stops a multirun whose run failed before `on_multirun_end`, and the table of the
    runs so far is then already on disk. Parallel launchers run jobs in other processes at
    the same time, so there it is written once, at the end."""

    def on_job_end(self, config: Any, job_return: Any = None, **kwargs: Any) -> None:
        hydra = config.hydra
        if not str(hydra.mode).endswith("MULTIRUN") or hydra.launcher.get("_target_") != (
            _SEQUENTIAL
        ):
            return
        sweep_dir = Path(str(hydra.sweep.dir))
        try:
            write_runs_report(sweep_dir)
        except Exception as exc:  # noqa: BLE001 - a report never fails a run
            log.debug("table across runs not written after this run: %s", exc)
            return
        if getattr(getattr(job_return, "status", None), "name", "") == "FAILED":
            log.warning(
                "a run of this multirun failed; the table of the runs so far: %s",
                sweep_dir / REPORT_DIR / "report.md",
            )

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir() or not find_runs(sweep_dir):
            return  # nothing ran (e.g. check=true)
        try:
            _path, text = write_runs_report(sweep_dir)
        except Exception as exc:  # noqa: BLE001 - a report never fails a finished multirun
            log.warning("could not write the table across runs: %s", exc)
            return
        print(f"\n{text}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m djsandbox.reporting.multirun_report SWEEP_DIR [...]`: (re)build the table."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or any(a.startswith("-") for a in args):
        print(
            "usage: python -m djsandbox.reporting.multirun_report SWEEP_DIR [SWEEP_DIR ...]",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    for folder in args:
        try:
            _path, text = write_runs_report(Path(folder))
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
