"""Write a study's results.md and results.json, stamped with how and where they were made.

Every number in a README comes from these files, written by the run itself: the command,
the profile, the machine (cores, CPU model, load average before and after, since this machine
is shared), the library versions, the commit and the measured wall time.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, text=True, capture_output=True, check=True
        ).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    gpu = torch.cuda.is_available()
    return {
        "cpu_cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "gpu": torch.cuda.get_device_name(0) if gpu else None,
        "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


class Stopwatch:
    """Wall time, load average and commit of a whole study run. The commit is read at the
    start: it is the code that ran, and the study's own figures (written before results.md)
    would otherwise mark the tree as changed."""

    def __init__(self) -> None:
        self.commit = _commit()
        self.start = time.perf_counter()
        self.started_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        self.load_before = os.getloadavg()

    def stamp(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "wall_seconds": round(time.perf_counter() - self.start, 1),
            "load_average_1_5_15_before": [round(x, 2) for x in self.load_before],
            "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
        }


def _clean(value: Any) -> Any:
    """JSON without NaN (written as null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def header(title: str, meta: dict[str, Any]) -> str:
    m = meta["machine"]
    wall = meta["run"]["wall_seconds"]
    gpu = m["gpu"] or "no GPU"
    reused, earlier = meta.get("reused_runs", 0), meta.get("reused_seconds")
    timing = f"**Wall time: {wall:.0f} s ({wall / 60:.1f} min)**"
    if not reused:
        timing += " for the whole study.\n"
    elif earlier is None:
        timing += (
            f" for this invocation, which reused {reused} finished run(s) of an earlier one.\n"
        )
    else:
        timing += (
            f" for this invocation, which reused {reused} finished run(s) of an earlier "
            f"one; those took {earlier:.0f} s when they ran (total "
            f"{(wall + earlier) / 60:.1f} min).\n"
        )
    return (
        f"# {title}\n\n"
        f"Produced by `{meta['command']}` (profile `{meta['profile']}`), commit "
        f"{meta['commit']}, started {meta['run']['started_at']}.\n\n"
        f"Machine: {m['cpu_cores']} CPU cores ({m['cpu_model']}), {gpu}, torch "
        f"{m['torch']} with {m['torch_threads']} threads. Load average (1/5/15 min) "
        f"{meta['run']['load_average_1_5_15_before']} before, "
        f"{meta['run']['load_average_1_5_15_after']} after (the machine is shared).\n\n" + timing
    )


def write_results(
    out_dir: Path,
    title: str,
    command: str,
    profile: str,
    watch: Stopwatch,
    sections: list[str],
    data: dict[str, Any],
    reused_runs: int = 0,
    runs: list[dict[str, Any]] | None = None,
) -> Path:
    """results.md (header + sections) and results.json (meta + data); returns results.md.

    For the timing line: `runs`, the sandbox runs made or reused (dicts with `reused` and
    `seconds`, their measured wall time), or just the number of `reused_runs`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    reused = [r for r in runs or [] if r.get("reused")]
    meta = {
        "command": command,
        "profile": profile,
        "commit": watch.commit,
        "machine": machine(),
        "run": watch.stamp(),
        "reused_runs": len(reused) if runs is not None else reused_runs,
        "reused_seconds": (
            round(sum(r["seconds"] for r in reused), 1) if runs is not None else None
        ),
    }
    (out_dir / "results.json").write_text(
        json.dumps(_clean({"meta": meta, **data}), indent=1) + "\n", encoding="utf-8"
    )
    md = out_dir / "results.md"
    md.write_text(
        header(title, meta) + "\n" + "\n".join(s.rstrip() + "\n" for s in sections),
        encoding="utf-8",
    )
    include_in_readme(out_dir / "README.md", md)
    return md


def publish_study(
    inv: Any,
    title: str,
    sections: list[str],
    data: dict[str, Any],
    runs: list[dict[str, Any]] | None = None,
) -> Path:
    """`write_results` for a driver's invocation (`cli.Invocation`: where, command, profile,
    stopwatch); logs and returns results.md."""
    md = write_results(
        inv.out_dir, title, inv.command, inv.profile, inv.watch, sections, data, runs=runs
    )
    logging.getLogger("experiments").info("wrote %s", md)
    return md


BEGIN, END = "<!-- results:begin", "<!-- results:end -->"


def include_in_readme(readme: Path, results_md: Path) -> bool:
    """Copy results.md into the README between the results markers (headings one level down),
    so the README shows exactly what the run wrote; a README without markers is left alone."""
    if not readme.is_file():
        return False
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return False
    body = "\n".join(
        "#" + line if line.startswith("#") else line
        for line in results_md.read_text(encoding="utf-8").splitlines()
    )
    marker_end = text.index("-->", start) + 3
    readme.write_text(
        text[:marker_end] + "\n" + body.rstrip() + "\n" + text[end:], encoding="utf-8"
    )
    return True
