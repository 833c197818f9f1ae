"""What every hook shares: how it is checked before the run and what it gets when it runs.

Hooks are thin: they pick a component, call it with the job's resolved configs and return
results. They never call each other; data moves as files whose paths travel in the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..catalog import FACTORIES
from ..context import Context
from ..registry import ComponentSpec, Registry

# Keys that name input files the job reads / output files it writes, checked at validation.
INPUT_FILE_KEYS: tuple[str, ...] = (
    "dj_configs.dataset_path", "extra_configs.dataset_path", "extra_configs.predicted_dataset_path",
    "extra_configs.ground_truth_dataset_path", "extra_configs.test_dataset_path")
OUTPUT_FILE_KEYS: tuple[str, ...] = (
    "dj_configs.export_path", "extra_configs.export_path", "extra_configs.path_k_sigma_recipe",
    "extra_configs.predictions_path")


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


def _unknown_keys(entry: ComponentSpec, extra: dict[str, Any]) -> list[str]:
    """Typos in a component's config are caught before the run, with the closest valid key."""
    if entry.keys is None:
        return []
    import difflib

    problems = []
    for key in extra:
        if key != "type" and key not in entry.keys:
            close = difflib.get_close_matches(str(key), entry.keys, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"extra_configs.{key}: not a setting of '{entry.name}'{hint}; valid: "
                            f"{', '.join(entry.keys)}")
    return problems


def _has_interpolation(value: Any) -> bool:
    """True when a `${...}` appears anywhere in the value (lists and mappings included)."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_has_interpolation(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_interpolation(v) for v in value)
    return False


def _known(extra: dict[str, Any]) -> dict[str, Any]:
    """The settings whose values are known before the run (no `${...}` at any depth, not
    input-fed)."""
    return {k: v for k, v in extra.items() if not _has_interpolation(v)}


class Hook:
    """Base hook. `factory` names the registry whose component `extra_configs.type` selects."""

    factory: ClassVar[str | None] = None
    result_count: ClassVar[int | None] = 1  # None: varies with the component
    needs_dj_configs: ClassVar[bool] = False

    def registry(self) -> Registry | None:
        return FACTORIES[self.factory] if self.factory else None

    def check(self, job: dict[str, Any]) -> list[str]:
        """Problems with a job's (file-loaded, local-applied) config, as 'key: message'."""
        problems: list[str] = []
        if self.needs_dj_configs and not job.get("dj_configs"):
            problems.append("dj_configs: this hook needs a Data-Juicer recipe (a path or a mapping)")
        registry = self.registry()
        if registry is not None:
            extra = job.get("extra_configs")
            component_type = extra.get("type") if isinstance(extra, dict) else None
            if component_type is None:
                if not isinstance(extra, str):  # a str: a file an earlier job writes
                    problems.append(f"extra_configs.type: missing; valid: "
                                    f"{', '.join(sorted(registry.names()))}")
            elif isinstance(component_type, str) and "${" in component_type:
                pass  # set from the context at run time
            elif component_type not in registry:
                problems.append(f"extra_configs.type: {registry.unknown_message(component_type)}")
            elif registry.get(component_type).unavailable:
                problems.append(f"extra_configs.type: '{component_type}' is "
                                f"{registry.get(component_type).unavailable}")
            else:
                entry = registry.get(component_type)
                unknown = _unknown_keys(entry, extra)
                problems += unknown + [f"extra_configs.{key}: missing; '{entry.name}' needs it"
                                       for key in entry.required if extra.get(key) in (None, "")]
                if not unknown:  # a missing key may be fed by `input`: check the rest anyway
                    problems += [f"extra_configs.{p}" for p in entry.problems(_known(extra))]
        return problems

    def component(self, run: JobRun) -> tuple[ComponentSpec, dict[str, Any]]:
        """The registry entry chosen by `extra_configs.type`, and its config without `type`."""
        registry = self.registry()
        assert registry is not None
        cfg = dict(run.extra_configs or {})
        name = cfg.pop("type", None)
        return registry.get(str(name)), cfg

    def run(self, run: JobRun) -> Any:
        raise NotImplementedError
