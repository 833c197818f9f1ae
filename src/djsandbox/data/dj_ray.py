"""Data-Juicer on Ray (`executor_type: ray`) behind the default executor's results contract.

Data-Juicer's Ray executor and analyser write a folder of shards where the default one writes
one JSONL file, start Ray with `ray_address` (default `auto`, which fails when no cluster
runs), and the Ray analyser's summary has no percentiles. Here the shards are joined, in row
order, into the one file the default executor writes at the same path; `auto` with no running
cluster starts a local Ray instance (as Data-Juicer's own analyser does); and the analysis
summary is computed from the per-row stats by Data-Juicer's own overall analysis, as the
default executor does (same keys and rows). Data-Juicer's default executor stores stats
rounded to about 10 significant digits and the Ray one does not, so the two summaries agree to
about 1e-10, not bit for bit: the job cache keeps them apart (the recipe's `executor_type`
is part of a job's key).

Parsing a Ray recipe makes Data-Juicer connect to Ray and set `RAY_JOB=1` for the whole
process (its ops then behave as on Ray): `ray_job` undoes both after the job, so a later
default-executor job in the same run is not affected.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from pathlib import Path
from typing import Any, Iterator

from ..atomic import atomic_paths
from ..errors import SandboxError
from ..resource_problems import Resource

__all__ = ["RAY", "uses_ray", "ray_job", "ray_address_problems", "ray_process", "ray_analyze"]

RAY = "ray"
_LOCAL_ADDRESSES = (None, "", "auto", "local")
_LINE_FORMATS = (".jsonl", ".json")
_RAY_JOB_ENV = "RAY_JOB"  # data_juicer.utils.constant.RAY_JOB_ENV_VAR


def uses_ray(recipe: Any) -> bool:
    """Whether a recipe (a mapping or Data-Juicer's parsed config) asks for the Ray executor."""
    getter = getattr(recipe, "get", None)
    return callable(getter) and getter("executor_type", "default") == RAY


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of `host:port` or `ray://host:port` (Ray client); None when not of that
    form."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host.strip("[]"), int(port)


def ray_address_problems(recipe: Any, timeout: float = 2.0) -> list[str]:
    """A `ray_address` that names a cluster this machine cannot reach, as a missing resource,
    found before any job runs (Ray itself would wait and fail mid-run). `auto`/`local` start or
    find a local instance and are not checked; only a Ray recipe's address is."""
    if not isinstance(recipe, dict) or not uses_ray(recipe):
        return []
    address = recipe.get("ray_address", "auto")
    if address in _LOCAL_ADDRESSES or not isinstance(address, str):
        return []
    target = _host_port(address)
    if target is None:
        return [
            "dj_configs.ray_address: expected 'auto', 'local', 'host:port' or "
            f"'ray://host:port', got {address!r}"
        ]
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as err:
        return [
            Resource(
                f"dj_configs.ray_address: no Ray cluster answers at {address!r} ({err})",
                fix=(
                    "start the cluster's head (`ray start --head --port=PORT`) or point "
                    "ray_address at a running one; 'auto' uses the cluster of this machine "
                    "or starts a local Ray"
                ),
                kind="endpoint",
            )
        ]
    return []


@contextlib.contextmanager
def ray_job(recipe: Any) -> Iterator[None]:
    """Around a whole Data-Juicer job (config parsing included): afterwards `RAY_JOB` is as it
    was, and Ray is shut down if the job connected to it (a process that was connected before,
    e.g. a trial run by Hydra's Ray launcher, stays connected). No-op for other recipes."""
    if not uses_ray(recipe):
        yield
        return
    import ray

    had_ray = ray.is_initialized()
    flag = os.environ.get(_RAY_JOB_ENV)
    try:
        yield
    finally:
        if flag is None:
            os.environ.pop(_RAY_JOB_ENV, None)
        else:
            os.environ[_RAY_JOB_ENV] = flag
        if not had_ray and ray.is_initialized():
            ray.shutdown()


@contextlib.contextmanager
def _ray_for(cfg: Any) -> Iterator[None]:
    """Connect to (or start) Ray for one job, keeping row order meanwhile (Data-Juicer's Ray
    export would otherwise come in any order)."""
    import ray
    from data_juicer.utils.ray_utils import initialize_ray

    if not ray.is_initialized():
        try:
            initialize_ray(cfg=cfg, force=True)
        except ConnectionError as err:
            if cfg.get("ray_address", "auto") != "auto":
                raise SandboxError(
                    f"dj_configs.ray_address: no Ray cluster at {cfg.ray_address!r}: {err}"
                ) from None
            cfg.ray_address = "local"  # no cluster on this machine: start one in-process
            initialize_ray(cfg=cfg, force=True)
    from ray.data import DataContext

    context = DataContext.get_current()
    kept = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        yield
    finally:
        context.execution_options.preserve_order = kept


def _shard_dir(cfg: Any, job: str) -> Path:
    """Where Ray writes its shards (inside the job's Data-Juicer work dir), in the export's
    own format; the caller's cfg.export_path is the one file the shards become."""
    suffix = Path(str(cfg.export_path)).suffix.lower()
    if "://" in str(cfg.export_path) or suffix not in _LINE_FORMATS:
        raise SandboxError(
            f"dj_configs.export_path: with executor_type: ray the sandbox exports one local "
            f".jsonl/.json file, got {cfg.export_path!r}"
        )
    folder = Path(cfg.work_dir) / f"{job}_ray_shards{suffix}"
    if folder.exists():
        shutil.rmtree(folder)  # an earlier attempt of this job (this job's own folder)
    return folder


def _join_shards(folder: Path, target: Path) -> None:
    """The shards, in block order (their names end in the block index), as one file written
    atomically where the default executor writes it; the shard folder is removed."""

    def block(path: Path) -> tuple[int, str]:
        tail = path.stem.rsplit("_", 1)[-1]
        return (int(tail) if tail.isdigit() else -1, path.name)

    shards = sorted((p for p in folder.iterdir() if p.is_file()), key=block)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_paths([target]) as (tmp,), open(tmp, "wb") as out:
        for shard in shards:
            with open(shard, "rb") as fh:
                shutil.copyfileobj(fh, out)
    shutil.rmtree(folder)


def ray_process(cfg: Any) -> dict[str, Any]:
    """Data-Juicer's RayExecutor on a parsed config; {"export_path", "rows_in", "rows_out"}."""
    from data_juicer.core.executor.ray_executor import RayExecutor

    export = Path(str(cfg.export_path))
    with _ray_for(cfg):
        cfg.export_path = str(_shard_dir(cfg, "process"))
        try:
            executor = RayExecutor(cfg)
            rows_in = int(executor.datasetbuilder.load_dataset().data.count())
            result = executor.run()
        finally:
            cfg.export_path = str(export)
        rows_out = int(result.data.count())
        _join_shards(Path(executor.exporter.export_path), export)
    return {"export_path": str(export), "rows_in": rows_in, "rows_out": rows_out}


def ray_analyze(cfg: Any) -> tuple[Any, str, int]:
    """Per-row stats computed on Ray (one pass, kept in the cluster's object store), exported
    like the default Analyzer's, then summarised by Data-Juicer's own overall, column-wise and
    correlation analyses; (overall table, analysis folder, rows)."""
    from data_juicer.analysis import ColumnWiseAnalysis, CorrelationAnalysis, OverallAnalysis
    from data_juicer.core.data.dataset_builder import DatasetBuilder
    from data_juicer.core.ray_exporter import RayExporter
    from data_juicer.ops import NON_STATS_FILTERS, TAGGING_OPS, Filter, load_ops
    from data_juicer.utils.constant import Fields

    export = Path(str(cfg.export_path))
    analysis_dir = Path(cfg.work_dir) / "analysis"
    shards = _shard_dir(cfg, "analyze")
    with _ray_for(cfg):
        dataset = DatasetBuilder(cfg, executor_type=RAY).load_dataset()
        ops = load_ops(cfg.process)
        stat_ops = [op for op in ops if isinstance(op, Filter)]
        stat_ops = [op for op in stat_ops if op._name not in NON_STATS_FILTERS.modules]
        tagging = [op for op in ops if op._name in TAGGING_OPS.modules]
        if not stat_ops and not tagging:
            return None, str(analysis_dir), 0
        if stat_ops:
            dataset = dataset.process(stat_ops, stats_only=True)
        if tagging:
            dataset = dataset.process(tagging)
        dataset.data = dataset.data.materialize()
        RayExporter(str(shards), cfg.export_type, keep_stats_in_res_ds=True).export(dataset.data)
        _join_shards(shards, export)
        columns = [c for c in (Fields.stats, Fields.meta) if c in dataset.data.columns()]
        rows = dataset.data.select_columns(columns).take_all()
    table = {col: [row.get(col) or {} for row in rows] for col in (Fields.stats, Fields.meta)}
    analysis_dir.mkdir(parents=True, exist_ok=True)
    overall = OverallAnalysis(table, str(analysis_dir)).analyze(
        percentiles=cfg.percentiles, num_proc=cfg.np
    )
    ColumnWiseAnalysis(
        table,
        str(analysis_dir),
        overall_result=overall,
        save_stats_in_one_file=cfg.save_stats_in_one_file,
    ).analyze()
    CorrelationAnalysis(table, str(analysis_dir)).analyze()
    return overall, str(analysis_dir), len(rows)
