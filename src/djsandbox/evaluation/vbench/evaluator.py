"""DataEvaluator `vbench_video_evaluator`: the real `vbench` package scores generated (or
real) videos in its own environment, and the sandbox reads the scores back.

The config is checked first (`checks.py`: dimensions, checkpoint files, GPUs), the videos are
laid out the way VBench reads them (`videos.py`), the environment is built once and reused
(`environment.py`), and `vbench_job.py` runs in it with a JSON argument file, its output
streamed into `<job folder>/vbench.log`. Returns what the reference returns, the mean of the
per-dimension scores, then the details: the per-dimension scores, VBench's normalised
scores and its quality/semantic/total scores where every dimension they need was scored
(`scores.py`), and where the files are. `videos_path` may be a list or a mapping of them
(one set of videos per pool): the results then have its shape, and VBench starts once.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from ...atomic import atomic_write_text
from ...models.captioning.internvl_scripts import claim_folder
from ...resource_problems import gpu_visible
from ...shapes import map_structure, split_pairs
from .checks import dimensions, mode_of, raise_config_problems
from .dimensions import vbench_cache_dir
from .environment import vbench_env
from .scores import summarize
from .videos import VideoSet, prepare_videos

LOG = logging.getLogger(__name__)
DEFAULT_EVAL_NAME = "vbench_evaluator"  # the reference's
JOB_SCRIPT = Path(__file__).with_name("vbench_job.py")


def _num_gpus(cfg: Mapping[str, Any]) -> int:
    """`num_gpus`; unset: one GPU when one is visible, else the CPU (0)."""
    value = cfg.get("num_gpus")
    return int(value) if value is not None else (1 if gpu_visible() else 0)


def _command(num_gpus: int, args_path: Path) -> list[str]:
    if num_gpus > 1:  # VBench's own multi-GPU path: one process per GPU (torchrun)
        return [
            "python",
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={num_gpus}",
            str(JOB_SCRIPT),
            str(args_path),
        ]
    return ["python", str(JOB_SCRIPT), str(args_path)]


def _prompt_from_name(path: str) -> str:
    stem = Path(path).stem
    head, _, tail = stem.rpartition("-")
    return head if head and tail.isdigit() else stem


def _per_video(videos: VideoSet, found: Mapping[str, list[dict[str, Any]]]) -> list[dict]:
    """One row per video: the video it stands for, its prompt, its score per dimension."""
    rows: dict[str, dict[str, Any]] = {}
    for dim, entries in found.items():
        for entry in entries:
            seen = str(entry["video_path"])
            name = Path(seen).name
            row = rows.setdefault(
                seen,
                {
                    "video": videos.sources.get(seen, seen),
                    "prompt": videos.prompts.get(name) or _prompt_from_name(seen),
                },
            )
            row[dim] = entry["score"]
    return list(rows.values())


def _details(
    job: Mapping[str, Any], videos: VideoSet, output: Path, cfg: Mapping[str, Any], extra: dict
) -> dict[str, Any]:
    scored = {dim: len(entries) for dim, entries in job["videos"].items()}
    unread = [dim for dim, n in scored.items() if n == 0]
    if unread:
        raise RuntimeError(
            f"VBench read none of the {videos.count} video(s) in {videos.path!r} for "
            f"{', '.join(unread)} (unreadable or empty files); see {extra['log_path']}"
        )
    summary = summarize(job["scores"])
    name = str(cfg.get("eval_name") or DEFAULT_EVAL_NAME)
    per_video = output / f"{name}_per_video.jsonl"
    rows = _per_video(videos, job["videos"])
    atomic_write_text(per_video, "".join(json.dumps(r) + "\n" for r in rows))
    details = {
        **summary,
        "eval_name": name,
        "videos_path": videos.path,
        "videos": videos.count,
        "videos_scored": scored,
        "per_video_path": str(per_video),
        "eval_results_path": job["eval_results"],
        "output_path": str(output),
        **extra,
    }
    merged = output / f"{name}_merged_results.json"
    details["merged_results_path"] = str(merged)
    atomic_write_text(merged, json.dumps(details, indent=1))
    return details


def run_vbench(cfg: Mapping[str, Any], out_dir: Path) -> tuple[Any, Any]:
    """Score `videos_path` on `dimension_list` with VBench; (mean score, details), each in
    the shape of `videos_path`."""
    started = time.time()
    cfg = dict(cfg)
    raise_config_problems(cfg)
    out_dir = Path(out_dir)
    base = (
        Path(str(cfg["output_path"])).expanduser().resolve()
        if cfg.get("output_path")
        else out_dir / "vbench"
    )
    name = str(cfg.get("eval_name") or DEFAULT_EVAL_NAME)
    planned: list[tuple[VideoSet, Path]] = []

    def plan(leaf: Any, folder: Path) -> int:
        output = base / folder.relative_to(out_dir)
        claim_folder(output, "output_path")
        planned.append((prepare_videos(str(leaf), folder), output))
        return len(planned) - 1

    shape = map_structure(cfg["videos_path"], plan, out_dir)
    env = vbench_env(cfg)
    num_gpus = _num_gpus(cfg)
    args_path = out_dir / "vbench_args.json"
    result_path = out_dir / "vbench_result.json"
    log_path = out_dir / "vbench.log"
    result_path.unlink(missing_ok=True)  # an earlier attempt's, in this job's own folder
    args = {
        "device": "cuda" if num_gpus else "cpu",
        "local": cfg.get("load_ckpt_from_local") is True,
        "mode": mode_of(cfg),
        "full_json": str(Path(cfg["full_json_dir"]).expanduser().resolve())
        if cfg.get("full_json_dir")
        else None,
        "dimensions": dimensions(cfg),
        "jobs": [
            {
                "videos_path": videos.path,
                "name": name,
                "output_path": str(output),
                "prompts": videos.prompts,
            }
            for videos, output in planned
        ],
        "result_path": str(result_path),
    }
    atomic_write_text(args_path, json.dumps(args, indent=1))
    LOG.info(
        "VBench %s on %d video set(s) in %s; log %s",
        args["dimensions"],
        len(planned),
        env,
        log_path,
    )
    env.run(
        _command(num_gpus, args_path),
        log_path=log_path,
        env_vars={
            "VBENCH_CACHE_DIR": str(vbench_cache_dir(cfg.get("vbench_cache_dir"))),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        },
    )
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
        jobs = result["jobs"]
    except (OSError, ValueError, KeyError) as exc:
        raise RuntimeError(
            f"VBench finished but wrote no readable result ({result_path}: {exc}); see {log_path}"
        ) from exc
    extra = {
        "dimensions": args["dimensions"],
        "mode": args["mode"],
        "device": args["device"],
        "vbench_version": result.get("vbench_version"),
        "environment": str(env.path),
        "environment_built": bool(env.built),
        "log_path": str(log_path),
        "seconds": round(time.time() - started, 2),
    }
    outcomes = [
        _details(job, videos, output, cfg, extra)
        for job, (videos, output) in zip(jobs, planned, strict=True)
    ]
    pairs = map_structure(shape, lambda i, _f: (outcomes[i]["mean_score"], outcomes[i]), out_dir)
    return split_pairs(pairs)
