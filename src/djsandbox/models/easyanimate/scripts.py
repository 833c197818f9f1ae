"""EasyAnimate's own LoRA scripts, run in their own environment (the reference's way), behind
the same `easyanimate` trainer and generator.

Used when `env_name` or `easyanimate_home` is set. As the reference, the scripts are
`train_lora.sh` and `infer_lora.sh` of Data-Juicer's `thirdparty/models/EasyAnimate` checkout
(`easyanimate_home`, default that folder under the working directory), called from that folder
with the reference's positional arguments, in the environment `env_name`/`env_manager`/
`env_params` (EnvManager; without `env_name`, this Python environment). Output streams into a
log in the job folder. A `dataset_path`/`checkpoint`/`prompts_path` given as flat keys (e.g.
fed by `input` from an earlier job) wins over the nested reference value. They need a CUDA GPU.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from djsandbox.atomic import atomic_write_text
from djsandbox.shapes import leaves, map_structure, split_pairs

from ..captioning.internvl_scripts import CurrentPython, env_label, gpu_count
from .reference_keys import DEFAULT_HOME

LOG = logging.getLogger(__name__)
EXTRA_REQUIREMENTS = ("deepspeed", "func_timeout", "wandb")  # what the reference adds


def need_gpu(count: Callable[[], int] | None) -> None:
    if (count or gpu_count)() <= 0:
        raise ValueError(
            "env_name: EasyAnimate's scripts need a CUDA GPU and this machine has none; remove "
            "env_name/easyanimate_home to use the in-process path (CPU)"
        )


def home_dir(cfg: Mapping[str, Any], script: str) -> Path:
    home = Path(str(cfg.get("easyanimate_home") or DEFAULT_HOME)).expanduser().resolve()
    if not (home / script).is_file():
        raise ValueError(
            f"easyanimate_home: {str(home)!r} has no {script}; expected Data-Juicer's "
            "thirdparty/models/EasyAnimate (bash thirdparty/models/setup_easyanimate.sh)"
        )
    return home


def environment(cfg: Mapping[str, Any], home: Path) -> Any:
    """EnvManager's environment for `env_name` (EasyAnimate's requirements plus the
    reference's extras unless `env_params` names requirements), else this one."""
    if not cfg.get("env_name"):
        return CurrentPython()
    from djsandbox.envs import EnvSpec, get_env

    params = dict(cfg.get("env_params") or {})
    if not (params.get("requirements") or params.get("env_requirements")):
        found = [f"-r {home / 'requirements.txt'}"] if (home / "requirements.txt").is_file() else []
        params["requirements"] = [*found, *EXTRA_REQUIREMENTS]
    spec = EnvSpec.from_config(
        cfg["env_name"], cfg.get("env_manager") or "conda", params, where="extra_configs"
    )
    return get_env(spec, cache_dir=None)


