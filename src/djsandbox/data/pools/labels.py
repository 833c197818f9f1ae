"""Names for pools that say what they hold: `text_len high`, `num_words high ∩ text_len mid`.

Pool results are lists of paths, so reports used to call them `[0]` ... `[6]`. Each pool's
composition can be read back from what the pool components return and the names they write:

- `data_pool_construction` returns {stat: [paths]}, the pools of one stat in ascending order
  of it (`<export>/<stat>/<name>_<stat>_<i>`): with thirds, `low`, `mid`, `high`; else
  `<i+1>/<n>` (1 = the lowest values);
- `data_pool_combination` names each intersection by the ranks of its members in its input
  list (`<prefix>_top_0_2_num_<rows>`): its label joins its members' labels with ` ∩ `;
- every other step (ranking, downsampling, duplication, training one model per pool,
  evaluating one checkpoint per model) keeps its input's shape, so each output keeps the label
  of the input at the same place.

Standard library only: reports import it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

PARTS = {2: ("low", "high"), 3: ("low", "mid", "high")}
_TOP = re.compile(r"_top_((?:\d+_)*\d+)_num_\d+$")  # combination.py's output names

Place = tuple[Any, ...]  # where a leaf is in a nested structure: list indices and dict keys


def part_name(i: int, n: int) -> str:
    """Which part of a stat's sorted range pool `i` of `n` is (`low`/`mid`/`high` for thirds)."""
    return PARTS[n][i] if n in PARTS else f"{i + 1}/{n}"


def construction_labels(result: Any) -> dict[str, str]:
    """{pool path: `<stat> <part>`} for a `data_pool_construction` result {stat: [paths]}."""
    out: dict[str, str] = {}
    if not isinstance(result, dict):
        return out
    for stat, paths in result.items():
        if not isinstance(paths, list):
            continue
        for i, path in enumerate(paths):
            if isinstance(path, str) and Path(path).stem.endswith(f"_{stat}_{i}"):
                out[path] = f"{stat} {part_name(i, len(paths))}"
    return out


def combination_members(path: str) -> tuple[int, ...] | None:
    """The input ranks an intersection was made of, from its name (`..._top_0_2_num_40`)."""
    match = _TOP.search(Path(path).stem)
    return tuple(int(r) for r in match.group(1).split("_")) if match else None


def combination_labels(inputs: Any, outputs: Any, known: dict[str, str]) -> dict[str, str]:
    """{intersection path: `a ∩ b`} from the combination's input list (ranked pools) and its
    outputs; a member without a known label is named by its file stem."""
    out: dict[str, str] = {}
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        return out
    for path in outputs:
        ranks = combination_members(str(path)) if isinstance(path, str) else None
        if ranks is None or any(r >= len(inputs) for r in ranks):
            continue
        members = [str(inputs[r]) for r in ranks]
        out[path] = " ∩ ".join(known.get(m, Path(m).stem) for m in members)
    return out


def leaves(value: Any, is_leaf: Any = None, place: Place = ()) -> Iterator[tuple[Place, Any]]:
    """(place, leaf) of a structure of lists and dicts; `is_leaf(value)` stops the descent
    early (e.g. at a dict of metrics)."""
    if is_leaf is not None and is_leaf(value):
        yield place, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, is_leaf, (*place, i))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, is_leaf, (*place, k))
    else:
        yield place, value


def by_place(inputs: Any, known: dict[str, str]) -> dict[Place, str]:
    """{place: label} of the labelled paths in an input structure."""
    return {p: known[v] for p, v in leaves(inputs) if isinstance(v, str) and v in known}


def carried_labels(inputs: Any, outputs: Any, known: dict[str, str]) -> dict[str, str]:
    """{output path: label} for a step that keeps its input's shape: each output path at the
    same place as a labelled input path gets its label."""
    labelled = by_place(inputs, known)
    out_leaves = list(leaves(outputs))
    if not labelled or [p for p, _ in out_leaves] != [p for p, _ in leaves(inputs)]:
        return {}
    return {v: labelled[p] for p, v in out_leaves if isinstance(v, str) and p in labelled}
