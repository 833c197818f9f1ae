"""What every hook shares: how it is checked before the run and what it gets when it runs.

Hooks are thin: they pick a component, call it with the job's resolved configs and return
results. They never call each other; data moves as files whose paths travel in the context.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..atomic import atomic_write_text
from ..catalog import FACTORIES
from ..context import Context
from ..deferred import deferred_keys, is_deferred, known
from ..redact import redact
from ..registry import ComponentSpec, Registry
from ..resource_problems import at, not_built
from ..suggest import unknown_keys

# Keys that name input files the job reads / output files it writes, checked at validation.
INPUT_FILE_KEYS: tuple[str, ...] = (
    "dj_configs.dataset_path",
    "extra_configs.dataset_path",
    "extra_configs.predicted_dataset_path",
    "extra_configs.ground_truth_dataset_path",
    "extra_configs.test_dataset_path",
)
OUTPUT_FILE_KEYS: tuple[str, ...] = (
    "dj_configs.export_path",
    "extra_configs.export_path",
    "extra_configs.path_k_sigma_recipe",
    "extra_configs.path_feedback_recipe",
    "extra_configs.predictions_path",
)


@dataclass
class JobRun:
    """A job ready to run: resolved configs, its own folder, and read access to the context."""

    label: str
    pipeline: str
    name: str
    iteration: int
    dj_configs: dict[str, Any] | None
    extra_configs: dict[str, Any] | None
    job_dir: Path
    base_dirs: list[Path]
    context: Context
    notes: dict[str, Any] = field(default_factory=dict)  # extra facts for status and summary

    def extra(self, key: str, default: Any = None) -> Any:
        return (self.extra_configs or {}).get(key, default)

    def save_configs(self) -> None:
        """`job_config.json`: the configs the job runs with, secrets masked (reports and pool
        labels read it back)."""
        configs = {"dj_configs": self.dj_configs, "extra_configs": self.extra_configs}
        text = json.dumps(redact(configs), indent=1, default=str)
        atomic_write_text(self.job_dir / "job_config.json", text)


def _key_of(problem: str) -> str:
    """The top-level config key a 'key.sub[0]: message' problem is about."""
    return re.split(r"[.:\[]", problem, maxsplit=1)[0]


def component_problems(
    spec: ComponentSpec, extra: dict[str, Any], hook_keys: tuple[str, ...] = (), hook: str = ""
) -> list[str]:
    """A component's config checked before the run: unknown keys (with the closest valid
    one; `hook_keys`: settings the hook itself reads beside the component's), required keys,
    then the component's own check on the values known now (values produced by earlier jobs
    are deferred and left to run time)."""
    given = [k for k in extra if k != "type" and k not in hook_keys]
    owner = f"'{spec.name}'" + (f" or {hook}" if hook_keys else "")
    problems = (
        []
        if spec.keys is None
        else unknown_keys(given, tuple(spec.keys) + hook_keys, "extra_configs.", owner)
    )
    # "a|b": one of them will do (a component reading the reference's key or its own)
    absent = [
        key for key in spec.required if all(extra.get(k) in (None, "") for k in key.split("|"))
    ]
    missing = [
        f"extra_configs.{key.split('|')[0]}: missing; '{spec.name}' needs it"
        + (f" (or {', '.join(key.split('|')[1:])})" if "|" in key else "")
        for key in absent
    ]
    if not problems:  # with a typo in a key the check would report the wrong thing
        later = deferred_keys(extra) | {k for key in absent for k in key.split("|")}
        problems += [
            at("extra_configs", p, sep=".")
            for p in spec.problems(known(extra))
            if _key_of(p) not in later
        ]
    return problems + missing


class Hook:
    """Base hook. `factory` names the registry whose component `extra_configs.type` selects.

    `keys`: the `extra_configs` settings the hook itself reads. A hook without a component
    must declare them (its `extra_configs` is checked against them); a hook with one adds
    them to the component's."""

    factory: ClassVar[str | None] = None
    keys: ClassVar[tuple[str, ...] | None] = None
    result_count: ClassVar[int | None] = 1  # None: varies with the component
    needs_dj_configs: ClassVar[bool] = False
    # The job cache is on by default for hooks whose results follow from their configs and
    # input files; off (opt in with the job key `cache: true`) for training and inference.
    cache_default: ClassVar[bool] = True

    def cache_material(self, run: JobRun) -> dict[str, Any]:
        """What decides this job's results, for its cache key (input files are replaced by
        their digests and secrets masked by the cache)."""
        return {"dj_configs": run.dj_configs, "extra_configs": run.extra_configs}

    def registry(self) -> Registry | None:
        return FACTORIES[self.factory] if self.factory else None

    def check(self, job: dict[str, Any]) -> list[str]:
        """Problems with a job's resolved config (deferred values skipped), as 'key: message'."""
        problems: list[str] = []
        if self.needs_dj_configs and not job.get("dj_configs"):
            problems.append(
                "dj_configs: this hook needs a Data-Juicer recipe (a path or a mapping)"
            )
        registry = self.registry()
        if registry is None and self.keys is not None:
            extra = job.get("extra_configs")
            problems += unknown_keys(
                list(extra) if isinstance(extra, dict) else [],
                self.keys,
                "extra_configs.",
                type(self).__name__,
            )
        if registry is not None:
            extra = job.get("extra_configs")
            component_type = extra.get("type") if isinstance(extra, dict) else None
            if component_type is None:
                if not is_deferred(extra):  # a file an earlier job writes
                    problems.append(
                        f"extra_configs.type: missing; valid: {', '.join(sorted(registry.names()))}"
                    )
            elif is_deferred(component_type):
                pass  # set from an earlier job's results at run time
            elif component_type not in registry:
                problems.append(f"extra_configs.type: {registry.unknown_message(component_type)}")
            elif registry.get(component_type).unavailable:
                why = registry.get(component_type).unavailable
                problems.append(not_built(f"extra_configs.type: '{component_type}' is {why}", why))
            else:
                problems += component_problems(
                    registry.get(component_type), extra, self.keys or (), type(self).__name__
                )
        return problems

    def settings(self, job: dict[str, Any]) -> tuple[str, ...] | None:
        """Every `extra_configs` key this job accepts (None: any, the component says no)."""
        registry = self.registry()
        if registry is None:
            return self.keys
        extra = job.get("extra_configs")
        name = extra.get("type") if isinstance(extra, dict) else None
        if not isinstance(name, str) or name not in registry or registry.get(name).keys is None:
            return None
        return ("type", *registry.get(name).keys, *(self.keys or ()))

    def component(self, run: JobRun) -> tuple[ComponentSpec, dict[str, Any]]:
        """The registry entry chosen by `extra_configs.type`, and its config without `type`."""
        registry = self.registry()
        assert registry is not None
        cfg = dict(run.extra_configs or {})
        name = cfg.pop("type", None)
        return registry.get(str(name)), cfg

    def run(self, run: JobRun) -> Any:
        raise NotImplementedError
