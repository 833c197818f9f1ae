"""Reading a run folder: the saved state (sandbox_state.json), the config snapshot, job folders.

Reports are built only from what a run left on disk, so they can be rebuilt for any run
folder, finished, failed or half-done. `RunFolder` holds the state plus the lookups the report
sections share (which analysis fed a job, where a job's dataset lies).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..context import STATE_FILE, RunState
from ..plan import build_plan

Job = tuple[str, dict[str, Any]]  # (state key "<iteration>/<job key>", its status)


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def job_name(status: dict[str, Any]) -> str:
    """The name a job's results are stored under: its meta_name, else `<stage>_<index>`."""
    return status.get("meta_name") or f"{status.get('stage')}_{status.get('index')}"


def job_label(key: str, status: dict[str, Any]) -> str:
    """`iter <i> / <pipeline> / <name> (<hook>)`: how reports name a job."""
    it = key.split("/", 1)[0]
    return f"iter {it} / {status.get('pipeline')} / {job_name(status)} ({status.get('hook')})"


def job_dir(status: dict[str, Any]) -> Path | None:
    """A done job records `job_dir`; a failed one only `error_log`, which lies in it."""
    if status.get("job_dir"):
        return Path(status["job_dir"])
    if status.get("error_log"):
        return Path(status["error_log"]).parent
    return None


def job_config(status: dict[str, Any]) -> dict[str, Any]:
    """The resolved dj_configs/extra_configs the job ran with (job_config.json)."""
    folder = job_dir(status)
    data = read_json(folder / "job_config.json") if folder else None
    return data if isinstance(data, dict) else {}


def export_path(status: dict[str, Any]) -> Path | None:
    """The `dj_configs.export_path` a job ran with, if any."""
    dj = job_config(status).get("dj_configs")
    if isinstance(dj, dict) and dj.get("export_path"):
        return Path(str(dj["export_path"]))
    return None


class RunFolder:
    """The saved state of a run plus lookups the sections share."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.state = RunState.load(self.work_dir / STATE_FILE)
        self.snapshot = read_json(self.work_dir / "config_snapshot.json") or {}
        self.iterations = self.state.context.iterations

    def jobs(self) -> list[Job]:
        return list(self.state.jobs.items())

    def done(self, hook: str) -> list[Job]:
        return [
            (k, s)
            for k, s in self.state.jobs.items()
            if s.get("hook") == hook and s.get("status") == "done"
        ]

    def results(self, key: str, status: dict[str, Any]) -> dict[str, Any]:
        it = int(key.split("/", 1)[0])
        if it >= len(self.iterations):
            return {}
        return self.iterations[it].get(status.get("pipeline"), {}).get(job_name(status), {}) or {}

    def planned_not_run(self) -> list[dict[str, Any]]:
        """Jobs of the config that have no status in the last iteration (e.g. after a failure)."""
        try:
            plan = build_plan(self.snapshot)
        except Exception:  # noqa: BLE001 - an unreadable snapshot only loses this list
            return []
        its = [int(k.split("/", 1)[0]) for k in self.state.jobs] or [0]
        last = max(its)
        out = []
        for spec in plan.jobs():
            if f"{last}/{spec.key}" not in self.state.jobs:
                out.append(
                    {
                        "iter": last,
                        "pipeline": spec.pipeline,
                        "stage": spec.stage,
                        "#": spec.index,
                        "meta_name": spec.meta_name or "",
                        "hook": str(spec.hook),
                        "status": "not run",
                    }
                )
        return out

    # -- which jobs feed a job, and where their datasets lie ------------------------------------
    def _same_pipeline(self, hook: str, key: str, status: dict[str, Any]) -> list[Job]:
        """Done `hook` jobs of the same iteration and pipeline as the job `key`."""
        it = key.split("/", 1)[0]
        return [
            (k, s)
            for k, s in self.done(hook)
            if k.startswith(f"{it}/") and s.get("pipeline") == status.get("pipeline")
        ]

    def analysis_for(self, key: str, status: dict[str, Any]) -> Job | None:
        """The analysis probe feeding a job: same iteration and pipeline, same meta_name if
        any, else the latest before it."""
        probes = self._same_pipeline("ProbeViaAnalyzerHook", key, status)
        same = [(k, s) for k, s in probes if s.get("meta_name") == status.get("meta_name")]
        pick = same or probes
        return pick[-1] if pick else None

    def refine_for(self, key: str, status: dict[str, Any]) -> Job | None:
        """The last k-sigma refinement of the job's iteration and pipeline."""
        refines = self._same_pipeline("RefineRecipeViaKSigmaHook", key, status)
        return refines[-1] if refines else None

    def processes_after(self, key: str, status: dict[str, Any]) -> list[Job]:
        """Process jobs of the same iteration and pipeline that ran after the job `key`."""
        order = list(self.state.jobs)
        return [
            (k, s)
            for k, s in self._same_pipeline("ProcessDataHook", key, status)
            if order.index(k) > order.index(key)
        ]

    def analysed_path(self, key: str, status: dict[str, Any]) -> Path | None:
        """Where an analysis exported its rows. The export path in job_config.json is
        preferred: a later k-sigma job with the same meta_name overwrites the context's
        `res_1`."""
        path = export_path(status)
        if path and path.is_file():
            return path
        for value in self.results(key, status).values():
            if isinstance(value, str) and value.endswith(".jsonl") and Path(value).is_file():
                return Path(value)
        return None

    def processed_path(self, key: str, status: dict[str, Any]) -> Path | None:
        """The dataset a process job wrote: its result, else its export path."""
        for value in self.results(key, status).values():
            if isinstance(value, str) and Path(value).is_file():
                return Path(value)
        path = export_path(status)
        return path if path and path.is_file() else None
