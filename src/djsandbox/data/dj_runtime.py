"""Data-Juicer runtime glue: offline environment, recipe -> DJ config, recipe files, DJ log
capture.

Data-Juicer is imported lazily inside functions only: importing it costs seconds (and
``data_juicer.core`` imports ray), and composing or validating a sandbox config must stay fast.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from djsandbox.atomic import atomic_write_text
from djsandbox.redact import mask_text, redact

__all__ = [
    "RecipeError",
    "prepare_offline_env",
    "build_dj_config",
    "dj_log_to",
    "forbid_runtime_installs",
    "check_process",
    "to_plain",
    "write_recipe",
]

# Environment that keeps Data-Juicer, `datasets` and the HF hub off the network.
_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}
# Makes an attempted runtime `uv pip install` / `pip install` by Data-Juicer's LazyLoader fail at
# once. Only set while Data-Juicer runs: other parts of the sandbox may install on purpose.
_NO_INSTALL_ENV = {"UV_OFFLINE": "1", "PIP_NO_INDEX": "1"}


class RecipeError(ValueError):
    """A Data-Juicer recipe that Data-Juicer rejects; ``key`` names the offending recipe key."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(mask_text(f"Data-Juicer recipe key '{key}': {message}"))


def default_cache_dir() -> Path:
    """Where Data-Juicer's models/assets go unless the user chose: ~/.cache/djsandbox/data_juicer."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "djsandbox" / "data_juicer"


def prepare_offline_env(cache_dir: Path | None = None) -> None:
    """Set (never overwrite) env vars that keep Data-Juicer offline and its caches ours.

    Must run before ``data_juicer``/``datasets`` are first imported: both read these variables
    at import time (``data_juicer.utils.cache_utils`` reads DATA_JUICER_CACHE_HOME,
    DATA_JUICER_MODELS_CACHE and DATA_JUICER_ASSETS_CACHE once).
    """
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    home = Path(os.environ.get("DATA_JUICER_CACHE_HOME") or (cache_dir or default_cache_dir()))
    home = home.expanduser()
    os.environ.setdefault("DATA_JUICER_CACHE_HOME", str(home))
    os.environ.setdefault("DATA_JUICER_MODELS_CACHE", str(home / "models"))
    os.environ.setdefault("DATA_JUICER_ASSETS_CACHE", str(home / "assets"))
    for key in ("DATA_JUICER_CACHE_HOME", "DATA_JUICER_MODELS_CACHE", "DATA_JUICER_ASSETS_CACHE"):
        with contextlib.suppress(OSError):
            Path(os.environ[key]).mkdir(parents=True, exist_ok=True)


def to_plain(obj: Any) -> Any:
    """Recursively turn OmegaConf nodes, mappings, tuples, Paths and numpy scalars into YAML-safe
    plain Python, so a recipe dict can be dumped and handed to Data-Juicer."""
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(obj):
            obj = OmegaConf.to_container(obj, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "item") and type(obj).__module__ == "numpy":
        return obj.item()
    return obj


def _check_finite(obj: Any, where: str = "recipe") -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where} is {obj!r}; Data-Juicer recipes must not contain NaN/inf")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_finite(v, f"{where}[{i}]")


def write_recipe(recipe: Mapping[str, Any], path: Path) -> Path:
    """Write a recipe as .yaml/.yml/.json atomically, so a crashed run never leaves a
    half-written recipe for the next stage; returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(f"recipe file must end in .yaml, .yml or .json, got {path.name!r}")
    plain = to_plain(recipe)
    if not isinstance(plain, dict):
        raise ValueError(f"a recipe must be a mapping, got {type(recipe).__name__}")
    _check_finite(plain)
    if suffix == ".json":
        text = json.dumps(plain, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return atomic_write_text(path, text)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _resolve_input(path: str, base_dirs: Sequence[Path]) -> str:
    """Absolute path for a relative dataset path: the first base dir where it exists, else the
    first base dir (or the cwd), so the error message later names a concrete path."""
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded) or "://" in expanded:
        return expanded
    candidates = [Path(b) / expanded for b in base_dirs] or [Path.cwd() / expanded]
    for cand in candidates:
        if cand.exists():
            return str(cand.resolve())
    return str(candidates[0].absolute())


