"""The one place that turns a `conf/trainer/` mapping into a Lightning Trainer (all components).

Every model component (text classifier, captioner, causal LM) logs to a CSV file in its own
folder and to the run's tracker (wandb, tensorboard) through the same loggers, so curves land in
the report and the tracker whatever the component. Settings from `conf/trainer/` win over the
component's defaults; the component's own keys that are Trainer settings too (e.g. `max_epochs`)
win over both. Their names are checked before the run (`trainer_keys.trainer_problems`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

TRAINER_DEFAULTS: dict[str, Any] = {
    "accelerator": "cpu",
    "devices": 1,
    "max_epochs": 1,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "enable_checkpointing": False,  # components save their own model folder
    "num_sanity_val_steps": 0,
}


def trainer_settings(
    settings: Mapping[str, Any] | None,
    defaults: Mapping[str, Any] | None = None,
    source: str = "extra_configs.trainer",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Defaults <- component defaults <- user settings <- component overrides; a non-mapping is
    a clear error."""
    if settings is not None and not isinstance(settings, Mapping):
        raise ValueError(
            f"{source}: expected a mapping of lightning.Trainer arguments "
            f"(e.g. the `trainer` config group), got {type(settings).__name__}"
        )
    return {
        **TRAINER_DEFAULTS,
        **dict(defaults or {}),
        **dict(settings or {}),
        **dict(overrides or {}),
    }


def log_interval(train_rows: int, batch_size: int) -> int:
    """Log at least once per epoch even on tiny pools (avoids Lightning's interval warning)."""
    return max(1, min(10, math.ceil(max(train_rows, 1) / max(batch_size, 1))))


def make_trainer(
    settings: Mapping[str, Any] | None,
    out_dir: Path,
    defaults: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """A `lightning.Trainer` writing CSV logs under `out_dir/logs` (first: `trainer.log_dir`)
    plus the tracker's loggers, and reporting its epochs to the run's progress display;
    `settings` is the `trainer` group (see `trainer_settings`)."""
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from ..progress import adopt_library_loggers
    from ..reporting.trackers.active import lightning_loggers
    from .progress_callback import progress_callback

    adopt_library_loggers()  # Lightning, imported just now, adds its own terminal handler
    kwargs = trainer_settings(settings, defaults, overrides=overrides)
    callbacks = kwargs.get("callbacks") or []
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    kwargs["callbacks"] = [*callbacks, progress_callback()]
    if "logger" not in kwargs:
        kwargs["logger"] = [
            CSVLogger(save_dir=str(out_dir), name="logs"),
            *lightning_loggers(Path(out_dir)),
        ]
    kwargs.setdefault("default_root_dir", str(out_dir))
    try:
        return L.Trainer(**kwargs)
    except TypeError as exc:  # an unknown key in the trainer group
        raise ValueError(
            f"extra_configs.trainer: {exc}; keys must be lightning.Trainer arguments"
        ) from None
