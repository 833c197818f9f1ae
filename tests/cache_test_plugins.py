"""Components for the job cache tests: each counts its calls in a file named by the
`DJSANDBOX_TEST_CALLS` environment variable (outside its config, so counting does not change
its cache key), reads an input file and writes files, as real components do."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from djsandbox.catalog import register


def _count(name: str) -> None:
    path = os.environ.get("DJSANDBOX_TEST_CALLS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{name}\n")


@register(
    "DataEvaluator",
    "test_upper",
    "upper-cases dataset_path into export_path; writes a note in its own folder",
    results=2,
)
def upper(cfg: dict[str, Any], out_dir: Path) -> tuple[str, dict[str, Any]]:
    _count("upper")
    time.sleep(float(cfg.get("seconds", 0)))
    text = Path(cfg["dataset_path"]).read_text(encoding="utf-8")
    export = Path(cfg["export_path"])
    export.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"written to {export}\n" if cfg.get("stamp") else ""
    export.write_text(text.upper() * int(cfg.get("times", 1)) + stamp, encoding="utf-8")
    note = out_dir / "note.json"
    note.write_text(json.dumps({"rows": len(text.splitlines()), "export": str(export)}))
    return str(export), {"rows": len(text.splitlines()), "note": str(note)}


@register("ModelTrainExecutor", "test_fit", "writes a 'checkpoint' into its folder")
def fit(cfg: dict[str, Any], out_dir: Path) -> str:
    _count("fit")
    checkpoint = out_dir / "model.ckpt"
    checkpoint.write_text(f"weights for {Path(cfg['dataset_path']).read_text()!r}")
    return str(checkpoint)
