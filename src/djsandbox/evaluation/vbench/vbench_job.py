"""Runs VBench inside its own environment; never imported by djsandbox (the sandbox runs it
as `python vbench_job.py ARGS.json` with that environment's Python).

ARGS.json: {device, local, mode, full_json, dimensions, jobs: [{videos_path, name,
output_path, prompts}], result_path}. Each job is one `VBench(...).evaluate(...)` call (the
Python API: the `vbench evaluate` CLI hard-codes NCCL/CUDA and exits 0 on failure); the
scores VBench saved are read back and written, with VBench's version, to `result_path`.
Under torchrun (WORLD_SIZE > 1) it joins VBench's process group first; rank 0 writes.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path


def declare_torchvision_ops():
    """torchvision's wheel may be built for CUDA where torch is CPU-only: its C extension does
    not load, and `import torchvision` then fails with "operator torchvision::nms does not
    exist". Declaring the two ops it registers fake kernels for lets it import (the ops
    themselves are never called by the dimensions run here). Returns the library, which must
    stay alive, or None when the extension loads."""
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0])
    for lib in sorted(folder.glob("_C*.so")):
        try:
            torch.ops.load_library(str(lib))
            return None
        except (OSError, RuntimeError):
            break
    library = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    print("vbench_job: torchvision's C extension does not load here; declared nms/qnms")
    return library


def per_video(entries):
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and "video_path" in entry:
            value = entry.get("video_results")
            if isinstance(value, bool):
                value = float(value)
            out.append({"video_path": entry["video_path"], "score": value})
    return out


def main(args_path):
    args = json.loads(Path(args_path).read_text(encoding="utf-8"))
    keep = declare_torchvision_ops()  # noqa: F841  (kept alive until the end)
    import vbench
    from vbench import VBench
    from vbench.distributed import dist_init, get_rank

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist_init()
    full_json = args.get("full_json") or os.path.join(
        os.path.dirname(vbench.__file__), "VBench_full_info.json"
    )
    version = "unknown"
    try:
        from importlib.metadata import version as package_version

        version = package_version("vbench")
    except Exception:  # noqa: BLE001
        pass
    results = []
    for job in args["jobs"]:
        bench = VBench(args["device"], full_json, job["output_path"])
        bench.evaluate(
            videos_path=job["videos_path"],
            name=job["name"],
            prompt_list=job.get("prompts") or [],
            dimension_list=args["dimensions"],
            local=bool(args.get("local")),
            mode=args["mode"],
        )
        saved = os.path.join(job["output_path"], job["name"] + "_eval_results.json")
        if get_rank() != 0:
            continue
        raw = json.loads(Path(saved).read_text(encoding="utf-8"))
        scores, videos = {}, {}
        for dim in args["dimensions"]:
            value = raw.get(dim)
            if not isinstance(value, list) or not value:
                raise SystemExit(f"vbench_job: {saved} has no result for {dim!r}")
            scores[dim] = float(value[0])
            videos[dim] = per_video(value[1] if len(value) > 1 else [])
        results.append(
            {"name": job["name"], "eval_results": saved, "scores": scores, "videos": videos}
        )
    if get_rank() == 0:
        out = {"vbench_version": version, "device": args["device"], "jobs": results}
        tmp = args["result_path"] + ".tmp"
        Path(tmp).write_text(json.dumps(out), encoding="utf-8")
        os.replace(tmp, args["result_path"])
        print(f"vbench_job: results of {len(results)} evaluation(s) in {args['result_path']}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python vbench_job.py ARGS.json")
    main(sys.argv[1])
