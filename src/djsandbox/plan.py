"""The run's shape: pipelines, each with its jobs in stage order, as plain specs.

Both reference pipeline forms normalise to the same `Plan`. Job bodies stay raw (unresolved)
so that `${ctx:...}` and `${work_dir}` interpolations are resolved only when the job runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from omegaconf import DictConfig, ListConfig, OmegaConf

from .config import ANONYMOUS_PIPELINE, STAGE_KEYS, STAGES
from .errors import ConfigError

# Pipeline, meta and result names are read back through `${ctx:pipeline.meta_name.result}`:
# only characters that interpolation grammar reads unquoted in every position are allowed.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
NAME_RULE = (
    "ASCII letters, digits, '_' and '-' only, without dots or spaces (it is read back in "
    "${ctx:pipeline.meta_name.result})"
)


def name_problem(name: object) -> str | None:
    """Why `name` cannot name a pipeline, job or result (None when it can)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or name == "-1":
        return f"expected a name of {NAME_RULE}, other than '-1', got {name!r}"
    return None


@dataclass(frozen=True)
class JobSpec:
    pipeline: str
    stage: str
    index: int  # position within its stage list
    body: Any  # raw job mapping (may hold unresolved interpolations)

    @property
    def meta_name(self) -> str | None:
        value = self.body.get("meta_name") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) and value else None

    @property
    def hook(self) -> Any:
        return self.body.get("hook") if isinstance(self.body, dict) else None

    @property
    def key(self) -> str:
        """Stable id of the job inside one iteration (used for status and resume)."""
        return f"{self.pipeline}/{self.stage}/{self.index}/{self.meta_name or ''}/{self.hook}"

    @property
    def context_name(self) -> str:
        """Name its results are stored under; jobs without meta_name get a positional one."""
        return self.meta_name or f"{self.stage}_{self.index}"

    @property
    def label(self) -> str:
        name = self.meta_name if self.meta_name else "<no meta_name>"
        return f"pipeline '{self.pipeline}', {STAGE_KEYS[self.stage]}[{self.index}] (meta_name '{name}')"


@dataclass
class Plan:
    pipelines: dict[str, list[JobSpec]] = field(default_factory=dict)

    def jobs(self) -> list[JobSpec]:
        return [job for jobs in self.pipelines.values() for job in jobs]


def _raw(node: Any) -> Any:
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=False)
    return node


def build_plan(cfg: Mapping[str, Any] | DictConfig) -> Plan:
    """Normalise either pipeline form into a Plan; raise ConfigError on form errors."""
    top_level = [key for key in STAGE_KEYS.values() if _raw(cfg.get(key)) not in (None, [])]
    pipelines_raw = _raw(cfg.get("pipelines"))
    if pipelines_raw not in (None, [], {}) and top_level:
        raise ConfigError(
            "the config uses both pipeline forms: a 'pipelines' field and top-level job lists "
            f"({', '.join(top_level)}). Use one: move the job lists into a named pipeline under "
            "'pipelines', or drop 'pipelines'."
        )
    plan = Plan()
    if pipelines_raw in (None, [], {}):
        if not top_level:
            raise ConfigError(
                "the config has no jobs: give 'pipelines' or at least one of "
                f"{', '.join(STAGE_KEYS.values())}."
            )
        plan.pipelines[ANONYMOUS_PIPELINE] = _stage_jobs(ANONYMOUS_PIPELINE, cfg, "the config")
        return plan
    for name, body in _named_pipelines(pipelines_raw):
        if name in plan.pipelines:
            raise ConfigError(f"pipelines: the name '{name}' is used twice; names must be unique.")
        if not isinstance(body, dict):
            raise ConfigError(
                f"pipelines.{name}: expected a mapping of job lists "
                f"({', '.join(STAGE_KEYS.values())}), got {type(body).__name__}."
            )
        unknown = sorted(set(body) - set(STAGE_KEYS.values()))
        if unknown:
            raise ConfigError(
                f"pipelines.{name}: unknown key(s) {unknown}; a pipeline holds only "
                f"{', '.join(STAGE_KEYS.values())}."
            )
        plan.pipelines[name] = _stage_jobs(name, body, f"pipelines.{name}")
        if not plan.pipelines[name]:
            raise ConfigError(
                f"pipelines.{name}: no jobs; give at least one job in "
                f"{', '.join(STAGE_KEYS.values())}, or remove the pipeline."
            )
    return plan


def _named_pipelines(raw: Any) -> list[tuple[str, Any]]:
    """Accept the docs' mapping form and the reference code's list of one-key mappings."""
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or len(item) != 1:
                raise ConfigError(
                    f"pipelines[{i}]: expected a one-key mapping "
                    "{pipeline_name: {probe_job_configs: ...}}, got "
                    f"{item!r:.80}."
                )
            items.append(next(iter(item.items())))
    else:
        raise ConfigError(
            f"pipelines: expected a mapping or a list of one-key mappings, got "
            f"{type(raw).__name__}."
        )
    for name, _ in items:
        if why := name_problem(name):
            raise ConfigError(f"pipelines: invalid pipeline name {name!r}: {why}.")
    return items


def _stage_jobs(pipeline: str, body: Any, where: str) -> list[JobSpec]:
    jobs: list[JobSpec] = []
    for stage in STAGES:
        raw = _raw(body.get(STAGE_KEYS[stage]))
        if raw is None:
            continue
        if not isinstance(raw, list):
            raise ConfigError(
                f"{where}.{STAGE_KEYS[stage]}: expected a list of jobs, got {type(raw).__name__}."
            )
        jobs.extend(JobSpec(pipeline, stage, i, _normalise(job)) for i, job in enumerate(raw))
    return jobs


def _normalise(job: Any) -> Any:
    """`output: 'name'` is one result name, as the reference reads it (every shipped reference
    config writes it so): the job body gets the list form, the one every reader expects."""
    if isinstance(job, dict) and isinstance(job.get("output"), str):
        return {**job, "output": [job["output"]]}
    return job
