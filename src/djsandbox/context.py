"""The context: every job's results per iteration, pipeline and meta_name, saved after every job.

Sources are dotted: `pipeline.meta_name.result[.nested...]`, or `-1.result[...]` for the job
that finished last in the current iteration. The `ctx` OmegaConf resolver reads the live
context, so `${ctx:pipe.meta.res_1}` may be written directly inside job configs. A result
that was a one-item list is stored as its item (the reference's rule); `.0` / `.-1` after it
still reads that item, so sources written for the list keep working.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
from pathlib import Path
from typing import Any, Iterator

from omegaconf import OmegaConf

from .atomic import atomic_open
from .errors import ContextLookupError

STATE_FILE = "sandbox_state.json"
_ACTIVE: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "djsandbox_ctx", default=None
)


def _lookup_path(value: Any, parts: list[str], source: str, where: str) -> Any:
    for i, part in enumerate(parts):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        elif part in ("0", "-1") and not isinstance(value, (dict, list)):
            pass  # a one-item list is recorded as its item (see runner.result_values)
        else:
            have = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise ContextLookupError(
                f"{where}: source '{source}' has no key '{'.'.join(parts[: i + 1])}'; "
                f"available there: {have}"
            )
    return value


class Context:
    """Results of finished jobs; `iterations[i][pipeline][name] = {result_name: value}`."""

    def __init__(self) -> None:
        self.iterations: list[dict[str, dict[str, dict[str, Any]]]] = []
        self.order: list[list[Any]] = []  # [iteration, pipeline, name] in completion order
        self.iteration = 0
        self.last_error: ContextLookupError | None = None

    # -- recording ---------------------------------------------------------------------
    def start_iteration(self, iteration: int) -> None:
        self.iteration = iteration
        while len(self.iterations) <= iteration:
            self.iterations.append({})

    def record(self, pipeline: str, name: str, results: dict[str, Any]) -> None:
        """Jobs of different stages may share a meta_name (probe + k-sigma): their results
        merge into one entry, a repeated result name holding the later job's value."""
        self.iterations[self.iteration].setdefault(pipeline, {}).setdefault(name, {}).update(
            results
        )
        self.order.append([self.iteration, pipeline, name])

    def move_to_end(self, iteration: int, pipeline: str, name: str) -> None:
        """A finished job skipped on resume becomes the latest again, so that `-1` in the job
        after it names it (and not a job rerun before it)."""
        entry = [iteration, pipeline, name]
        if entry in self.order:
            self.order.remove(entry)
            self.order.append(entry)

    # -- lookups -----------------------------------------------------------------------
    def last_job(self, iteration: int | None = None) -> tuple[str, str] | None:
        it = self.iteration if iteration is None else iteration
        for i, pipeline, name in reversed(self.order):
            if i == it:
                return pipeline, name
        return None

    def lookup(self, source: str, *, iteration: int | None = None, where: str = "input") -> Any:
        """Value of a dotted source in an iteration (default: the current one)."""
        it = self.iteration if iteration is None else iteration
        parts = str(source).split(".")
        if len(parts) < 2 or any(not p for p in parts):
            raise ContextLookupError(
                f"{where}: source '{source}' is not of the form "
                "'pipeline.meta_name.result' or '-1.result'"
            )
        results = self.iterations[it] if 0 <= it < len(self.iterations) else {}
        if parts[0] == "-1":
            last = self.last_job(it)
            if last is None:
                raise ContextLookupError(
                    f"{where}: source '{source}' refers to the previous job, "
                    "but no job has finished yet in this iteration"
                )
            pipeline, name = last
            return _lookup_path(results[pipeline][name], parts[1:], source, where)
        if len(parts) < 3:
            raise ContextLookupError(
                f"{where}: source '{source}' needs three parts: pipeline.meta_name.result"
            )
        if parts[0] not in results:
            raise ContextLookupError(
                f"{where}: source '{source}': no results from pipeline "
                f"'{parts[0]}' yet; pipelines with results: {sorted(results)}"
            )
        jobs = results[parts[0]]
        if parts[1] not in jobs:
            raise ContextLookupError(
                f"{where}: source '{source}': pipeline '{parts[0]}' has no "
                f"finished job '{parts[1]}'; finished: {sorted(jobs)}"
            )
        return _lookup_path(jobs[parts[1]], parts[2:], source, where)

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "order": self.order}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Context:
        ctx = cls()
        ctx.iterations = data.get("iterations", [])
        ctx.order = data.get("order", [])
        return ctx

    @contextlib.contextmanager
    def active(self, where: str) -> Iterator[None]:
        """Make this context the one `${ctx:...}` reads while a job's config is resolved."""
        token = _ACTIVE.set(self)
        _WHERE.set(where)
        self.last_error = None
        try:
            yield
        finally:
            _ACTIVE.reset(token)


_WHERE: contextvars.ContextVar[str] = contextvars.ContextVar("djsandbox_where", default="input")


