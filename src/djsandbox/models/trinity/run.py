"""The `trinity-rft` ModelTrainExecutor: `trinity run --config <job config>` in Trinity-RFT's
own environment, its monitor lines streamed into the job's curves, its checkpoint folder
returned.

The environment is EnvManager's (`env_name`, `env_manager`, `env_params`, as the reference),
with Trinity installed from `trinity_home` (a checkout, editable) or the `trinity-rft` package;
without `env_name` the command runs in this Python environment (Trinity on its PATH).

Ray: `trinity run` joins a running Ray cluster, which the reference expects the user to have
started (`ray start --head`, in the same environment). The sandbox does not start or stop one:
`ray stop` ends every Ray process of the user on the machine, not only a cluster the sandbox
started (it would end other jobs' clusters too), and a cluster is shared and long-lived.
Start it once before the run; without one, Trinity stops with its own message.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from ...errors import ConfigError
from .config import (
    checkpoint_dir,
    cluster_problems,
    source_config,
    with_checkpoint_root,
    write_job_config,
)
from .monitor import CurveSink, LogFollower

LOG = logging.getLogger(__name__)
PACKAGE = "trinity-rft==0.6.0"
# verl pins numpy<2, which pyarrow 26 does not support; greenlet and fastapi are imported by
# Trinity-RFT 0.6.0 without being declared
EXTRA_REQUIREMENTS = ("pyarrow<26", "greenlet", "fastapi")
TRAIN_LOG = "trinity_train.log"


def requirements(cfg: Mapping[str, Any]) -> list[str]:
    """What the environment installs: Trinity from `trinity_home` (editable) or PyPI, and the
    packages it needs but does not declare."""
    home = cfg.get("trinity_home")
    trinity = f"-e {Path(str(home)).expanduser().resolve()}" if home else PACKAGE
    return [trinity, *EXTRA_REQUIREMENTS]


def env_spec(cfg: Mapping[str, Any]) -> Any:
    """The EnvSpec of `env_name`/`env_manager`/`env_params`; Trinity's requirements added
    unless `env_params` names its own (then those are all it installs)."""
    from ...envs import EnvSpec

    params = dict(cfg.get("env_params") or {})
    if not (params.get("requirements") or params.get("env_requirements")):
        params["requirements"] = requirements(cfg)
    return EnvSpec.from_config(
        cfg["env_name"], cfg.get("env_manager"), params, where="extra_configs"
    )


class ThisPython:
    """Runs commands in this process's environment (its `bin` first on PATH), the way an
    EnvManager environment runs them: streamed into the log, secrets masked."""

    name = "current Python environment"

    def run(
        self,
        cmd: list[str],
        log_path: Path,
        cwd: str | None = None,
        env_vars: Mapping[str, str] | None = None,
    ) -> int:
        from ...envs.running import secret_values, stream_run

        env = {**os.environ, **dict(env_vars or {})}
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        what = f"command in the {self.name}"
        secrets = secret_values(env_vars)
        return stream_run(cmd, Path(log_path), cwd=cwd, env=env, secrets=secrets, what=what)


def environment(cfg: Mapping[str, Any]) -> Any:
    """EnvManager's environment for `env_name` (built once), else this Python environment."""
    if not cfg.get("env_name"):
        return ThisPython()
    from ...envs import get_env

    return get_env(env_spec(cfg), cache_dir=None)


def job_config(cfg: Mapping[str, Any], out_dir: Path) -> dict[str, Any]:
    """The Trinity config of this job, checked, with its checkpoint root settled."""
    config = source_config(cfg)
    problems = cluster_problems(config, "trinity config")
    if problems:
        raise ConfigError("; ".join(problems))
    return with_checkpoint_root(config, out_dir)


def latest_step(folder: Path) -> int | None:
    """The highest N of the `global_step_N/` folders in `folder`, or None."""
    steps = [
        int(p.name.rsplit("_", 1)[1])
        for p in folder.glob("global_step_*")
        if p.is_dir() and p.name.rsplit("_", 1)[1].isdigit()
    ]
    return max(steps) if steps else None


def renamed_folders(target: Path) -> set[Path]:
    """Siblings `<name>_<YYYYmmddHHMMSS>`: where Trinity trains when `<name>` already holds
    files and `continue_from_checkpoint` is off (it renames the experiment then)."""
    pattern = re.compile(re.escape(target.name) + r"_\d{14}$")
    parent = target.parent
    return {p for p in parent.iterdir() if pattern.match(p.name)} if parent.is_dir() else set()


def trained_folder(target: Path, before: set[Path]) -> Path:
    """The folder this run trained into: a renamed one it created, else `target`."""
    new = sorted(renamed_folders(target) - before, key=lambda p: p.name)
    return new[-1] if new else target


def run_train(cfg: dict[str, Any], out_dir: Path, env: Any = None) -> str:
    """Train with Trinity-RFT; the checkpoint folder (holding `global_step_N/`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = job_config(cfg, out_dir)
    path, secrets = write_job_config(config, out_dir)
    target = checkpoint_dir(config)
    before = renamed_folders(target)
    env = env if env is not None else environment(cfg)
    log = out_dir / TRAIN_LOG
    offset = log.stat().st_size if log.exists() else 0
    sink = CurveSink(out_dir)
    follower = LogFollower(log, offset, sink.log)
    started = time.time()
    LOG.info("trinity run --config %s; output streams into %s", path, log)
    try:
        follower.start()
        env.run(["trinity", "run", "--config", str(path)], log_path=log, env_vars=secrets)
    finally:
        if follower.is_alive():
            follower.stop()
        sink.close()
    target = trained_folder(target, before)
    step = latest_step(target)
    if step is None:
        raise RuntimeError(
            f"trinity run finished but wrote no checkpoint (global_step_N/) into "
            f"{str(target)!r}; see {log}"
        )
    LOG.info(
        "trinity-rft: %d monitor steps read, checkpoint global_step_%d in %s (%.0f s)",
        sink.steps,
        step,
        target,
        time.time() - started,
    )
    return str(target)
