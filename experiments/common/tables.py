"""Markdown tables and number formatting for results.md."""

from __future__ import annotations

import math
from typing import Any, Sequence


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers with fixed digits (ints as they are), NaN/None as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3) -> str:
    """A GitHub Markdown table; numeric columns right-aligned."""

    def numeric(col: int) -> bool:
        return all(
            isinstance(r[col], (int, float)) and not isinstance(r[col], bool)
            for r in rows
            if r[col] is not None
        ) and bool(rows)

    align = ["---:" if numeric(i) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(
                f"markdown_table: row {row!r} has {len(row)} cells, expected {len(headers)}"
            )
        lines.append("| " + " | ".join(fmt(v, digits).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"
