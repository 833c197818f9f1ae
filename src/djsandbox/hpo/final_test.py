"""A sweep's test set, scored once: after the last trial, for the best trial only.

A sweep that optimises test accuracy tunes the recipe to the test set, and its best value is
then an optimistic estimate. Trials optimise a validation split instead (`optimized_metric`);
the config's `final_test` names the model to score on the test set afterwards:

    final_test:
      checkpoint: refined.train.checkpoint   # a context key of each trial's run
      type: text_classifier                  # a ModelEvaluator, with its own settings
      dataset_path: ${vars.test}

Called by `SweepFolder.on_multirun_end`. The scores are stored on the study (user attribute
`final_test`) and in `final_test.json`, and the sweep report shows them apart from the
objective. A trial already scored is not scored again when a resumed sweep keeps it best.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ..atomic import atomic_write_text
from ..context import STATE_FILE, RunState

ATTR = "final_test"


def _best_trials(study: Any) -> list[Any]:
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        return []
    return [study.best_trial] if len(study.directions) == 1 else list(study.best_trials)


def score_final_test(study: Any, spec: Mapping[str, Any], sweep_dir: Path) -> list[dict]:
    """Score the best trial (each trial of the Pareto front when multi-objective) on the
    test set once; returns every stored score, best trials first."""
    from ..catalog import FACTORIES

    done = {int(r["trial"]): r for r in study.user_attrs.get(ATTR) or []}
    evaluator = FACTORIES["ModelEvaluator"].get(str(spec["type"]))
    settings = {k: v for k, v in spec.items() if k not in ("checkpoint", "type")}
    scored = []
    for trial in _best_trials(study):
        if trial.number in done:
            scored.append(done[trial.number])
            continue
        run_dir = Path(str(trial.user_attrs.get("run_dir", "")))
        state = RunState.load(run_dir / STATE_FILE)
        checkpoint = state.context.lookup(str(spec["checkpoint"]), where="final_test.checkpoint")
        out_dir = sweep_dir / ATTR / f"trial_{trial.number}"
        out_dir.mkdir(parents=True, exist_ok=True)
        metrics = evaluator.load()({**settings, "checkpoint": checkpoint}, out_dir)
        scored.append(
            {
                "trial": trial.number,
                "run_dir": str(run_dir),
                "checkpoint": str(checkpoint),
                "metrics": json.loads(json.dumps(metrics, default=str)),
            }
        )
    keep = {r["trial"] for r in scored}
    stored = scored + [r for n, r in done.items() if n not in keep]
    study.set_user_attr(ATTR, stored)
    atomic_write_text(sweep_dir / f"{ATTR}.json", json.dumps(stored, indent=1))
    return scored
