"""The dataset side every inference executor shares: rows in, messages out, answers back in rows.

An executor only supplies `generate(list of messages) -> list of text or Exception`; this module
reads each JSONL dataset (`max_rows` first rows), builds the messages with the configured
function, stores the parsed answers under `infer_res_key` and writes the export atomically
(`djsandbox.atomic`), so a killed run never leaves half a file that looks finished.
An Exception in place of a text is a per-row failure: the row keeps `infer_res_key: null` and
the message under `<infer_res_key>_error`.

Where results go: `dataset_path` one file -> `export_path` if it names a .jsonl file, else
`<export_path or job folder>/<dataset stem>_inference.jsonl` (the reference's naming). A list or
mapping of datasets (e.g. pools) gives the same shape of export paths, one sub-folder each.
Stdlib only.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..atomic import atomic_open
from ..data.jsonl import numbered_rows
from ..progress import report
from ..shapes import map_structure
from . import messages as msg

log = logging.getLogger(__name__)

Generate = Callable[[list[msg.Messages]], list["str | BaseException"]]

# The reference's key names, accepted as aliases of ours (executors add their own).
ALIASES = {
    "build_messages_func": "build_messages_fn",
    "parse_output_func": "parse_output_fn",
    "sampling_params": "generation",
}
LOCAL_MODEL_ALIASES = {**ALIASES, "model": "model_path"}
COMMON_KEYS = (
    "dataset_path",
    "export_path",
    "infer_res_key",
    "build_messages_fn",
    "parse_output_fn",
    "build_messages_func",
    "parse_output_func",
    "func_kwargs",
    "prompt_key",
    "text_key",
    "system_prompt",
    "max_rows",
    "generation",
    "sampling_params",
)
FILE_SUFFIXES = (".jsonl", ".json")
MIN_CHUNK = 64  # requests per `generate` call at least, when answers are reported in steps
PROGRESS_STEPS = 20  # progress reports per dataset at most


def canonical(cfg: dict[str, Any], aliases: dict[str, str] | None = None) -> dict[str, Any]:
    """`cfg` with reference alias keys renamed to ours; both spellings at once is an error."""
    out = dict(cfg)
    for alias, name in (aliases or ALIASES).items():
        if alias in out:
            if name in out:
                raise ValueError(f"{alias}: same setting as {name}; give only one of them")
            out[name] = out.pop(alias)
    return out


@dataclass
class RowSpec:
    """What to do with each row, read from the executor's config."""

    build: Callable[..., Any]
    parse: Callable[..., Any]
    settings: dict[str, Any] = field(default_factory=dict)
    infer_res_key: str = "response"
    max_rows: int | None = None

    @classmethod
    def from_cfg(cls, cfg: dict[str, Any]) -> RowSpec:
        settings = dict(cfg.get("func_kwargs") or {})
        for key in ("prompt_key", "text_key", "system_prompt"):
            if cfg.get(key) is not None:
                settings[key] = cfg[key]
        max_rows = cfg.get("max_rows")
        if max_rows is not None and (
            isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1
        ):
            raise ValueError(f"max_rows: expected an integer >= 1, got {max_rows!r}")
        return cls(
            build=msg.resolve(cfg.get("build_messages_fn", msg.DEFAULT_BUILD), "build_messages_fn"),
            parse=msg.resolve(cfg.get("parse_output_fn", msg.DEFAULT_PARSE), "parse_output_fn"),
            settings=settings,
            infer_res_key=str(cfg.get("infer_res_key") or "response"),
            max_rows=max_rows,
        )


