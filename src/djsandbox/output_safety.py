"""What a run may write, checked at validation (before anything is written).

Every configured output path (`OUTPUT_FILE_KEYS`) of every job is taken where the runner will
write it (normalised, symlinks resolved) and refused when it is, holds or lies in:

- a file the run reads (an existing input of this job or of an earlier one; a file an earlier
  job of the run writes is its output, and later jobs reading it is normal),
- the config file (`dj-sandbox --config`), the djsandbox package (its `conf/` included, wherever
  installed) or the shared job cache,
- the run folder itself, or anything outside the run folder that already exists, unless the job
  sets `overwrite: true`.

The run folder (`work_dir`) must be given, and be new, empty, or a run folder (it holds
`sandbox_state.json`): a fresh start in a run folder is refused (`resume=true` continues it),
and a resume needs a state file that loads. Outputs a component writes under its own job
folder are not configured paths and need no check.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator

from .context import STATE_FILE
from .deferred import is_deferred
from .hooks.base import INPUT_FILE_KEYS, OUTPUT_FILE_KEYS
from .paths import find_existing, looks_like_config_file

STUDY_FILE = "optuna.db"  # an `hpo_config` study folder (hpo/reference_config.py)
# What Hydra itself puts into a run folder before the run starts.
_HYDRA_ENTRIES = (".hydra",)
# The sandbox's own bookkeeping (run lock, worker registry) starts with this.
_SANDBOX_PREFIX = ".sandbox"

_config_files: list[Path] = []


@contextlib.contextmanager
def protecting(*paths: str | os.PathLike[str]) -> Iterator[None]:
    """Treat `paths` (the `--config` file) as never to be written while the block runs."""
    added = [real(p) for p in paths]
    _config_files.extend(added)
    try:
        yield
    finally:
        for path in added:
            _config_files.remove(path)


def real(path: str | os.PathLike[str]) -> Path:
    """Absolute, normalised, symlinks resolved (also for a path that does not exist yet)."""
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def package_dir() -> Path:
    return real(Path(__file__).parent)


def protected_places() -> list[tuple[Path, str]]:
    """Places no output may touch, with how a message names them."""
    from .cache import cache_root

    places = [(p, "the config file of this run") for p in _config_files]
    package = package_dir()
    places.append((package, f"the djsandbox package ({package})"))
    for entry in package.iterdir():  # e.g. conf/, a link in a source checkout
        if entry.is_symlink():
            places.append((real(entry), f"the djsandbox package's {entry.name} ({real(entry)})"))
    places.append((real(cache_root()), f"the shared job cache ({real(cache_root())})"))
    return places


def overlaps(a: Path, b: Path) -> bool:
    """The same path, or one inside the other (writing a folder replaces what it holds)."""
    return a == b or a in b.parents or b in a.parents


def _inside(path: Path, folder: Path) -> bool:
    return folder in path.parents


def _get(job: dict[str, Any], dotted: str) -> Any:
    node: Any = job
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _known_path(value: Any) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and not is_deferred(value)
        and "${" not in value
        and "://" not in value
    )


class OutputGuard:
    """Walks the jobs in run order with validation; collects problems as messages."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.problems: list[str] = []
        self.user_inputs: dict[Path, str] = {}  # existing files the run reads -> first reader
        self.planned: set[Path] = set()  # outputs of the jobs seen so far
        self.run_started: float | None = None  # resume: when the earlier attempt began
        self.work_dir = self._check_work_dir(cfg)

    # -- the run folder ------------------------------------------------------------------
    def _check_work_dir(self, cfg: dict[str, Any]) -> Path | None:
        value = cfg.get("work_dir")
        if not isinstance(value, str) or not value.strip():
            self.problems.append(
                f"work_dir: expected the path of the run folder, got {value!r} (an empty "
                "work_dir would write into the current directory)"
            )
            return None
        folder = real(value)
        for place, what in protected_places():
            if overlaps(folder, place):
                self.problems.append(f"work_dir: {folder} is or holds {what}")
        if not folder.exists():
            return folder
        if not folder.is_dir():
            self.problems.append(f"work_dir: {folder} exists and is not a folder")
            return folder
        resume = cfg.get("resume")
        resume = resume is True or (isinstance(resume, str) and resume.lower() == "true")
        state = folder / STATE_FILE
        if state.exists():
            if not resume:
                self.problems.append(
                    f"work_dir: {folder} already holds a run ({STATE_FILE}); set resume=true "
                    "to continue it, or choose another work_dir"
                )
            else:
                self._load_state(state)
            return folder
        if (folder / STUDY_FILE).exists():
            return folder  # an hpo_config study: its trials get their own folders
        entries = sorted(
            e.name
            for e in folder.iterdir()
            if e.name not in _HYDRA_ENTRIES
            and not (e.is_file() and e.suffix == ".log")
            and not e.name.startswith(_SANDBOX_PREFIX)
        )
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            self.problems.append(
                f"work_dir: {folder} is not empty ({shown}) and is not a run folder (no "
                f"{STATE_FILE}); the run would overwrite what is there: choose a new or "
                "empty folder"
            )
        return folder

    def _load_state(self, state: Path) -> None:
        from .context import RunState
        from .errors import SandboxError

        try:
            loaded = RunState.load(state)
        except SandboxError as exc:
            self.problems.append(f"resume: {exc}; the run folder is left as it is")
            return
        starts = [
            j["started"] for j in loaded.jobs.values() if isinstance(j.get("started"), (int, float))
        ]
        self.run_started = min(starts) if starts else None

    # -- one job -------------------------------------------------------------------------
    def check_job(
        self,
        label: str,
        body: dict[str, Any],
        job: dict[str, Any] | None,
        base_dirs: list[Path],
        source_dirs: list[Path],
    ) -> list[str]:
        """Problems with the outputs of one job (`job`: its resolved configs, or None)."""
        overwrite = body.get("overwrite", False)
        if not isinstance(overwrite, bool):
            return [f"{label}: overwrite: expected true or false, got {overwrite!r}"]
        if job is None:
            return []
        own = self._inputs(body, job, base_dirs + source_dirs)
        for path in own:
            if path not in self.planned:
                self.user_inputs.setdefault(path, label)
        problems: list[str] = []
        for dotted, path in self._outputs(job, base_dirs):
            into = str(_get(job, dotted)).endswith(("/", os.sep))  # a folder it writes into
            if why := self._why_not(path, own, overwrite, into):
                problems.append(f"{label}: {dotted}: refusing to write {path}: {why}")
            self.planned.add(path)
        return problems

    @staticmethod
    def _inputs(body: dict[str, Any], job: dict[str, Any], dirs: list[Path]) -> set[Path]:
        """Existing files this job reads: its data and the config files it loads."""
        values = [_get(job, dotted) for dotted in INPUT_FILE_KEYS]
        dataset = _get(job, "dj_configs.dataset")
        if isinstance(dataset, dict) and isinstance(dataset.get("configs"), list):
            values += [c.get("path") for c in dataset["configs"] if isinstance(c, dict)]
        values += [
            body.get(key)
            for key in ("dj_configs", "extra_configs")
            if looks_like_config_file(body.get(key))
        ]
        found = set()
        for value in values:
            if _known_path(value) and (hit := find_existing(value, dirs)) is not None:
                found.add(real(hit))
        return found

    @staticmethod
    def _outputs(job: dict[str, Any], base_dirs: list[Path]) -> list[tuple[str, Path]]:
        """Where the runner writes each configured output: a relative Data-Juicer export from
        the working directory (as Data-Juicer does), other outputs from the first base dir."""
        out = []
        for dotted in OUTPUT_FILE_KEYS:
            value = _get(job, dotted)
            if not _known_path(value):
                continue
            value = os.path.expanduser(value)
            if os.path.isabs(value):
                path = real(value)
            elif dotted.startswith("dj_configs."):
                path = real(Path.cwd() / value)
            else:
                path = real(Path(base_dirs[0] if base_dirs else Path.cwd()) / value)
            out.append((dotted, path))
        return out

    def _why_not(
        self, path: Path, own: set[Path], overwrite: bool, into: bool = False
    ) -> str | None:
        """Why `path` may not be written (None: it may). `into`: a folder output written as
        `dir/`, whose files go inside it: the run folder itself is such a place (the reference
        exports there), a folder holding the run folder is not."""
        for source in sorted(own):
            if overlaps(path, source):
                return f"this job reads {source}"
        for source, reader in self.user_inputs.items():
            if overlaps(path, source):
                return f"{reader} reads {source}"
        for place, what in protected_places():
            if overlaps(path, place):
                return f"it is or holds {what}"
        work_dir = self.work_dir
        if work_dir is not None and (path == work_dir and not into or path in work_dir.parents):
            return f"it is or holds the run folder {work_dir}"
        if work_dir is not None and (_inside(path, work_dir) or path == work_dir):
            return None
        if overwrite or not os.path.lexists(path) or path in self.planned:
            return None
        if self.run_started is not None and os.lstat(path).st_mtime >= self.run_started:
            return None  # written by the earlier attempt of the run being resumed
        return "it exists outside the run folder; set `overwrite: true` on this job to replace it"


def runtime_problems(
    label: str, body: dict[str, Any], job: dict[str, Any], base_dirs: list[Path]
) -> list[str]:
    """The check of a job's outputs again when it starts, now that values produced by earlier
    jobs are known: an output may not be what this job reads, the config, the package or the
    cache (validation could not see paths that came through `input` or `${ctx:...}`)."""
    own = OutputGuard._inputs(body, job, base_dirs)
    problems = []
    for dotted, path in OutputGuard._outputs(job, base_dirs):
        why = next((f"this job reads {s}" for s in sorted(own) if overlaps(path, s)), None)
        why = why or next(
            (
                f"it is or holds {what}"
                for place, what in protected_places()
                if overlaps(path, place)
            ),
            None,
        )
        if why:
            problems.append(f"{label}: {dotted}: refusing to write {path}: {why}")
    return problems
