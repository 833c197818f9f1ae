"""Hyperparameter optimisation over data-operator settings.

Two ways in: Hydra multirun with the Optuna sweeper (`conf/hpo/`, the objective returned by the
app is read by `objective.py`), and the reference's wandb-style `hpo_config` file, translated
to an in-process Optuna study by `reference.py`. `sweep.py` holds the Hydra callback that
prepares a sweep folder before the sweeper opens its study there.
"""

from __future__ import annotations

from .objective import ObjectiveError, TrialFailedError, objective_from_context, parse_metric_spec

__all__ = ["ObjectiveError", "TrialFailedError", "objective_from_context", "parse_metric_spec"]