def infer_file(spec: RowSpec, src: Path, dst: Path, generate: Generate) -> dict[str, int]:
    """Answer every row of `src` into `dst`; counts of rows, ok and failed."""
    rows, requests, owners = [], [], []  # owners[i]: (row index, several questions?)
    for lineno, row in numbered_rows(src):
        if spec.max_rows is not None and len(rows) >= spec.max_rows:
            break
        try:
            built = spec.build(row, **spec.settings)
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{src}:{lineno}: build_messages_fn failed: {exc}") from None
        several = bool(built) and isinstance(built[0], list)
        for messages in built if several else [built]:
            requests.append(messages)
            owners.append((len(rows), several))
        rows.append(row)
    outputs = generate_reporting(generate, requests, len(rows))
    answers: list[list[Any]] = [[] for _ in rows]
    errors: list[str | None] = [None] * len(rows)
    for (index, _), out in zip(owners, outputs):
        if isinstance(out, BaseException):
            errors[index] = errors[index] or _describe(out)
        else:
            answers[index].append(spec.parse(out, rows[index], **spec.settings))
    several_of = {index: several for index, several in owners}
    failed = 0
    for index, row in enumerate(rows):
        if errors[index] is not None:
            failed += 1
            row[spec.infer_res_key] = None
            row[f"{spec.infer_res_key}_error"] = errors[index]
        else:
            row[spec.infer_res_key] = (
                answers[index]
                if several_of.get(index)
                else (answers[index][0] if answers[index] else None)
            )
    write_jsonl_atomic(rows, dst)
    return {"rows": len(rows), "ok": len(rows) - failed, "failed": failed}


def generate_reporting(
    generate: Generate, requests: list[msg.Messages], n_rows: int
) -> list[str | BaseException]:
    """`generate` over the requests in chunks (at least `MIN_CHUNK` requests each, so an
    executor still batches), reporting rows answered to the run's progress display."""
    if not requests:
        return []
    chunk = max(MIN_CHUNK, math.ceil(len(requests) / PROGRESS_STEPS))
    outputs: list[str | BaseException] = []
    for start in range(0, len(requests), chunk):
        outputs.extend(generate(requests[start : start + chunk]))
        done = min(len(requests), start + chunk)
        report(round(n_rows * done / len(requests)), n_rows, "rows answered")
    return outputs


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def write_jsonl_atomic(rows: list[dict[str, Any]], dst: Path) -> None:
    """Write rows as JSONL, atomically (see `djsandbox.atomic`)."""
    with atomic_open([dst]) as (fh,):
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def export_file(src: Path, export_path: Any, folder: Path, single: bool) -> Path:
    """Where the answers to dataset `src` go (see the module docstring)."""
    if export_path and single and str(export_path).endswith(FILE_SUFFIXES):
        return Path(export_path)
    if export_path and not single and str(export_path).endswith(FILE_SUFFIXES):
        raise ValueError(
            f"export_path: {str(export_path)!r} names a file, but dataset_path "
            "holds several datasets; give a folder"
        )
    return folder / f"{src.name.rsplit('.', 1)[0]}_inference.jsonl"


def run_datasets(
    cfg: dict[str, Any], out_dir: Path, generate: Generate, spec: RowSpec | None = None
) -> tuple[Any, dict[str, int]]:
    """Infer over `dataset_path` (a path, list or mapping): (export path(s), totals)."""
    spec = spec or RowSpec.from_cfg(cfg)
    datasets = cfg.get("dataset_path")
    if datasets in (None, "", [], {}):
        raise ValueError("dataset_path: missing; expected a JSONL file (or a list/mapping of them)")
    single = not isinstance(datasets, (list, dict))
    export = cfg.get("export_path")
    base = Path(export) if export and not str(export).endswith(FILE_SUFFIXES) else Path(out_dir)
    totals = {"rows": 0, "ok": 0, "failed": 0}

    def one(path: Any, folder: Path) -> str:
        src = Path(str(path))
        if not src.is_file():
            raise ValueError(f"dataset_path: file {str(src)!r} does not exist")
        dst = export_file(src, export, folder, single)
        counts = infer_file(spec, src, dst, generate)
        for k in totals:
            totals[k] += counts[k]
        log.info(
            "inference on %s: %d rows, %d ok, %d failed -> %s",
            src,
            counts["rows"],
            counts["ok"],
            counts["failed"],
            dst,
        )
        return str(dst)

    return map_structure(datasets, one, base), totals
