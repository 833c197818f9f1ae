"""What a job's results look like to a tracker: numbers under flat keys, stats as tables.

Every payload goes through `redact.redact`, so secrets never reach a tracker.
"""

from __future__ import annotations

from typing import Any

from ...redact import redact
from .base import JobRecord

STAT_COLUMNS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")


def _is_stats(value: Any) -> bool:
    """An analysis stats mapping: {stat: {mean, std, ...}} (ProbeViaAnalyzerHook's `stats`)."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(v, dict) and ("mean" in v or "count" in v) for v in value.values())
    )


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _flatten(
    prefix: str,
    value: Any,
    out: dict[str, float | int],
    tables: dict[str, dict[str, dict[str, Any]]],
) -> None:
    number = _number(value)
    if number is not None:
        out[prefix] = number
    elif isinstance(value, dict):
        if "stats" in value and _is_stats(value["stats"]):
            tables[f"{prefix}.stats"] = value["stats"]
        for key, sub in value.items():
            if key == "stats" and _is_stats(sub):
                continue  # logged as a table, not as hundreds of scalars
            _flatten(f"{prefix}.{key}", sub, out, tables)
    elif isinstance(value, (list, tuple)):
        for i, sub in enumerate(value):
            _flatten(f"{prefix}[{i}]", sub, out, tables)


def job_payload(
    record: JobRecord,
) -> tuple[dict[str, float | int], dict[str, dict[str, dict[str, Any]]]]:
    """(numeric results as `<pipeline>/<meta_name>/<result.key>` -> number, stats tables as
    `<pipeline>/<meta_name>/<result>.stats` -> {stat: {mean, std, ...}}), secrets redacted."""
    scalars: dict[str, float | int] = {}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    base = f"{record.pipeline}/{record.name}"
    for result, value in redact(record.results).items():
        _flatten(f"{base}/{result}", value, scalars, tables)
    return scalars, tables


def stats_rows(stats: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a stats table: one row per stat, the usual describe() columns."""
    extra = sorted({k for v in stats.values() for k in v if k not in STAT_COLUMNS})
    columns = ["stat", *STAT_COLUMNS, *extra]
    rows = [[name, *[_jsonable(v.get(c)) for c in columns[1:]]] for name, v in stats.items()]
    return columns, rows


def summary_tables(summary: dict[str, Any] | None) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The run summary (summary.py: `pipelines` and `items` rows) as column/row tables."""
    tables = {}
    for name in ("pipelines", "items"):
        rows = (summary or {}).get(name) or []
        if not rows:
            continue
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        tables[f"summary/{name}"] = (
            columns,
            [[_jsonable(r.get(c)) for c in columns] for r in rows],
        )
    return tables


def _jsonable(value: Any) -> Any:
    """Table cells: numbers and strings as they are, anything else as its string."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
