"""Problems that are not in the config: this machine lacks something the run needs.

Validation tells "this config is wrong" apart from "fetch or set this first": a data file an
earlier run or a download provides, a side config file, weights, a package or program an op
needs, a model store, an API endpoint or key, an external repository, a GPU, a component not
built yet. A check reports such
a need as a `Resource` (a `str`, so every list of problems carries it unchanged) with what to
fetch or set; `--check` lists them in their own section, and a config whose only problems are
resources is valid (exit status 4, `errors.EXIT_RESOURCES`, rather than 2).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

# Kinds a check may declare (the section groups nothing by kind; it is said in the line).
KINDS = (
    "input file",
    "side config file",
    "weights",
    "package",
    "program",
    "model store",
    "endpoint",
    "repository",
    "gpu",
    "component",
)
_PLACEHOLDER = re.compile(r"<[A-Za-z_][A-Za-z0-9_]*>")


class Resource(str):
    """A problem message (`where: what`) that names a missing resource, and how to get it."""

    fix: str
    kind: str

    def __new__(cls, message: str, *, fix: str, kind: str) -> Resource:
        if kind not in KINDS:
            raise ValueError(f"unknown resource kind {kind!r}; one of {', '.join(KINDS)}")
        obj = super().__new__(cls, message)
        obj.fix = fix
        obj.kind = kind
        return obj

    def __reduce__(self):  # type: ignore[override]
        return (_rebuild, (str(self), self.fix, self.kind))


def _rebuild(message: str, fix: str, kind: str) -> Resource:
    return Resource(message, fix=fix, kind=kind)


def carry(problem: str, text: str) -> str:
    """`text` (the problem re-worded, e.g. with its job's label in front) keeps the problem's
    kind: a resource stays a resource."""
    if isinstance(problem, Resource):
        return Resource(text, fix=problem.fix, kind=problem.kind)
    return text


def at(prefix: str, problem: str, sep: str = ": ") -> str:
    """The problem with `prefix` (a job label, a key) in front, keeping its kind."""
    return carry(problem, f"{prefix}{sep}{problem}")


def split(problems: Iterable[str]) -> tuple[list[str], list[Resource]]:
    """(config problems, missing resources), each in the order found."""
    config: list[str] = []
    needs: list[Resource] = []
    for problem in problems:
        (needs if isinstance(problem, Resource) else config).append(problem)  # type: ignore[arg-type]
    return config, needs


def section(needs: list[Resource]) -> str:
    """The resources part of a report: each need, its kind, and what to fetch or set."""
    lines = [
        f"missing resources ({len(needs)}; not config errors: this machine lacks them, "
        "fetch or set each, then run again):"
    ]
    for need in needs:
        lines.append(f"  - [{need.kind}] {need}")
        lines.append(f"      fix: {need.fix}")
    return "\n".join(lines)


def placeholder(value: object) -> str | None:
    """A `<name>` placeholder the reference's configs ask users to replace (`<internvl_home>`)."""
    match = _PLACEHOLDER.search(value) if isinstance(value, str) else None
    return match.group(0) if match else None


def missing_file(
    message: str,
    value: str,
    key: str,
    kind: str = "input file",
    earlier_run: bool = False,
    written_as: str | None = None,
) -> Resource:
    """A file the config names that is not on this machine and no earlier job writes.
    `earlier_run`: it lies in the run folder, where an earlier run's jobs write; `written_as`:
    the path an earlier job of this run writes it at (the reference's `iter_<n>/` layout)."""
    if hole := placeholder(value):
        fix = f"replace the placeholder {hole} in {key} with the real path on this machine"
    elif written_as is not None:
        fix = (
            f"an earlier job of this run writes {written_as!r}; the reference put iteration "
            "n's outputs under iter_<n>/ (n from 1), djsandbox writes the first iteration's "
            f"at the configured path: set {key} to {written_as!r}, or take it from that job "
            "with `input`"
        )
    elif earlier_run:
        fix = (
            f"{value!r} is in the run folder: an earlier run writes it (run the config that "
            f"produces it first, in this work_dir), or point {key} at the file"
        )
    elif kind == "side config file":
        fix = f"put the config file at {value!r} (it is loaded as {key}), or point {key} at it"
    else:
        fix = (
            f"fetch or create the file (or the earlier run that writes it) at {value!r}, "
            f"or point {key} at where it is"
        )
    return Resource(message, fix=fix, kind=kind)


def not_built(message: str, note: str) -> Resource:
    """A hook or component the reference has that this project does not have yet."""
    note = note.removeprefix("not built yet: ")
    return Resource(message, fix=f"not built yet in djsandbox: {note}", kind="component")


def gpu_visible() -> bool:
    """Whether this process can see an NVIDIA GPU, without importing torch (validation stays
    fast): the driver's device list (or its device nodes), narrowed by CUDA_VISIBLE_DEVICES.
    Where the system has no /proc to ask, it says yes (nothing is claimed missing)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if not Path("/proc").is_dir():
        return True
    try:
        if any(Path("/proc/driver/nvidia/gpus").iterdir()):
            return True
    except OSError:
        pass
    return any(Path("/dev").glob("nvidia[0-9]*"))


def gpu_needed(key: str, accelerator: object) -> Resource | None:
    """A trainer asking for a GPU on a machine that shows none."""
    if not isinstance(accelerator, str) or accelerator.lower() not in ("gpu", "cuda"):
        return None
    if gpu_visible():
        return None
    return Resource(
        f"{key}: {accelerator!r} but this machine shows no GPU",
        fix=f"run on a machine with an NVIDIA GPU, or set {key} to 'cpu' (trainer=default)",
        kind="gpu",
    )