def _without_spaces(path: str, work_dir: Path) -> str:
    """Data-Juicer reads `a b.jsonl` as `weight path`: a file whose path holds whitespace is
    given to it through a link without spaces in the job's folder (a mixture is left alone)."""
    if not any(c.isspace() for c in path) or not Path(path).is_file():
        return path
    link = work_dir.absolute() / "dj_inputs" / re.sub(r"\s+", "_", Path(path).name)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(path).absolute())
    return str(link)


def _prepare_recipe(
    recipe: Mapping[str, Any], work_dir: Path, base_dirs: Sequence[Path], job: str
) -> dict[str, Any]:
    """The recipe as Data-Juicer will see it: absolute paths, our work dir, a default np."""
    rec = copy.deepcopy(to_plain(recipe))
    if not isinstance(rec, dict):
        raise RecipeError("<recipe>", f"expected a mapping, got {type(recipe).__name__}")
    if rec.get("process") is None:
        rec["process"] = []
    if rec.get("dataset_path"):
        rec["dataset_path"] = _without_spaces(
            _resolve_input(str(rec["dataset_path"]), base_dirs), Path(work_dir)
        )
    dataset = rec.get("dataset")
    if isinstance(dataset, dict):
        for conf in dataset.get("configs") or []:
            if isinstance(conf, dict) and conf.get("type", "local") == "local" and conf.get("path"):
                conf["path"] = _resolve_input(str(conf["path"]), base_dirs)
    if rec.get("export_path"):
        export = os.path.expanduser(str(rec["export_path"]))
        # Like Data-Juicer: a relative export path is relative to the current directory.
        rec["export_path"] = export if "://" in export else os.path.abspath(export)
    else:
        name = "data.jsonl" if job == "process" else f"{job}.jsonl"
        rec["export_path"] = str(Path(work_dir).absolute() / "dj_export" / name)
    # Data-Juicer appends a `<UTC timestamp>_<hash>` job id to work_dir unless job_id is given;
    # a fixed job id makes its logs and analysis land at a predictable place inside our work_dir.
    rec["work_dir"] = str(Path(work_dir).absolute() / "dj")
    rec["job_id"] = job
    if rec.get("np") is None:
        rec["np"] = max(1, min(2, _cpu_count()))
    # Data-Juicer's default (true) turns an op failure - e.g. a package it cannot install -
    # into silently dropped rows; a sandbox result must not rest on that. Opt back in per recipe.
    rec.setdefault("skip_op_error", False)
    return rec


_KEY_PATTERNS = (
    re.compile(r'Parser key "([^"]+)"'),
    re.compile(r"Option '([^']+)' is not accepted"),
    re.compile(r"Key '([^']+)'"),
    re.compile(r'Key "([^"]+)"'),
)


def _key_from_message(text: str) -> str:
    for pattern in _KEY_PATTERNS:
        m = pattern.search(text)
        if m:
            return m.group(1)
    return "<recipe>"


def _clean_message(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("tip:")]
    return "\n".join(ln.removeprefix("error: ") for ln in lines)


def check_process(process: Any, strict: bool = True) -> None:
    """Validate op names (always) and argument names/types (when ``strict_preflight``, as the
    executor will) with Data-Juicer's own preflight check: ``init_configs`` accepts unknown ops
    and wrongly typed op args without complaint, and the Analyzer never checks them."""
    if not isinstance(process, list):
        raise RecipeError(
            "process", f"expected a list of {{op_name: {{args}}}}, got {redact(process)!r}"
        )
    prepare_offline_env()
    from data_juicer.core.preflight import PipelineConfigError, pre_instantiation_check
    from data_juicer.ops import OPERATORS

    from djsandbox.progress import adopt_library_loggers, route_loguru

    route_loguru()  # importing data_juicer replaced loguru's sinks with its own stderr sink
    adopt_library_loggers()  # and imported `datasets`, which adds its own terminal handler

    for index, item in enumerate(process):
        if not isinstance(item, dict) or len(item) != 1:
            raise RecipeError(
                f"process[{index}]", f"expected one {{op_name: {{args}}}}, got {redact(item)!r}"
            )
        op_name, op_args = next(iter(item.items()))
        if op_args is not None and not isinstance(op_args, dict):
            raise RecipeError(
                f"process[{index}].{op_name}",
                f"expected a mapping of args, got {redact(op_args)!r}",
            )
        if not strict and op_name in OPERATORS.modules:
            continue
        try:
            pre_instantiation_check([item])
        except PipelineConfigError as err:
            first = err.errors[0]
            m = re.search(r"parameter '([^']+)'", first.message, flags=re.IGNORECASE)
            key = f"process[{index}].{op_name}" + (f".{m.group(1)}" if m else "")
            raise RecipeError(key, "; ".join(str(e) for e in err.errors)) from None


