"""Which data pool each item of a pooled result is: its composition and its rows.

An evaluation that scored one model per pool returns a list (or {stat: [..]}) of metrics, so
tables used to call the items `[0]` ... `[6]`. Here the run's finished jobs are replayed in
order (their results from the saved state, their inputs from each job's `job_config.json`)
to label every pool file, model checkpoint and evaluation item by the pool it came from
(`data/pools/labels.py` says how), and to count that pool's rows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..context import RunState
from ..data.pools.labels import (
    Place,
    by_place,
    carried_labels,
    combination_labels,
    construction_labels,
    leaves,
)
from .run_folder import job_config, job_name

_INPUT_KEYS = ("dataset_path", "checkpoint")  # what a per-pool step maps over
_DATA_SUFFIXES = (".jsonl", ".json", ".parquet")


class PoolLabels:
    """Labels (and the pool file behind each labelled path) of one iteration of a run."""

    def __init__(self, state: RunState, iteration: int) -> None:
        self.label: dict[str, str] = {}
        self.pool: dict[str, str] = {}  # labelled path -> the pool file it was made from
        self._rows: dict[str, int | None] = {}
        results_of = state.context.iterations[iteration]
        for key, status in state.jobs.items():
            if not key.startswith(f"{iteration}/") or status.get("status") != "done":
                continue
            results = results_of.get(status.get("pipeline"), {}).get(job_name(status), {})
            extra = job_config(status).get("extra_configs")
            if isinstance(extra, dict) and isinstance(results, dict):
                self._add(extra, results)

    def _add(self, extra: dict[str, Any], results: dict[str, Any]) -> None:
        kind = extra.get("type")
        for value in results.values():
            if kind == "data_pool_construction":
                found = construction_labels(value)
                self._learn(found, {p: p for p in found})
            elif kind == "data_pool_combination":
                found = combination_labels(extra.get("dataset_path"), value, self.label)
                self._learn(found, {p: p for p in found})
            else:
                for key in _INPUT_KEYS:
                    self._carry(extra.get(key), value)

    def _carry(self, inputs: Any, outputs: Any) -> None:
        found = carried_labels(inputs, outputs, self.label)
        by_out = dict(zip((v for _, v in leaves(outputs)), (v for _, v in leaves(inputs))))
        pools = {}
        for out in found:
            is_data = Path(out).suffix in _DATA_SUFFIXES and Path(out).is_file()
            pools[out] = out if is_data else self.pool.get(str(by_out.get(out)), "")
        self._learn(found, pools)

    def _learn(self, labels: dict[str, str], pools: dict[str, str]) -> None:
        for path, label in labels.items():
            self.label.setdefault(path, label)
            if pools.get(path):
                self.pool.setdefault(path, pools[path])

    def rows(self, path: str) -> int | None:
        """Rows of the pool file behind `path` (a pool, or a model trained on one)."""
        pool = self.pool.get(path)
        if not pool:
            return None
        if pool not in self._rows:
            self._rows[pool] = row_count(Path(pool))
        return self._rows[pool]

    def items(self, inputs: Any, places: list[Place]) -> dict[Place, tuple[str, int | None]]:
        """{place: (label, pool rows)} for the items of a result shaped like `inputs`."""
        labelled = by_place(inputs, self.label)
        values = dict(leaves(inputs))
        return {p: (labelled[p], self.rows(str(values[p]))) for p in places if p in labelled}


def row_count(path: Path) -> int | None:
    """Rows of a JSONL or Parquet pool (None when it cannot be read)."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.read_metadata(path).num_rows)
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    except Exception:  # noqa: BLE001 - a count is a detail; the label still stands
        return None


def place_text(place: Place) -> str:
    """How a place reads without a label: `text_len[0]`, `[3]`."""
    out = ""
    for part in place:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def job_inputs(status: dict[str, Any]) -> Any:
    """The structure an evaluation mapped over: its checkpoint(s), else its dataset(s)."""
    extra = job_config(status).get("extra_configs")
    if not isinstance(extra, dict):
        return None
    return next((extra[k] for k in ("checkpoint", "dataset_path") if k in extra), None)


def folder_labels(state: RunState, key: str, status: dict[str, Any]) -> dict[str, str]:
    """{sub-folder of a job (`0`, `text_len/2`): pool label} for a job that ran once per
    labelled pool (each leaf of its `dataset_path` in its own sub-folder, as
    `shapes.map_structure` names them)."""
    extra = job_config(status).get("extra_configs")
    if not isinstance(extra, dict) or "dataset_path" not in extra:
        return {}
    known = PoolLabels(state, int(key.split("/", 1)[0])).label
    return {
        "/".join(re.sub(r"[^\w.-]", "_", str(part)) for part in place): label
        for place, label in by_place(extra["dataset_path"], known).items()
    }
