"""`easyanimate` ModelInferExecutor: text-to-video generation with a base and its LoRA.

`run_infer(cfg, out_dir)` generates `video_num_per_prompt` clips for every prompt of
`prompts_path` (`prompts.py`) with each LoRA folder in `checkpoint` (one path, a list, or
pools per stat; none: the base alone), through diffusers' `EasyAnimatePipeline`. Per
checkpoint it writes `videos/<prompt>-<k>.mp4` (VBench's custom-input names; the model's own
size, 16 frames) and `generated.jsonl` (Data-Juicer video rows plus `prompt`, `sample` and the
`seed` of that clip's noise), and returns (videos folder, JSONL), in the checkpoint's shape.
Sample k of prompt i starts from the noise of seed `seed + i * video_num_per_prompt + k`, so a
clip does not depend on batching. The reference's keys work too (`reference_keys`); with
`env_name`/`easyanimate_home` EasyAnimate's `infer_lora.sh` runs instead (`scripts.py`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from djsandbox.atomic import atomic_write_text
from djsandbox.progress import report
from djsandbox.shapes import map_structure, split_pairs

from .checks import check_infer
from .prompts import Prompt, file_stem, read_prompts
from .reference_keys import in_process_cfg, uses_scripts
from .settings import resolve_model

LOG = logging.getLogger(__name__)
VIDEOS_DIR, JSONL = "videos", "generated.jsonl"
DEFAULTS_TINY = {"num_inference_steps": 20, "guidance_scale": 1.0}
DEFAULTS_REAL = {"num_inference_steps": 50, "guidance_scale": 6.0}


def load_generator(cfg: Mapping[str, Any], checkpoint: Any) -> tuple[Any, dict[str, Any]]:
    """(pipeline with the LoRA loaded, resolved model settings) for one checkpoint."""
    import torch

    from .base import base_key, ensure_base, load_pipeline
    from .lora import load_lora, read_lora_info

    if checkpoint and Path(str(checkpoint)).expanduser().is_file():
        checkpoint = Path(str(checkpoint)).expanduser().parent  # the reference's lora_path file
    info = read_lora_info(Path(str(checkpoint))) if checkpoint else None
    user_model = cfg.get("model") or (info or {}).get("model_settings")
    settings = resolve_model(user_model)
    if info is not None and info.get("base_key") != base_key(settings):
        raise ValueError(
            f"checkpoint: {str(checkpoint)!r} was trained on another base model than `model` "
            f"({info.get('model')}); leave `model` unset to use the checkpoint's own"
        )
    base, _ = ensure_base(settings)
    cuda = torch.cuda.is_available() and cfg.get("num_gpus") != 0
    dtype = settings["dtype"] if cuda and cfg.get("precision") != "fp32" else "float32"
    pipe = load_pipeline(base, dtype, settings.get("transformer_path"))
    if info is not None:
        load_lora(pipe.transformer, Path(str(checkpoint)), info["lora"])
    if cuda:
        pipe.to("cuda")
    pipe.transformer.eval()
    return pipe, settings


def _embeds(pipe: Any, texts: list[str], length: int, guidance: bool) -> tuple[Any, ...]:
    import torch

    with torch.no_grad():
        return pipe.encode_prompt(
            prompt=texts,
            do_classifier_free_guidance=guidance,
            negative_prompt=[""] * len(texts) if guidance else None,
            max_sequence_length=length,
            device=pipe._execution_device,
        )


def generate(
    pipe: Any,
    settings: Mapping[str, Any],
    prompts: list[Prompt],
    cfg: Mapping[str, Any],
    videos_dir: Path,
) -> list[dict[str, Any]]:
    """Write every clip into `videos_dir`; the JSONL rows (Data-Juicer format)."""
    import numpy as np
    import torch

    from djsandbox.data.converters.common import special_tokens
    from djsandbox.data.video_io import write_mp4

    defaults = DEFAULTS_TINY if settings["size"] == "tiny" else DEFAULTS_REAL
    k = int(cfg.get("video_num_per_prompt") or 1)
    seed = int(cfg.get("seed", 42))
    steps = int(cfg.get("num_inference_steps") or defaults["num_inference_steps"])
    scale = cfg.get("guidance_scale")
    scale = float(defaults["guidance_scale"] if scale is None else scale)
    batch = max(1, int(cfg.get("batch_size") or 8) // k) if k <= 8 else 1
    size, frames = int(settings["sample_size"]), int(settings["num_frames"])
    fps = int(cfg.get("fps") or 8)
    tokens = special_tokens()
    rows: list[dict[str, Any]] = []
    total = len(prompts) * k
    for start in range(0, len(prompts), batch):
        part = prompts[start : start + batch]
        pe, ne, pm, nm = _embeds(
            pipe, [p.text for p in part], int(settings["max_sequence_length"]), scale > 1
        )
        seeds = [seed + (start + i) * k + j for i in range(len(part)) for j in range(k)]
        gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
        extra = {}
        if scale > 1:
            extra = {
                "negative_prompt_embeds": ne.repeat_interleave(k, 0),
                "negative_prompt_attention_mask": nm.repeat_interleave(k, 0),
            }
        with torch.no_grad():
            video = pipe(
                prompt_embeds=pe.repeat_interleave(k, 0),
                prompt_attention_mask=pm.repeat_interleave(k, 0),
                num_frames=frames + 1,  # the first frame is the VAE's lone causal chunk
                height=size,
                width=size,
                num_inference_steps=steps,
                guidance_scale=scale,
                generator=gens,
                output_type="np",
                **extra,
            ).frames
        clips = (np.clip(np.asarray(video)[:, 1:], 0, 1) * 255).round().astype(np.uint8)
        for n, clip in enumerate(clips):
            prompt, sample = part[n // k], n % k
            path = videos_dir / f"{file_stem(prompt.text)}-{sample}.mp4"
            write_mp4(path, clip, fps=fps, overwrite=True)  # the folder is this job's own
            rows.append(
                {
                    "videos": [str(path.resolve())],
                    "text": f"{tokens.video} {prompt.text} {tokens.eoc}",
                    "id": f"{prompt.fields.get('id', start + n // k)}-{sample}",
                    **{f: v for f, v in prompt.fields.items() if f != "id"},
                    "prompt": prompt.text,
                    "sample": sample,
                    "seed": seeds[n],
                }
            )
        report(len(rows), total, "clips generated")
    return rows


def infer_one(cfg: Mapping[str, Any], checkpoint: Any, job_dir: Path) -> tuple[str, str]:
    """Generate with one checkpoint; (videos folder, generated JSONL)."""
    from ..captioning.cpu import cpu_threads
    from ..captioning.internvl_scripts import claim_folder

    started = time.time()
    prompts = read_prompts(cfg["prompts_path"], cfg.get("split"), cfg.get("max_prompts"))
    videos_dir = Path(str(cfg.get("output_dir") or job_dir / VIDEOS_DIR)).expanduser().resolve()
    claim_folder(videos_dir, "output_dir")
    pipe, settings = load_generator(cfg, checkpoint)
    threads = cfg.get("cpu_threads") or (1 if settings["size"] == "tiny" else None)
    with cpu_threads(threads):
        rows = generate(pipe, settings, prompts, cfg, videos_dir)
    jsonl = Path(job_dir) / JSONL
    atomic_write_text(jsonl, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    seconds = round(time.time() - started, 2)
    metrics = {"prompts": len(prompts), "clips": len(rows), "seconds": seconds}
    metrics["checkpoint"] = str(checkpoint) if checkpoint else None
    atomic_write_text(Path(job_dir) / "generate_metrics.json", json.dumps(metrics, indent=2) + "\n")
    LOG.info("easyanimate: %d clips for %d prompts in %.1f s", len(rows), len(prompts), seconds)
    return str(videos_dir), str(jsonl)


def run_infer(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    """(videos folder(s), generated JSONL(s)) per checkpoint, in the shape of `checkpoint`."""
    if uses_scripts(cfg):
        from .scripts import run_infer as run_script

        return run_script(cfg, out_dir)
    cfg = in_process_cfg(cfg, "infer")
    problems = check_infer(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    if not cfg.get("prompts_path"):
        raise ValueError(
            "prompts_path: missing; expected the prompts to generate for (a Data-Juicer or "
            "clips JSONL, e.g. the test split, or VBench's prompt JSON)"
        )
    checkpoint = cfg.get("checkpoint")
    if checkpoint in (None, "", [], {}):
        return infer_one(cfg, None, Path(out_dir))
    if cfg.get("output_dir") and not isinstance(checkpoint, str):
        raise ValueError("output_dir: one folder for several checkpoints; leave it unset")
    return split_pairs(map_structure(checkpoint, lambda c, d: infer_one(cfg, c, d), Path(out_dir)))