def build_dj_config(
    recipe: Mapping[str, Any],
    *,
    work_dir: Path,
    base_dirs: Sequence[Path] = (),
    job: str = "process",
    overrides: Mapping[str, Any] | None = None,
):
    """Turn a recipe dict into a validated Data-Juicer config namespace.

    The recipe (copied, never mutated) gets absolute dataset/export paths, Data-Juicer's own
    work dir ``<work_dir>/dj/<job>``, a default ``np`` and, unless set, ``skip_op_error:
    false``. It is written to ``<work_dir>/dj_recipe_<job>.yaml`` (a file Data-Juicer's CLI
    accepts too; its secrets as placeholders, the real values set on the parsed config in
    memory only: see `dj_secrets`) and parsed with ``init_configs(load_configs_only=True)``, which skips
    Data-Juicer's one-shot global logger setup (it would redirect sys.stdout/stderr into loguru
    for the rest of the process). ``overrides`` are applied last (the analyzer forces stats
    export with it).
    Raises RecipeError naming the recipe key Data-Juicer rejected.
    """
    prepare_offline_env()
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    rec = _prepare_recipe(recipe, work_dir, list(base_dirs), job)
    rec.update(to_plain(dict(overrides or {})))
    from djsandbox.data.dj_secrets import hide_in_recipe, op_field_keys, restore_secrets

    written, secrets = hide_in_recipe(rec, op_field_keys(rec["process"]))
    check_process(rec["process"], strict=rec.get("strict_preflight", True) is not False)
    path = write_recipe(written, work_dir / f"dj_recipe_{job}.yaml")

    from data_juicer.config import init_configs

    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            cfg = init_configs(args=["--config", str(path)], load_configs_only=True)
    except SystemExit as err:  # jsonargparse reports a bad value by printing and exiting
        text = str(err.__context__) if err.__context__ is not None else captured.getvalue()
        raise RecipeError(_key_from_message(text), _clean_message(text)) from None
    except (TypeError, ValueError, KeyError, NotImplementedError) as err:
        text = str(err)
        raise RecipeError(_key_from_message(text), _clean_message(text) or repr(err)) from None
    return restore_secrets(cfg, secrets)


@contextlib.contextmanager
def dj_log_to(cfg: Any, name: str) -> Iterator[Path]:
    """Copy Data-Juicer's loguru messages into ``<dj work_dir>/logs/<name>.log`` for one run.

    Replaces what ``init_configs`` would do with its one-shot global logger setup, without its
    side effects; the sink is removed again afterwards so jobs don't write into each other's logs.
    Secrets are masked in every loguru message and in Data-Juicer's event log meanwhile; the
    sink shows no variable values in tracebacks (``diagnose=False``), where they could leak.
    Its ops and phases are reported to the run's progress display meanwhile (`dj_progress`).
    """
    from loguru import logger

    from djsandbox.data.dj_progress import reporting_dj_progress
    from djsandbox.data.dj_secrets import install_loguru_mask, mask_dj_events

    install_loguru_mask()
    log_dir = Path(getattr(cfg, "event_log_dir", None) or Path(cfg.work_dir) / "logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{name}.log"
    sink_id = logger.add(str(log_file), level="INFO", enqueue=False, mode="w", diagnose=False)
    try:
        with mask_dj_events(), reporting_dj_progress(len(getattr(cfg, "process", None) or [])):
            yield log_file
    finally:
        logger.remove(sink_id)


@contextlib.contextmanager
def forbid_runtime_installs() -> Iterator[None]:
    """Set UV_OFFLINE=1 and PIP_NO_INDEX=1 (unless the user set them) for the duration of a
    Data-Juicer run, then restore the environment.

    Data-Juicer installs a missing package with ``uv pip install`` the first time an op needs
    it; offline that would hang on the network or, worse, change the venv mid-experiment.
    """
    added = [key for key in _NO_INSTALL_ENV if key not in os.environ]
    for key in added:
        os.environ[key] = _NO_INSTALL_ENV[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)
