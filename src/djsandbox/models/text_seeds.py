"""Several text classifiers trained on one split with different seeds, kept as one "checkpoint".

With `seeds: [..]` the trainer writes `seed_<s>/model.ckpt` per seed and `seeds.json` listing
them; that manifest is the job's checkpoint, so the evaluator scores every model and reports
the mean, spread and 95% interval of each metric over seeds (`seed_stats`) instead of one
seed's number, which cannot tell two recipes apart when they are within noise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from ..atomic import atomic_write_text
from ..seed_stats import seed_metrics

MANIFEST_NAME = "seeds.json"
_KIND = "djsandbox.text_classifier.seeds"


def seeds_problems(seeds: Any) -> list[str]:
    """'seeds: problem' unless `seeds` is None or a non-empty list of distinct integers."""
    if seeds is None or isinstance(seeds, str) and seeds.startswith("${"):
        return []
    if (
        not isinstance(seeds, (list, tuple))
        or not seeds
        or any(isinstance(s, bool) or not isinstance(s, int) for s in seeds)
    ):
        return [f"seeds: got {seeds!r}; expected a non-empty list of integers, e.g. [1, 2, 3]"]
    if len(set(seeds)) != len(seeds):
        return [f"seeds: got {list(seeds)!r}; each seed once (a repeat adds no information)"]
    return []


def is_manifest(path: Any) -> bool:
    return isinstance(path, (str, Path)) and Path(path).name == MANIFEST_NAME


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """The per-seed entries ({seed, checkpoint, ...}) of a manifest; errors name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"checkpoint {str(path)!r}: not a readable seeds manifest ({exc})"
        ) from None
    if not isinstance(data, dict) or data.get("kind") != _KIND or not data.get("models"):
        raise ValueError(
            f"checkpoint {str(path)!r}: not a seeds manifest written by the text_classifier "
            "trainer (expected 'kind' and 'models')"
        )
    return list(data["models"])


def _aggregate(runs: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        values = [r.get(name) for r in runs]
        if all(isinstance(v, (int, float)) for v in values):
            out.update(seed_metrics(name, values))
        else:
            out[name] = None
    return out


def seed_ensemble(runs: list[dict[str, Any]], out_dir: Path) -> dict[str, Any]:
    """Write the manifest of per-seed training results; the trainer's result for them all."""
    manifest = Path(out_dir) / MANIFEST_NAME
    models = [{k: v for k, v in r.items() if k != "labels"} for r in runs]
    atomic_write_text(manifest, json.dumps({"kind": _KIND, "models": models}, indent=1))
    first = runs[0]
    return {
        "checkpoint": str(manifest),
        "seeds": [r["seed"] for r in runs],
        "train_rows": first["train_rows"],
        "val_rows": first["val_rows"],
        **_aggregate(runs, ("val_accuracy", "val_macro_f1")),
        "epochs": first["epochs"],
        "best_epochs": [r["best_epoch"] for r in runs],
        "kept": first["kept"],
        "labels": first["labels"],
    }


def evaluate_seeds(
    manifest: str | Path, evaluate_one: Callable[[str, bool], dict[str, Any]]
) -> dict[str, Any]:
    """Score every model of a manifest with `evaluate_one(checkpoint, write_predictions)`
    (predictions are written for the first seed only); mean, spread and interval per metric."""
    entries = read_manifest(manifest)
    results = [evaluate_one(str(e["checkpoint"]), i == 0) for i, e in enumerate(entries)]
    return {
        **_aggregate(results, ("accuracy", "macro_f1")),
        "seeds": [e.get("seed") for e in entries],
        "rows": results[0]["rows"],
        "predictions_path": results[0].get("predictions_path"),
        **(
            {"predictions_seed": entries[0].get("seed")}
            if results[0].get("predictions_path")
            else {}
        ),
    }
