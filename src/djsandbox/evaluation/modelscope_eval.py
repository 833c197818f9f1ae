"""The `modelscope` ModelInferEvaluator: run a ModelScope pipeline over a dataset's texts.

Keys: `model_name` or `model_path` (a ModelScope model id in the local cache, or a folder),
`task` (a ModelScope task such as `text-classification`), `dataset_path` (JSONL), `text_key`
(default `text`), `export_path` (a .jsonl file or a folder; default the job folder),
`infer_res_key` (default `prediction`), `max_rows`, `model_params` (extra `pipeline()`
arguments). Each row gets the pipeline's output (made JSON-safe) under `infer_res_key`; returns
the export path. ModelScope (a core dependency) is imported only when the pipeline is built;
reading, calling and writing are plain functions that take any callable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..data.jsonl import read_rows
from ..inference.rows import FILE_SUFFIXES, write_jsonl_atomic
from ..models.modelscope_train import missing_modelscope
from ..registry import ComponentSpec
from ..value_checks import mappings, number, strings

KEYS = (
    "model_name",
    "model_path",
    "task",
    "dataset_path",
    "text_key",
    "export_path",
    "infer_res_key",
    "max_rows",
    "model_params",
)

SPECS = (
    ComponentSpec(
        "ModelInferEvaluator",
        "modelscope",
        f"{__name__}:run",
        "a ModelScope pipeline over a dataset's texts (a local model folder or a cached "
        "model id); "
        "returns the export path",
        keys=KEYS,
        required=("dataset_path", "task"),
        check=f"{__name__}:check_modelscope_eval",
    ),
)


def jsonable(value: Any) -> Any:
    """Pipeline outputs (numpy arrays and scalars, tensors, tuples) as JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy / torch
        return jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def infer_rows(
    pipe: Callable[[str], Any],
    rows: list[dict[str, Any]],
    text_key: str,
    res_key: str,
    source: str = "dataset",
) -> list[dict[str, Any]]:
    """Rows with `pipe(row[text_key])` stored under `res_key`, in order."""
    out = []
    for i, row in enumerate(rows):
        if text_key not in row:
            raise ValueError(
                f"text_key: {source} row {i} has no key {text_key!r}; it has {sorted(row)}"
            )
        out.append({**row, res_key: jsonable(pipe(row[text_key]))})
    return out


def export_target(cfg: dict[str, Any], src: Path, out_dir: Path) -> Path:
    export = cfg.get("export_path")
    if export and str(export).endswith(FILE_SUFFIXES):
        return Path(export)
    return Path(export or out_dir) / f"{src.name.rsplit('.', 1)[0]}_inference.jsonl"


def build_pipeline(cfg: dict[str, Any]) -> Callable[[str], Any]:
    """`modelscope.pipelines.pipeline(task, model)`, with clear errors for what is missing."""
    problem = missing_modelscope()
    if problem:
        raise RuntimeError(problem)
    model = cfg.get("model_path") or cfg.get("model_name")
    if not model or not cfg.get("task"):
        raise ValueError("model_name/task: both are needed (a ModelScope model and its task)")
    from modelscope.pipelines import pipeline

    try:
        return pipeline(
            task=str(cfg["task"]), model=str(model), **dict(cfg.get("model_params") or {})
        )
    except Exception as exc:  # ModelScope raises many kinds for a model it cannot find
        raise ValueError(
            f"model_name: cannot build a {cfg['task']!r} pipeline for {model!r} "
            f"(runs are offline: give a local folder or a cached model): "
            f"{type(exc).__name__}: {exc}"
        ) from None


def run(cfg: dict[str, Any], out_dir: Path) -> str:
    """Answer `dataset_path` with the pipeline; the export path."""
    if not cfg.get("dataset_path"):
        raise ValueError("dataset_path: missing; expected a JSONL file")
    src = Path(str(cfg["dataset_path"]))
    if not src.is_file():
        raise ValueError(f"dataset_path: file {str(src)!r} does not exist")
    rows = read_rows(src, cfg.get("max_rows"))
    pipe = build_pipeline(cfg)
    out = infer_rows(
        pipe,
        rows,
        str(cfg.get("text_key") or "text"),
        str(cfg.get("infer_res_key") or "prediction"),
        str(src),
    )
    dst = export_target(cfg, src, Path(out_dir))
    write_jsonl_atomic(out, dst)
    return str(dst)


def check_modelscope_eval(cfg: dict[str, Any]) -> list[str]:
    problems = [f"type: {why}"] if (why := missing_modelscope()) else []
    if not (cfg.get("model_name") or cfg.get("model_path")):
        problems.append("model_name: missing; give model_name (or model_path) and task")
    problems += strings(
        cfg,
        "model_name",
        "model_path",
        "task",
        "dataset_path",
        "text_key",
        "export_path",
        "infer_res_key",
    ) + mappings(cfg, "model_params")
    return problems + number(cfg, "max_rows", int, 1)
