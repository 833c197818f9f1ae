"""The run report: `work_dir/report/report.md` (+ PNG figures, + one self-contained report.html).

Built only from what the run left on disk (sandbox_state.json, config_snapshot.json, job
folders), so it can be rebuilt for any run folder, finished, failed or half-done:
`python -m djsandbox.reporting.run_report RUN_FOLDER`. A report must never break a run: every
section is built inside a guard that logs a warning and leaves the section out when anything in
it fails.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from .data_sections import section_distributions, section_funnel
from .document import Doc, log
from .model_sections import section_metrics, section_training
from .run_folder import RunFolder
from .run_sections import section_jobs, section_overview, section_summary

REPORT_DIR = "report"
SECTIONS = (
    section_overview,
    section_jobs,
    section_summary,
    section_funnel,
    section_distributions,
    section_metrics,
    section_training,
)


def write_run_report(work_dir: Path | str, *, html: bool = True) -> Path:
    """Write `work_dir/report/report.md` (+ figures, + report.html) and return its path.

    Safe to call at the end of every run, failed ones included: it reads only the run folder,
    and no problem while building it (missing files, a plot error) raises; the worst case is a
    short report that says what could not be read.
    """
    work_dir = Path(work_dir)
    doc = Doc(work_dir / REPORT_DIR, f"Run report: {work_dir.name}")
    try:
        run = RunFolder(work_dir)
    except Exception as exc:  # noqa: BLE001
        log.warning("report: cannot read the run state in %s: %s", work_dir, exc)
        doc.para(f"The run state could not be read: {exc}")
        return doc.save(html, "report")
    doc.build(SECTIONS, run)
    return doc.save(html, "report")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m djsandbox.reporting.run_report RUN_FOLDER [...]`: (re)build the report of
    finished runs."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(
            "usage: python -m djsandbox.reporting.run_report RUN_FOLDER [RUN_FOLDER ...]",
            file=sys.stderr,
        )
        return 2
    problems = [p for p in map(_not_a_run_folder, args) if p]
    if problems:  # nothing is written for a mistyped path
        for problem in problems:
            print(f"run_report: error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    for folder in args:
        print(write_run_report(Path(folder)))
    return 0


def _not_a_run_folder(arg: str) -> str | None:
    """Why `arg` is not a run folder to report on (None: it is one)."""
    from ..context import STATE_FILE

    folder = Path(arg)
    if not folder.exists():
        return f"{arg} does not exist"
    if not (folder / STATE_FILE).is_file():
        return (
            f"{arg} holds no {STATE_FILE}: give a run folder "
            "(e.g. outputs/PROJECT/EXPERIMENT/TIMESTAMP)"
        )
    return None


if __name__ == "__main__":
    raise SystemExit(main())