def _section(cfg: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    train = cfg.get("train") if isinstance(cfg.get("train"), Mapping) else {}
    value = train.get(name)
    return value if isinstance(value, Mapping) else {}


def train_args(cfg: Mapping[str, Any], meta: str, output_dir: str) -> list[str]:
    """`train_lora.sh`'s 14 positional arguments, in the reference's order."""
    model, data = _section(cfg, "model_path"), _section(cfg, "dataset_path")
    tc, tracker = _section(cfg, "training_config"), _section(cfg, "tracker_config")
    values = [
        model.get("pretrained_model_name_or_path", ""),
        model.get("transformer_path", ""),
        data.get("dataset_name", ""),
        meta,
        tc.get("sample_size", 256),
        tc.get("mixed_precision", "bf16"),
        tc.get("batch_size_per_gpu", 8),
        tc.get("gradient_accumulation_steps", 1),
        tc.get("num_train_epochs", 1),
        tc.get("dataloader_num_workers", 8),
        tc.get("seed", 42),
        output_dir,
        tracker.get("project_name", "djsandbox"),
        tracker.get("experiment_name", "easyanimate"),
    ]
    return [str(v) for v in values]


def infer_args(cfg: Mapping[str, Any], lora: str, prompts: str, output_dir: str) -> list[str]:
    """`infer_lora.sh`'s 11 positional arguments, in the reference's order."""
    model, ic = _section(cfg, "model_path"), _section(cfg, "infer_config")
    values = [
        model.get("pretrained_model_name_or_path", ""),
        model.get("transformer_path", ""),
        lora,
        ic.get("image_size", 256),
        prompts,
        ic.get("gpu_num", 1),
        ic.get("batch_size", 8),
        ic.get("mixed_precision", "bf16"),
        ic.get("video_num_per_prompt", 5),
        ic.get("seed", 43),
        output_dir,
    ]
    return [str(v) for v in values]


def run_train(
    cfg: Mapping[str, Any], out_dir: Path, env: Any = None, count: Callable[[], int] | None = None
) -> tuple[Any, Any]:
    """Run `train_lora.sh` per dataset; (output folders, metrics) in the input's shape."""
    home = home_dir(cfg, "train_lora.sh")
    need_gpu(count)
    source = cfg.get("dataset_path") or _section(cfg, "dataset_path").get("dataset_meta_name")
    if source in (None, "", [], {}):
        raise ValueError("train.dataset_path.dataset_meta_name: missing; expected the JSON")
    saving = _section(cfg, "saving_config").get("output_dir") or cfg.get("output_dir")
    several = len(leaves(source)) > 1
    env = env if env is not None else environment(cfg, home)

    def one(meta: Any, job: Path) -> tuple[str, dict[str, Any]]:
        started = time.time()
        base = Path(str(saving)) if saving else job / "models"
        output = (home / base if not base.is_absolute() else base).resolve()
        output = output / Path(str(meta)).stem if several else output
        log = job / "train_log.txt"
        cmd = ["bash", str(home / "train_lora.sh"), *train_args(cfg, str(meta), str(output))]
        LOG.info("EasyAnimate train_lora.sh in %s; output streams into %s", env_label(env), log)
        env.run(cmd, log_path=log, cwd=str(home))
        if not output.is_dir():
            raise RuntimeError(f"train_lora.sh finished but wrote no {str(output)!r}; see {log}")
        return str(output), {
            "backend": "easyanimate_scripts",
            "command": cmd,
            "log_path": str(log),
            "seconds": round(time.time() - started, 2),
        }

    return split_pairs(map_structure(source, one, Path(out_dir)))


def generated_rows(videos_dir: Path) -> list[dict[str, Any]]:
    """Data-Juicer rows for the `<prompt>-<k>.mp4` clips a generator wrote."""
    from djsandbox.data.converters.common import special_tokens

    tokens = special_tokens()
    rows = []
    for path in sorted(videos_dir.glob("*.mp4")):
        prompt, _, k = path.stem.rpartition("-")
        rows.append(
            {
                "videos": [str(path.resolve())],
                "text": f"{tokens.video} {prompt} {tokens.eoc}",
                "id": path.stem,
                "prompt": prompt,
                "sample": int(k) if k.isdigit() else None,
            }
        )
    return rows


def run_infer(
    cfg: Mapping[str, Any], out_dir: Path, env: Any = None, count: Callable[[], int] | None = None
) -> tuple[Any, Any]:
    """Run `infer_lora.sh` per LoRA; (videos folder, generated JSONL) in its shape."""
    home = home_dir(cfg, "infer_lora.sh")
    need_gpu(count)
    source = cfg.get("checkpoint") or _section(cfg, "model_path").get("lora_path")
    if source in (None, "", [], {}):
        raise ValueError("train.model_path.lora_path: missing; expected the trained LoRA")
    prompts = cfg.get("prompts_path") or _section(cfg, "infer_config").get("prompt_info_path")
    saving = _section(cfg, "saving_config").get("output_video_dir") or cfg.get("output_dir")
    several = len(leaves(source)) > 1
    env = env if env is not None else environment(cfg, home)

    def one(lora: Any, job: Path) -> tuple[str, str]:
        base = Path(str(saving)) if saving else job / "videos"
        output = (home / base if not base.is_absolute() else base).resolve()
        output = output / Path(str(lora)).stem if several else output
        log = job / "infer_log.txt"
        cmd = [
            "bash",
            str(home / "infer_lora.sh"),
            *infer_args(cfg, str(lora), str(prompts), str(output)),
        ]
        LOG.info("EasyAnimate infer_lora.sh in %s; output streams into %s", env_label(env), log)
        env.run(cmd, log_path=log, cwd=str(home))
        if not output.is_dir():
            raise RuntimeError(f"infer_lora.sh finished but wrote no {str(output)!r}; see {log}")
        jsonl = job / "generated.jsonl"
        rows = generated_rows(output)
        atomic_write_text(jsonl, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return str(output), str(jsonl)

    return split_pairs(map_structure(source, one, Path(out_dir)))
