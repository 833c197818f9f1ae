"""Every tracker the sandbox knows, and the tracker a run config asks for.

`make_tracker(cfg)` builds the tracker named by the `tracker` config group (`type`: none,
wandb, tensorboard, csv, or one registered with `register_tracker`); the runner calls
`job_finished` after each job and `run_finished` at the end. A misconfigured tracker (unknown
type or key, bad value) is a ConfigError before anything runs; a tracker that fails while the
run is going is a warning (trackers/guard.py).

Each tracker is a `ComponentSpec` of the `TRACKERS` registry whose `keys` are the settings it
accepts (besides `type`); its class carries their defaults (`DEFAULTS`) and allowed values
(`CHOICES`). Specs name classes by import path, so nothing heavy (wandb, torch) is imported
until a tracker starts, and `--cfg`/`--help` stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ...errors import ConfigError
from ...registry import ComponentSpec, Registry
from ...suggest import did_you_mean
from .base import Tracker
from .guard import GuardedTracker

_HERE = "djsandbox.reporting.trackers"
SPECS = (
    ComponentSpec("Tracker", "none", f"{_HERE}.base:Tracker", "no tracking", keys=()),
    ComponentSpec(
        "Tracker",
        "csv",
        f"{_HERE}.csv:CsvTracker",
        "metrics.csv / metrics.jsonl of every job's numeric results",
        keys=("filename",),
    ),
    ComponentSpec(
        "Tracker",
        "tensorboard",
        f"{_HERE}.tensorboard:TensorBoardTracker",
        "TensorBoard event files; training curves via TensorBoardLogger",
        keys=("dir", "lightning", "log_config", "flush_secs"),
    ),
    ComponentSpec(
        "Tracker",
        "wandb",
        f"{_HERE}.wandb:WandbTracker",
        "Weights & Biases (offline unless an API key is configured)",
        keys=(
            "mode",
            "project",
            "name",
            "group",
            "entity",
            "tags",
            "notes",
            "job_type",
            "dir",
            "api_key",
            "log_config",
            "lightning",
            "console",
            "system_metrics",
            "init_timeout",
        ),
    ),
)

TRACKERS = Registry("Tracker", "tracker")
for _spec in SPECS:
    TRACKERS.add(_spec)


@dataclass(frozen=True)
class TrackerFactory:
    """A registered factory function, with the `DEFAULTS` and `CHOICES` a tracker class
    carries itself."""

    build: Callable[[dict[str, Any]], Tracker]
    DEFAULTS: dict[str, Any]
    CHOICES: dict[str, tuple[Any, ...]]

    def __call__(self, settings: dict[str, Any]) -> Tracker:
        return self.build(settings)


def register_tracker(
    name: str,
    factory: Callable[[dict[str, Any]], Tracker],
    defaults: dict[str, Any] | None = None,
    choices: dict[str, tuple[Any, ...]] | None = None,
    doc: str = "",
) -> None:
    """Make `tracker: {type: name, ...}` build `factory(settings)` (replacing a tracker of that
    name); `defaults` lists the accepted keys (besides `type`), so a typo in a key is an error,
    not silently ignored."""
    target = TrackerFactory(factory, dict(defaults or {}), dict(choices or {}))
    TRACKERS[name] = ComponentSpec("Tracker", name, target, doc, keys=tuple(target.DEFAULTS))


def _broken(kind: str, exc: Exception) -> ConfigError:
    return ConfigError(f"tracker ({kind}): {type(exc).__name__}: {exc}")


def _load(kind: str) -> Any:
    """The class (or factory) of tracker `kind`; a ConfigError when it cannot be loaded."""
    try:
        return TRACKERS.get(kind).load()
    except Exception as exc:
        raise _broken(kind, exc) from None


def tracker_settings(cfg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(type, settings with defaults filled in) of `cfg['tracker']`; ConfigError if invalid."""
    spec = cfg.get("tracker")
    if spec is None:
        spec = {}
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise ConfigError(
            f"tracker: expected a mapping like {{type: wandb}} or a type name, got {spec!r}"
        )
    kind = spec.get("type") or "none"
    if kind not in TRACKERS:
        raise ConfigError(
            f"tracker.type: unknown tracker {kind!r}"
            f"{did_you_mean(kind, TRACKERS.names())}; valid: "
            f"{', '.join(sorted(TRACKERS.names()))}"
        )
    given = {k: v for k, v in spec.items() if k != "type"}
    valid = TRACKERS.get(kind).keys  # None: the tracker accepts any key
    unknown = [k for k in given if k not in valid] if valid is not None else []
    if unknown:
        hints = ", ".join(f"{key!r}{did_you_mean(key, valid)}" for key in unknown)
        raise ConfigError(
            f"tracker ({kind}): unknown key(s) {hints}; valid: {', '.join(['type', *valid])}"
        )
    tracker = _load(kind)
    settings = {**getattr(tracker, "DEFAULTS", {}), **given}
    for key, allowed in getattr(tracker, "CHOICES", {}).items():
        if settings.get(key) not in allowed:
            raise ConfigError(
                f"tracker.{key}: {settings.get(key)!r} is not one of "
                f"{', '.join(repr(a) for a in allowed)}"
            )
    return kind, settings


def make_tracker(cfg: dict[str, Any]) -> Tracker:
    """The tracker configured under `tracker` (absent or type none: no tracking), guarded so
    that its failures are warnings; raises ConfigError for a misconfigured tracker."""
    kind, settings = tracker_settings(cfg)
    factory = _load(kind)
    try:
        inner = factory(settings)
    except ConfigError:
        raise
    except Exception as exc:
        raise _broken(kind, exc) from None
    return GuardedTracker(kind, inner)
