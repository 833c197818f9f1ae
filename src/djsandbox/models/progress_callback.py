"""A Lightning callback that reports training to the run's progress display: steps of each
epoch with the running loss, and each finished epoch with its train and validation metrics.

Lightning's own progress bar stays off (`TRAINER_DEFAULTS`): it would draw over the display.
"""

from __future__ import annotations

import math
from typing import Any

from djsandbox.progress import report

__all__ = ["progress_callback", "epoch_metrics"]

# Metric names shown, in this order, with a short name.
SHOWN = {
    "train/loss_epoch": "loss",
    "train/loss": "loss",
    "val/loss": "val_loss",
    "val/accuracy": "val_accuracy",
    "val/macro_f1": "val_macro_f1",
}


def _number(value: Any) -> float | None:
    try:
        number = float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def epoch_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The shown metrics from Lightning's `callback_metrics`, as plain floats."""
    out: dict[str, float] = {}
    for key, short in SHOWN.items():
        if key in metrics and short not in out:
            value = _number(metrics[key])
            if value is not None:
                out[short] = value
    return out


def _total(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def progress_callback() -> Any:
    """A new `lightning.pytorch.Callback` that reports to `djsandbox.progress.report`."""
    from lightning.pytorch import Callback

    class ProgressCallback(Callback):
        def _epoch(self, trainer: Any) -> str:
            total = _total(trainer.max_epochs) if trainer.max_epochs not in (None, -1) else None
            return f"epoch {trainer.current_epoch + 1}" + (f"/{total}" if total else "")

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            steps = _total(trainer.num_training_batches)
            if steps is not None and batch_idx + 1 >= steps:
                return  # the epoch's end reports it, with the epoch's metrics
            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
            report(batch_idx + 1, steps, f"{self._epoch(trainer)} steps", loss=_number(loss))

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            total = _total(trainer.max_epochs)
            report(
                trainer.current_epoch + 1,
                total if total and total > 0 else None,
                "epochs",
                **epoch_metrics(dict(trainer.callback_metrics)),
            )

    return ProgressCallback()
