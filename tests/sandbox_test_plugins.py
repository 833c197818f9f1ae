"""Small real components for engine tests, registered as a user would (`plugins:`).

Each appends its job name to `calls` (a log file) so tests can see exactly what ran.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from djsandbox.catalog import register


def _log(cfg: dict[str, Any]) -> None:
    if cfg.get("calls"):
        with open(cfg["calls"], "a", encoding="utf-8") as fh:
            fh.write(f"{cfg.get('name', '?')}\n")


@register("DataEvaluator", "test_echo", "returns cfg['value']")
def echo(cfg: dict[str, Any], out_dir: Path) -> Any:
    _log(cfg)
    return cfg.get("value")


@register("DataEvaluator", "test_pair", "returns (cfg['a'], cfg['b'])", results=2)
def pair(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    _log(cfg)
    return cfg.get("a"), cfg.get("b")


@register("DataEvaluator", "test_write", "writes cfg['export_path'] and returns it")
def write(cfg: dict[str, Any], out_dir: Path) -> str:
    _log(cfg)
    path = Path(cfg["export_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cfg.get("content", "written: true\n"), encoding="utf-8")
    return str(path)


@register("DataEvaluator", "test_fail_once", "raises unless cfg['marker'] exists, then creates it")
def fail_once(cfg: dict[str, Any], out_dir: Path) -> str:
    _log(cfg)
    marker = Path(cfg["marker"])
    if not marker.exists():
        marker.write_text("failed once\n")
        raise RuntimeError("planned failure")
    return "recovered"


@register("DataEvaluator", "test_sleep", "sleeps cfg['seconds']")
def sleep(cfg: dict[str, Any], out_dir: Path) -> float:
    _log(cfg)
    time.sleep(float(cfg.get("seconds", 0)))
    return float(cfg.get("seconds", 0))


@register(
    "DataEvaluator", "test_counter", "counts its calls in cfg['counter'] and returns the count"
)
def counter(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    _log(cfg)
    path = Path(cfg["counter"])
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    return {"count": count, "step": cfg.get("step")}


@register("ModelInferExecutor", "test_shout", "writes each row's text upper-cased to infer_res_key")
def shout(cfg: dict[str, Any], out_dir: Path) -> str:
    import json

    key = cfg.get("infer_res_key", "response")
    with open(cfg["dataset_path"], encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    with open(cfg["export_path"], "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**row, key: row["text"].upper() + "!!"}) + "\n")
    return cfg["export_path"]


def _check_min_score(cfg: dict[str, Any]) -> list[str]:
    return [] if cfg.get("min_score", 0) >= 0 else ["min_score: expected >= 0"]


@register(
    "DataEvaluator",
    "test_checked",
    "a user component with declared keys and a check",
    results=2,
    keys=("dataset_path", "min_score"),
    required=("dataset_path",),
    check=_check_min_score,
)
def checked(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    return cfg["dataset_path"], cfg.get("min_score", 0)


def _check_weights(cfg: dict[str, Any]) -> list[str]:
    """A component declaring what it needs from the machine: its weights file."""
    from djsandbox.resource_problems import Resource

    weights = cfg.get("weights")
    if not isinstance(weights, str) or Path(weights).is_file():
        return []
    return [
        Resource(
            f"weights: {weights!r} is not on this machine",
            fix=f"download the weights to {weights!r}",
            kind="weights",
        )
    ]


@register(
    "DataEvaluator",
    "test_needs_weights",
    "returns cfg['weights']; its check reports missing weights as a resource",
    keys=("weights",),
    check=_check_weights,
)
def needs_weights(cfg: dict[str, Any], out_dir: Path) -> str:
    return cfg["weights"]


@register(
    "DataEvaluator",
    "test_pool_score",
    "per JSONL file of dataset_path (any shape): its rows and the mean of its `score` column",
)
def pool_score(cfg: dict[str, Any], out_dir: Path) -> Any:
    import json

    from djsandbox.shapes import map_structure

    def one(path: str, folder: Path) -> dict[str, Any]:
        with open(path, encoding="utf-8") as fh:
            scores = [json.loads(line)["score"] for line in fh if line.strip()]
        return {"rows": len(scores), "score": sum(scores) / len(scores)}

    return map_structure(cfg["dataset_path"], one, out_dir)
