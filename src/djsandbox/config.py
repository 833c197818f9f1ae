"""Typed schemas of the sandbox config, stored in Hydra's ConfigStore.

`SandboxConfig` is the base of `conf/sandbox.yaml` (Hydra runs) and the schema that
reference-format files are merged onto (`dj-sandbox --config`). Job lists stay untyped in the
global schema because the reference accepts two pipeline forms; each job is checked against
`JobConfig` by the validator, which can name the pipeline and job in its messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STAGES: tuple[str, ...] = ("probe", "refine_recipe", "execution", "evaluation")
STAGE_KEYS: dict[str, str] = {stage: f"{stage}_job_configs" for stage in STAGES}
ANONYMOUS_PIPELINE = "anonymous"


@dataclass
class JobConfig:
    """One job: a hook plus its configs; `input`/`local` rewrite those configs before it runs."""

    hook: str = "???"
    meta_name: str | None = None
    dj_configs: Any = None  # path (.yaml/.yml/.json) or mapping: a Data-Juicer recipe
    extra_configs: Any = None  # path or mapping: whatever the hook's component needs
    input: dict[str, str] | None = None  # {target.key: pipeline.meta_name.result | -1.result}
    output: list[str] | None = None  # names of the job's results (default res_1, res_2, ...)
    local: dict[str, Any] | None = None  # {target.key: value}
    # true: this job's configured outputs may replace files that exist outside the run folder
    # (never an input of the run, the config, the package or the job cache)
    overwrite: bool = False
    # true: keep this job's results in the job cache even if it trains or infers (off for those
    # by default); false: never cache it (djsandbox.cache)
    cache: bool | None = None


@dataclass
class SandboxConfig:
    """Global keys of a sandbox run (reference names), plus the pipelines."""

    project_name: str = "djsandbox"
    experiment_name: str = "run"  # the tracker's run name
    work_dir: str = "./outputs/${project_name}/${experiment_name}"
    resume: Any = False  # true, or the path of an earlier run folder
    hpo_config: Any = None
    max_iter_num: int = 1  # 0: iterate until iter_targets are met (needs iter_updater)
    max_iter_cap: int = 100  # at most this many iterations (max_iter_num 0 stops here)
    iter_targets: Any = None  # "pipe.meta.key <= 0.2" or a list of such strings
    iter_targets_mode: str = "all"  # all | any
    iter_updater: dict[str, str] | None = None  # {pipe.meta.key: pipe.meta.extra_configs.key}
    pipelines: Any = None  # mapping name -> stages, or a list of one-key mappings
    probe_job_configs: Any = None
    refine_recipe_job_configs: Any = None
    execution_job_configs: Any = None
    evaluation_job_configs: Any = None
    vars: dict[str, Any] = field(default_factory=dict)  # free user variables: ${vars.x}
    plugins: list[str] = field(default_factory=list)  # modules that register user components
    # The run's objective for sweeps: a context key "pipeline.meta_name.result[.key]", or a
    # list of them (multi-objective). `main` returns its value(s) as float.
    optimized_metric: Any = None
    # Sweeps: what to score on the test set once, for the best trial, after the sweep
    # (hpo/final_test.py); never an objective.
    final_test: Any = None
    tracker: Any = None  # the `tracker` config group: {type: none|wandb|tensorboard|csv, ...}
    # Config groups that model pipelines compose (conf/model, conf/trainer, conf/dataset) and
    # hand to components through interpolation, e.g. `extra_configs.model: ${model}`.
    model: Any = None
    trainer: Any = None
    dataset: Any = None
    # true: compose and validate the run, print what would run, and stop (no job, no state).
    check: bool = False
    # true: every library log line and progress bar on the terminal too (by default only the
    # sandbox's lines and the libraries' warnings and errors); job logs always hold everything.
    verbose: bool = False
    # false: no job is restored from or stored in the job cache (djsandbox.cache); true: data
    # processing, analyses, conversions, pools and evaluations are, and jobs with `cache: true`.
    cache: bool = True


GLOBAL_KEYS: tuple[str, ...] = tuple(SandboxConfig.__dataclass_fields__)
JOB_KEYS: tuple[str, ...] = tuple(JobConfig.__dataclass_fields__)


def register_configs() -> None:
    """Put the schemas into Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="sandbox_schema", node=SandboxConfig)
