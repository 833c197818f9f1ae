"""What the converters share: reading ``dataset_path`` (one path, a list, or pools grouped per
stat, whose shape the outputs keep), naming outputs, reading rows, and Data-Juicer's special
tokens. Outputs are written with ``djsandbox.atomic.atomic_open``: all or nothing, so a failed
job leaves no partial output.

Module imports are stdlib only: validation imports the converters to run their checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

from ...shapes import is_list, is_nested, leaves, rebuild

DEFAULT_CAPTION_PROMPT = "<image>\nProvide a one-sentence caption for the provided image."
"""Human turn written by the reverse conversion when a row has no conversation to keep
(InternVL's COCO-caption fine-tuning prompt)."""

INTERNVL_IMAGE_TOKEN = "<image>"

PATH_KEYS = ("dataset_path", "export_path")


def keeps_shape(
    run: Callable[[dict[str, Any], Path], list[str]],
) -> Callable[[dict[str, Any], Path], Any]:
    """Let a converter take pools grouped per stat ({stat: [paths]}, nested lists) and return
    its outputs in the same shape, so later jobs stay aligned with the pools."""

    def wrapper(cfg: dict[str, Any], out_dir: Path) -> Any:
        value = cfg.get("dataset_path")
        if not is_nested(value):
            return run(cfg, out_dir)
        outputs = run({**cfg, "dataset_path": leaves(value)}, out_dir)
        return rebuild(value, iter(outputs))

    wrapper.__doc__ = run.__doc__
    wrapper.__name__ = run.__name__
    return wrapper


def check_paths(cfg: dict[str, Any], required: bool = True) -> list[str]:
    """Checks of ``dataset_path`` and ``export_path`` as far as the config alone tells."""
    problems = []
    value = cfg.get("dataset_path")
    if is_nested(value):
        value = leaves(value)
    if value is None:
        if required:
            problems.append("dataset_path: missing; expected a dataset path or a list of paths")
    elif isinstance(value, str):
        if not value:
            problems.append("dataset_path: empty; expected a dataset path or a list of paths")
    elif is_list(value):
        if len(value) == 0:
            problems.append("dataset_path: empty list; expected at least one dataset path")
        for i, p in enumerate(value):
            if not isinstance(p, str) or not p:
                problems.append(f"dataset_path: item {i} is {p!r}; expected a non-empty path")
    else:
        problems.append(
            f"dataset_path: got {type(value).__name__}; expected a path or a list of paths"
        )
    export = cfg.get("export_path")
    if export is not None and (not isinstance(export, str) or not export):
        problems.append(f"export_path: got {export!r}; expected a folder path")
    return problems


def input_paths(cfg: dict[str, Any]) -> list[Path]:
    problems = check_paths(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    value = cfg["dataset_path"]
    paths = [Path(value)] if isinstance(value, str) else [Path(p) for p in value]
    for p in paths:
        if not p.is_file():
            raise ValueError(f"dataset_path: file {str(p)!r} does not exist")
    return paths


def export_dir(cfg: dict[str, Any], out_dir: Path) -> Path:
    export = cfg.get("export_path")
    folder = Path(export) if export else Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"export_path: {str(folder)!r} is a file; expected a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_paths(inputs: list[Path], folder: Path, name: Callable[[Path], str]) -> list[Path]:
    """One output per input; two inputs with the same stem would overwrite each other."""
    outputs = [folder / name(p) for p in inputs]
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, outputs):
        if dst in seen:
            raise ValueError(
                f"dataset_path: {str(seen[dst])!r} and {str(src)!r} would both be "
                f"written to {str(dst)!r}; give the inputs different file names"
            )
        if dst.resolve() == src.resolve():
            raise ValueError(f"export_path: output {str(dst)!r} would overwrite its input")
        seen[dst] = src
    return outputs


def dump(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False)


def special_tokens() -> Any:
    """Data-Juicer's special tokens, read at run time so they always match its operators."""
    from data_juicer.utils.mm_utils import SpecialTokens

    return SpecialTokens


def strip_tokens(text: str, tokens: tuple[str, ...]) -> str:
    for t in tokens:
        text = text.replace(t, "")
    return text.strip()


def rows_of(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) of a JSONL file or a JSON array file; ``where`` names file and row."""
    from ..jsonl import numbered_rows

    with open(path, encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
        for i, row in enumerate(items):
            if not isinstance(row, dict):
                raise ValueError(f"{path}: item {i} is {type(row).__name__}, not a JSON object")
            yield f"{path}: item {i}", row
        return
    for lineno, row in numbered_rows(path):
        yield f"{path}: line {lineno}", row