def _ctx_resolver(source: Any) -> Any:
    ctx = _ACTIVE.get()
    if ctx is None:
        raise ContextLookupError(
            f"${{ctx:{source}}} can only be resolved while a sandbox job "
            "runs (it reads the results of earlier jobs)"
        )
    try:
        return ctx.lookup(str(source), where=_WHERE.get())
    except ContextLookupError as exc:
        ctx.last_error = exc  # OmegaConf wraps resolver errors; keep ours for the message
        raise


def _pkg_resolver(relative: str) -> str:
    """`${pkg:resources/x}`: a file shipped inside the installed djsandbox package."""
    return str(Path(__file__).resolve().parent / str(relative))


def register_resolver() -> None:
    """Register `ctx` (results of earlier jobs) and `pkg` (packaged files); idempotent."""
    if not OmegaConf.has_resolver("ctx"):
        OmegaConf.register_new_resolver("ctx", _ctx_resolver)
    if not OmegaConf.has_resolver("pkg"):
        OmegaConf.register_new_resolver("pkg", _pkg_resolver)


def to_jsonable(value: Any, where: str) -> Any:
    """Plain JSON data for the state file; NaN and +-inf become None (strict JSON), numpy/pandas
    scalars become Python."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # strict JSON has no NaN or infinities
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v, where) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return to_jsonable(value.item(), where)
    if hasattr(value, "tolist") and callable(value.tolist):
        return to_jsonable(value.tolist(), where)
    if OmegaConf.is_config(value):
        return to_jsonable(OmegaConf.to_container(value, resolve=True), where)
    raise TypeError(
        f"{where}: the hook returned a {type(value).__name__}, which cannot be stored "
        "in the context; return paths, numbers, strings, lists or dicts"
    )


class RunState:
    """Context plus per-job status, written atomically to `work_dir/sandbox_state.json`."""

    def __init__(
        self,
        path: Path,
        context: Context | None = None,
        jobs: dict[str, dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.context = context or Context()
        self.jobs: dict[str, dict[str, Any]] = jobs or {}
        self.meta: dict[str, Any] = meta or {}
        # Encoded JSON of finished iterations' results and job records (see `to_json`).
        self._frozen_iterations: dict[int, str] = {}
        self._frozen_jobs: dict[str, str] = {}

    @classmethod
    def load(cls, path: Path) -> RunState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ContextLookupError(f"cannot resume from {path}: {exc}") from None
        from .state_shape import state_shape_problem

        if problem := state_shape_problem(data):
            raise ContextLookupError(f"cannot resume from {path}: {problem}")
        return cls(
            path,
            Context.from_dict(data.get("context", {})),
            data.get("jobs", {}),
            data.get("meta", {}),
        )

    def save(self, durable: bool = True) -> None:
        """Write the state atomically; `durable`: fsync first (a job's "running" mark is not
        worth a disk flush: losing it loses nothing, the job runs again either way)."""
        with atomic_open([self.path], "w", fsync=durable) as (fh,):
            fh.write(self.to_json())

    def to_json(self) -> str:
        """The state as strict JSON, one line per iteration's results and per job record.

        The cost of a save must not grow with the run: finished iterations (older than the
        context's current one) are encoded once and kept, so a save re-encodes only the
        current iteration, the completion order and the meta (C encoder, no indent)."""
        current = self.context.iteration
        if any(i >= current for i in self._frozen_iterations):  # went back: forget
            self._frozen_iterations.clear()
            self._frozen_jobs.clear()
        iterations = []
        for i, results in enumerate(self.context.iterations):
            text = self._frozen_iterations.get(i) if i < current else None
            if text is None:
                text = _dumps(results)
                if i < current:
                    self._frozen_iterations[i] = text
            iterations.append(text)
        jobs = []
        for key, record in self.jobs.items():
            old = _iteration_of(key) < current
            text = self._frozen_jobs.get(key) if old else None
            if text is None:
                text = f"{_dumps(key)}: {_dumps(record)}"
                if old:
                    self._frozen_jobs[key] = text
            jobs.append(text)
        return (
            f'{{"meta": {_dumps(self.meta)},\n"context": {{"iterations": [\n'
            + ",\n".join(iterations)
            + f'\n], "order": {_dumps(self.context.order)}}},\n"jobs": {{\n'
            + ",\n".join(jobs)
            + "\n}}\n"
        )

    def status(self, iteration: int, job_key: str) -> dict[str, Any] | None:
        return self.jobs.get(f"{iteration}/{job_key}")

    def set_status(self, iteration: int, job_key: str, **fields: Any) -> None:
        key = f"{iteration}/{job_key}"
        self.jobs.setdefault(key, {}).update(fields)
        self._frozen_jobs.pop(key, None)


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, separators=(", ", ": "))


def _iteration_of(job_key: str) -> int:
    head = job_key.split("/", 1)[0]
    return int(head) if head.isdigit() else -1
