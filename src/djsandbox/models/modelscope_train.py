"""The `modelscope` ModelTrainExecutor: a ModelScope trainer built by name, as in the reference.

Keys (the reference's): `model_name` (a ModelScope model id or a local folder), `trainer_name`
(a registered ModelScope trainer), `train_dataset` / `eval_dataset` (a local JSONL/JSON/Parquet
file, or a ModelScope dataset name), `key_remapping` (rename dataset columns to what the model
expects, e.g. {text: sentence}), `work_dir` (default: the job folder). Every other key is a
trainer-config override merged with `cfg.merge_from_dict` (dotted keys such as
`train.max_epochs` work). Returns the work dir, where ModelScope writes its checkpoints.

ModelScope is a core dependency, imported only here at run time (it takes seconds to import);
the config handling is pure functions. A local model folder (a `configuration.json` beside the
weights) is loaded from disk; the ModelScope hub is contacted only for a model id.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

RESERVED = (
    "model_name",
    "trainer_name",
    "key_remapping",
    "train_dataset",
    "eval_dataset",
    "work_dir",
)
LOCAL_SUFFIXES = (".jsonl", ".json", ".parquet")
INSTALL = (
    "ModelScope is not installed (djsandbox depends on it; the environment is incomplete): "
    "pip install modelscope addict simplejson sortedcontainers einops"
)


def missing_modelscope() -> str | None:
    """Why ModelScope cannot run here, cheaply (no import), or None."""
    return INSTALL if importlib.util.find_spec("modelscope") is None else None


def config_overrides(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The keys that are not the executor's own: overrides of the trainer's config."""
    return {k: v for k, v in cfg.items() if k not in RESERVED}


def make_cfg_modify_fn(overrides: Mapping[str, Any]) -> Callable[[Any], Any]:
    """The `cfg_modify_fn` ModelScope calls with the model's config: merge the overrides."""
    frozen = dict(overrides)

    def modify(config: Any) -> Any:
        if frozen:
            config.merge_from_dict(frozen)
        return config

    return modify


def remap_rows(
    rows: Iterable[dict[str, Any]], key_remapping: Mapping[str, str] | None, source: str = "dataset"
) -> list[dict[str, Any]]:
    """Rows with keys renamed old -> new, in place of the old key; a rename onto another key
    the row already has is an error (it would silently drop a column)."""
    mapping = dict(key_remapping or {})
    out = []
    for i, row in enumerate(rows):
        for old, name in mapping.items():
            if old in row and name != old and name in row and name not in mapping:
                raise ValueError(
                    f"key_remapping: {source} row {i} has both {old!r} and "
                    f"{name!r}; renaming would overwrite {name!r}"
                )
        out.append({mapping.get(k, k): v for k, v in row.items()})
    return out


def is_local(value: Any) -> bool:
    return isinstance(value, str) and value.lower().endswith(LOCAL_SUFFIXES)


def trainer_args(
    cfg: Mapping[str, Any], out_dir: Path, load: Callable[[Any, str], Any]
) -> dict[str, Any]:
    """`default_args` for `build_trainer`; `load(dataset, split)` gives each dataset."""
    for key in ("model_name", "trainer_name"):
        if not cfg.get(key):
            raise ValueError(f"{key}: missing; the modelscope trainer needs it")
    args: dict[str, Any] = {
        "model": str(cfg["model_name"]),
        "work_dir": str(cfg.get("work_dir") or out_dir),
        "cfg_modify_fn": make_cfg_modify_fn(config_overrides(cfg)),
    }
    for key, split in (("train_dataset", "train"), ("eval_dataset", "validation")):
        if cfg.get(key):
            args[key] = load(cfg[key], split)
    return args


def load_dataset(value: Any, split: str, key_remapping: Mapping[str, str] | None) -> Any:
    """A local file as a `datasets.Dataset`, else `MsDataset.load(name, split=...)`; remapped."""
    if is_local(value):
        from datasets import Dataset

        from djsandbox.data.jsonl import load_rows

        return Dataset.from_list(remap_rows(load_rows(value), key_remapping, str(value)))
    from modelscope.msdatasets import MsDataset

    ds = MsDataset.load(str(value), split=split).ds_instance
    for old, new in dict(key_remapping or {}).items():
        if old in ds.features:
            ds = ds.rename_column(old, new)
    return ds


def run(cfg: dict[str, Any], out_dir: Path) -> str:
    """Build the named ModelScope trainer, train, and return its work dir."""
    problem = missing_modelscope()
    if problem:
        raise RuntimeError(problem)
    from modelscope.trainers import build_trainer

    remapping = cfg.get("key_remapping")
    args = trainer_args(cfg, Path(out_dir), lambda ds, split: load_dataset(ds, split, remapping))
    try:
        trainer = build_trainer(name=str(cfg["trainer_name"]), default_args=args)
    except Exception as exc:  # ModelScope raises many kinds for a model it cannot find
        raise ValueError(
            f"model_name/trainer_name: cannot build trainer "
            f"{cfg['trainer_name']!r} for model {cfg['model_name']!r} (runs are "
            f"offline: give a local model folder or one in the ModelScope cache): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    trainer.train()
    return args["work_dir"]
