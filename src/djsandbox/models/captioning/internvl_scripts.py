"""InternVL's own fine-tune and evaluation scripts, run in their own environment (the
reference DJ-Sandbox's way), behind the same `internvl_coco_caption` trainer and evaluator.

Used when `internvl_home` (a clone of OpenGVLab/InternVL) is set. The trainer writes one
bash script per meta file (into `script_dir`, default `<job folder>/scripts`) that runs
`internvl/train/internvl_chat_finetune.py` under torchrun from `internvl_chat` with the
reference's recipe (frozen backbone and MLP, LoRA 128 on the LLM, 448 px dynamic tiles, total
batch 512, lr 4e-5, cosine, one epoch), runs it in the environment `env_name`/`env_manager`/
`env_params` (EnvManager; without `env_name` in the current Python environment) with the
output streamed into `<output folder>/training_log.txt`, and reads the loss/lr lines from it.
The evaluator runs `evaluate.sh <checkpoint> caption-coco --dynamic` from `internvl_chat` (it
scores InternVL's own COCO Karpathy test split) and reads the scores it prints. Both return
what the Lightning path returns: (checkpoint folders, metrics) and score mappings, in the
shape of their input.

Nothing is written over what the sandbox did not write: an output folder must be new, empty
or one this trainer made (`.djsandbox-output` inside), a script file one it wrote.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

from djsandbox.atomic import atomic_write_text
from djsandbox.shapes import leaves, map_structure, split_pairs

from .internvl_logs import caption_scores, read_log, train_metrics
from .reference_keys import SCALES, check_reference, conv_style

LOG = logging.getLogger(__name__)
OWNED = ".djsandbox-output"
SCRIPT_HEADER = "# written by djsandbox"
TOTAL_BATCH_SIZE = 512
FINETUNE = "internvl/train/internvl_chat_finetune.py"
REQUIREMENTS = ("flash-attn==2.3.6 --no-build-isolation", "datasets", "deepspeed==0.15.4")
"""Installed besides `<internvl_home>/requirements.txt` when the environment is built, as the
reference does (InternVL's installation guide)."""


class CurrentPython:
    """Runs commands in this process's environment (its `bin` first on PATH, so `python` and
    `torchrun` are this interpreter's), output streamed into a log; like an EnvManager env."""

    name = "current Python environment"

    def run(
        self,
        cmd: list[str],
        log_path: Path,
        cwd: str | os.PathLike[str] | None = None,
        env_vars: Mapping[str, str] | None = None,
    ) -> int:
        env = {**os.environ, **dict(env_vars or {})}
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as log:
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                log.flush()
            rc = proc.wait()
        if rc != 0:
            raise RuntimeError(
                f"{shlex.join(cmd)} exited with status {rc} in the {self.name}; see {log_path}"
            )
        return rc


def gpu_count() -> int:
    """CUDA devices visible here (torch imported only now)."""
    import torch

    return int(torch.cuda.device_count())


def environment(cfg: Mapping[str, Any]) -> Any:
    """The environment InternVL's scripts run in: EnvManager's for `env_name`, else this one."""
    if not cfg.get("env_name"):
        return CurrentPython()
    from djsandbox.envs import EnvSpec, get_env

    params = dict(cfg.get("env_params") or {})
    if not (params.get("requirements") or params.get("env_requirements")):
        home = Path(str(cfg["internvl_home"])).expanduser()
        params["requirements"] = [f"-r {home / 'requirements.txt'}", *REQUIREMENTS]
    spec = EnvSpec.from_config(
        cfg["env_name"],
        cfg.get("env_manager") or "conda",
        params,
        where="extra_configs",
    )
    return get_env(spec, cache_dir=None)


def env_label(env: Any) -> str:
    return str(getattr(env, "name", None) or type(env).__name__)


def chat_dir(cfg: Mapping[str, Any]) -> Path:
    """`<internvl_home>/internvl_chat`, where InternVL's scripts run; checked to exist."""
    home = Path(str(cfg["internvl_home"])).expanduser().resolve()
    folder = home / "internvl_chat"
    if not folder.is_dir():
        raise ValueError(
            f"internvl_home: {str(home)!r} has no internvl_chat folder; expected a clone of "
            "https://github.com/OpenGVLab/InternVL"
        )
    return folder


def gpus(cfg: Mapping[str, Any], count: Callable[[], int]) -> int:
    """`num_gpus` (default: all), as the reference: more than there are -> all there are."""
    have = count()
    if have <= 0:
        raise ValueError(
            "num_gpus: InternVL's scripts need a CUDA GPU and this machine has none; without "
            "internvl_home the Lightning path runs on CPU"
        )
    asked = int(cfg.get("num_gpus") or have)
    if asked > have:
        warnings.warn(f"num_gpus: {asked} asked, {have} here; using {have}", stacklevel=2)
    return min(asked, have)


def gradient_accumulation(num_gpus: int, per_device: int) -> int:
    """Steps per update so that each update sees TOTAL_BATCH_SIZE rows (the reference's)."""
    step = num_gpus * per_device
    if step > TOTAL_BATCH_SIZE or TOTAL_BATCH_SIZE % step:
        raise ValueError(
            f"batch_size_per_device: {per_device} x {num_gpus} GPU(s) = {step} must divide "
            f"the total batch of {TOTAL_BATCH_SIZE}"
        )
    return TOTAL_BATCH_SIZE // step


def model_and_style(cfg: Mapping[str, Any]) -> tuple[str, str]:
    """The base model folder and its conversation template, from the reference keys or from
    `model` (path, then template or size)."""
    model = dict(cfg.get("model") or {})
    path = cfg.get("model_name_or_path") or model.get("path")
    if not path:
        raise ValueError(
            "model_name_or_path: missing; expected the InternVL2 weights folder "
            "(e.g. <internvl_home>/internvl_chat/pretrained/InternVL2-1B)"
        )
    style = conv_style(cfg.get("conv_style_or_scale")) or model.get("template")
    style = style or SCALES.get(str(model.get("size")))
    if not style:
        raise ValueError(
            f"conv_style_or_scale: missing; expected a scale ({', '.join(SCALES)}) or a "
            "conversation template"
        )
    return str(path), str(style)


def finetune_args(
    model_path: str, style: str, meta_path: str, output_dir: Path, cfg: Mapping[str, Any]
) -> list[str]:
    """Arguments of `internvl_chat_finetune.py`: the reference's recipe; `lr`,
    `weight_decay`, `warmup_ratio`, `max_epochs` and `seed` override its values."""
    values = {
        "model_name_or_path": model_path,
        "conv_style": style,
        "output_dir": str(output_dir),
        "meta_path": meta_path,
        "overwrite_output_dir": "True",
        "force_image_size": 448,
        "max_dynamic_patch": 6,
        "down_sample_ratio": 0.5,
        "drop_path_rate": 0.0,
        "freeze_llm": "True",
        "freeze_mlp": "True",
        "freeze_backbone": "True",
        "use_llm_lora": 128,
        "vision_select_layer": -1,
        "dataloader_num_workers": 4,
        "bf16": "True",
        "num_train_epochs": cfg.get("max_epochs") or 1,
        "per_device_train_batch_size": "${PER_DEVICE_BATCH_SIZE}",
        "gradient_accumulation_steps": "${GRADIENT_ACC}",
        "evaluation_strategy": "no",
        "save_strategy": "steps",
        "save_steps": 200,
        "save_total_limit": 1,
        "learning_rate": cfg.get("lr") or 4e-5,
        "weight_decay": cfg.get("weight_decay", 0.01),
        "warmup_ratio": cfg.get("warmup_ratio", 0.03),
        "lr_scheduler_type": "cosine",
        "logging_steps": 1,
        "max_seq_length": 4096,
        "do_train": "True",
        "grad_checkpoint": "True",
        "group_by_length": "True",
        "dynamic_image_size": "True",
        "use_thumbnail": "True",
        "ps_version": "v2",
        "deepspeed": "zero_stage1_config.json",
        "report_to": "tensorboard",
    }
    if cfg.get("seed") is not None:
        values["seed"] = cfg["seed"]
    out = []
    for key, value in values.items():
        text = str(value)
        out += [f"--{key}", text if text.startswith("${") else shlex.quote(text)]
    return out


def train_script(folder: Path, num_gpus: int, per_device: int, args: list[str], what: str) -> str:
    """The bash script (self-contained: rerun it by hand with `bash <file>`)."""
    launch = [
        "torchrun --nnodes=1 --node_rank=0 --master_addr=127.0.0.1",
        "--nproc_per_node=${GPUS} --master_port=${MASTER_PORT}",
        FINETUNE,
    ] + [f"{args[i]} {args[i + 1]}" for i in range(0, len(args), 2)]
    return "\n".join(
        [
            "#!/usr/bin/env bash",
            f"{SCRIPT_HEADER}: InternVL fine-tune on {what}",
            "set -euo pipefail",
            f"cd {shlex.quote(str(folder))}",
            f"GPUS={num_gpus}",
            f"PER_DEVICE_BATCH_SIZE={per_device}",
            f"GRADIENT_ACC={gradient_accumulation(num_gpus, per_device)}",
            'export PYTHONPATH="${PYTHONPATH:-}:$(pwd)"',
            "export MASTER_PORT=${MASTER_PORT:-34229}",
            "export TF_CPP_MIN_LOG_LEVEL=3",
            "export LAUNCHER=pytorch",
            " \\\n  ".join(launch),
            "",
        ]
    )


def claim_folder(path: Path, key: str) -> None:
    """Make `path` an output folder of ours: new, empty, or marked as ours earlier."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{key}: {str(path)!r} is a file; expected a folder to write into")
    if path.is_dir() and any(path.iterdir()) and not (path / OWNED).exists():
        raise ValueError(
            f"{key}: {str(path)!r} already holds files the sandbox did not write; choose "
            "another folder or empty it"
        )
    path.mkdir(parents=True, exist_ok=True)
    (path / OWNED).touch()


def write_script(path: Path, text: str) -> None:
    """Write a script, replacing only a script this module wrote earlier."""
    if path.exists():
        first_lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:2]
        if not any(line.startswith(SCRIPT_HEADER) for line in first_lines):
            raise ValueError(
                f"script_dir: {str(path)!r} exists and was not written by the sandbox; "
                "choose another script_dir"
            )
    atomic_write_text(path, text)
    path.chmod(0o755)


def output_folders(sources: list[str], base: Path, model_path: str) -> dict[str, Path]:
    """`<base>/<meta name>_<model name>` per meta file, as the reference names them."""
    model_name = Path(model_path.rstrip("/\\")).stem
    folders = {src: base / f"{Path(src).stem}_{model_name}" for src in sources}
    names = [folders[src].name for src in sources]  # a file given twice clashes with itself
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(
            f"meta_paths: several meta files would train into {clash[0]!r} under "
            f"{str(base)!r}; give the meta files distinct names"
        )
    return folders


def run_train(
    cfg: Mapping[str, Any], out_dir: Path, env: Any = None, count: Callable[[], int] | None = None
) -> tuple[Any, Any]:
    """Fine-tune per meta file with InternVL's script; (output folders, metrics) in the
    shape of `meta_paths`/`meta_path`."""
    problems = check_reference(cfg, "train")
    if problems:
        raise ValueError("; ".join(problems))
    source = cfg.get("meta_paths") or cfg.get("meta_path")
    if source in (None, "", [], {}):
        raise ValueError("meta_paths: missing; expected the InternVL meta JSON file(s)")
    folder = chat_dir(cfg)
    model_path, style = model_and_style(cfg)
    num_gpus = gpus(cfg, count or gpu_count)
    per_device = int(cfg.get("batch_size_per_device") or cfg.get("batch_size") or 4)
    gradient_accumulation(num_gpus, per_device)  # refused before anything is written
    base = Path(str(cfg.get("work_dir") or out_dir)).expanduser().resolve()
    sources = [str(Path(str(s)).expanduser().resolve()) for s in leaves(source)]
    targets = output_folders(sources, base, model_path)
    scripts = Path(str(cfg.get("script_dir") or Path(out_dir) / "scripts")).expanduser()
    env = env if env is not None else environment(cfg)

    def one(meta: Any, _folder: Path) -> tuple[str, dict[str, Any]]:
        started = time.time()
        meta = str(Path(str(meta)).expanduser().resolve())
        if not Path(meta).is_file():
            raise ValueError(f"meta_paths: {meta!r} does not exist")
        output = targets[meta]
        claim_folder(output, "work_dir")
        script = scripts / f"{output.name}.sh"
        args = finetune_args(model_path, style, meta, output, cfg)
        write_script(script, train_script(folder, num_gpus, per_device, args, meta))
        log = output / "training_log.txt"
        offset = log.stat().st_size if log.exists() else 0
        LOG.info("InternVL fine-tune %s in %s; output streams into %s", script, env_label(env), log)
        env.run(["bash", str(script)], log_path=log, cwd=str(folder))
        metrics = train_metrics(read_log(log, offset))
        if not (output / "config.json").is_file():
            raise RuntimeError(
                f"InternVL's fine-tune finished but wrote no model (config.json) to "
                f"{str(output)!r}; see {log}"
            )
        return str(output), {
            **metrics,
            "model": Path(model_path).name,
            "conv_style": style,
            "num_gpus": num_gpus,
            "backend": "internvl_scripts",
            "script": str(script),
            "log_path": str(log),
            "seconds": round(time.time() - started, 2),
        }

    return split_pairs(map_structure(source, one, Path(out_dir)))


def run_evaluate(
    cfg: Mapping[str, Any], out_dir: Path, env: Any = None, count: Callable[[], int] | None = None
) -> Any:
    """Score each checkpoint with InternVL's `evaluate.sh ... caption-coco --dynamic`; the
    scores in the shape of `ckpt_paths`/`checkpoint`."""
    problems = check_reference(cfg, "evaluate")
    if problems:
        raise ValueError("; ".join(problems))
    source = cfg.get("ckpt_paths") or cfg.get("checkpoint")
    if source in (None, "", [], {}):
        raise ValueError("ckpt_paths: missing; expected the trained model folder(s)")
    folder = chat_dir(cfg)
    num_gpus = gpus(cfg, count or gpu_count)
    env = env if env is not None else environment(cfg)

    def one(ckpt: Any, leaf_dir: Path) -> dict[str, Any]:
        path = Path(str(ckpt)).expanduser().resolve()
        if not path.is_dir():
            raise ValueError(f"ckpt_paths: {str(path)!r} is not a model folder")
        log = leaf_dir / "eval_log.txt"
        offset = log.stat().st_size if log.exists() else 0
        # evaluate.sh puts $(pwd)/ before the checkpoint it is given: pass it relative
        rel = os.path.relpath(path, folder)
        LOG.info("InternVL evaluation of %s; output streams into %s", path, log)
        env.run(
            ["bash", "evaluate.sh", rel, "caption-coco", "--dynamic"],
            log_path=log,
            cwd=str(folder),
            env_vars={"GPUS": str(num_gpus)},
        )
        scores = caption_scores(read_log(log, offset), str(log))
        return {
            **scores,
            "checkpoint": str(path),
            "backend": "internvl_scripts",
            "log_path": str(log),
        }

    return map_structure(source, one, Path(out_dir))
