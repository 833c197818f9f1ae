"""The sandbox's own share of a run: the demo through `python -m djsandbox` vs the same
Data-Juicer and Lightning calls made directly in one script, side by side in one run.

    python benchmarks/overhead.py [--repeat 1] [--trainer cpu] [--work /tmp/overhead]

Each variant runs in a fresh process (wall time includes Python start-up and imports):

- `direct`: one script calling what the demo's jobs call (`analyze`, `refine_recipe_k_sigma`
  + `write_recipe`, `process`, `run_train` x2, `run_evaluate` x2), with the demo's composed
  settings; no Hydra, validation, run state or report.
- `sandbox`: `python -m djsandbox cache=false` (every job runs). Its wall time is split with the
  run state's job timestamps and the time its stderr lines arrive: start-up (interpreter,
  Hydra compose), validation (config, inputs, recipes; loads Data-Juicer), the jobs themselves,
  between jobs (state writes, fingerprints, job folders), and after the last job (summary,
  report).
- `sandbox, cache first` / `sandbox, cache rerun`: the same command with the job cache on, in
  a fresh cache folder, then once more (a rerun of an unchanged demo).

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

DIRECT = r"""
import json, sys, time
t0 = time.time()
s = json.loads(sys.argv[1])
from pathlib import Path
from djsandbox.data.dj_analyze import analyze
from djsandbox.data.dj_process import process
from djsandbox.data.dj_runtime import prepare_offline_env, write_recipe
from djsandbox.data.k_sigma import refine_recipe_k_sigma
from djsandbox.models.text_classifier import run_evaluate, run_train
from djsandbox.paths import load_config_file
prepare_offline_env()
work = Path(s["work"]); v = s["vars"]; marks = {"imports": time.time() - t0}
def mark(name, t):
    marks[name] = time.time() - t
recipe = load_config_file(Path(v["recipe"]))
train = {"type": "text_classifier", "trainer": s["trainer"], "max_epochs": v["epochs"],
         "seed": v["seed"], "seeds": v["seeds"]}
t = time.time()
ckpt, _ = run_train({**train, "dataset_path": v["train"]}, work / "baseline_train")
mark("baseline train", t); t = time.time()
run_evaluate({"checkpoint": ckpt, "dataset_path": v["test"]}, work / "baseline_test")
mark("baseline test", t); t = time.time()
_, summary = analyze({**recipe, "dataset_path": v["train"],
                      "export_path": str(work / "refined/analysed.jsonl")},
                     work_dir=work / "analysis")
mark("analysis", t); t = time.time()
refined, _ = refine_recipe_k_sigma({**recipe, "dataset_path": v["train"],
                                    "export_path": str(work / "refined/processed.jsonl")},
                                   summary["stats"], k=float(v["k"]))
write_recipe(refined, work / "refined/k_sigma_recipe.yaml")
mark("k-sigma", t); t = time.time()
out = process(refined, work_dir=work / "process")
mark("process", t); t = time.time()
ckpt, _ = run_train({**train, "dataset_path": out["export_path"]}, work / "refined_train")
mark("refined train", t); t = time.time()
run_evaluate({"checkpoint": ckpt, "dataset_path": v["test"]}, work / "refined_test")
mark("refined test", t)
print(json.dumps(marks))
"""


def demo_settings(trainer: str) -> dict:
    """The demo's composed values (vars, trainer group), as the sandbox would resolve them."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import djsandbox.__main__ as app
    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    conf = Path(app.__file__).parent / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base=None):
        cfg = compose("sandbox", overrides=["+pipeline=demo", f"trainer={trainer}"])
    return {
        "vars": OmegaConf.to_container(cfg.vars, resolve=True),
        "trainer": OmegaConf.to_container(cfg.trainer, resolve=True),
    }


def run_direct(work: Path, settings: dict) -> dict:
    work.mkdir(parents=True)
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", DIRECT, json.dumps({**settings, "work": str(work)})],
        capture_output=True,
        text=True,
    )
    wall = time.time() - start
    if proc.returncode:
        raise SystemExit(f"direct script failed:\n{proc.stderr[-3000:]}")
    marks = json.loads(proc.stdout.strip().splitlines()[-1])
    jobs = sum(v for k, v in marks.items() if k != "imports")
    return {"wall": wall, "jobs": jobs, "start-up": wall - jobs}


def run_sandbox(work: Path, trainer: str, cache: bool, env: dict) -> dict:
    cmd = [sys.executable, "-m", "djsandbox", f"work_dir={work}", f"trainer={trainer}"]
    cmd += [] if cache else ["cache=false"]
    start = time.time()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    ) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((time.time(), line))
    wall = time.time() - start
    if proc.returncode:
        raise SystemExit(f"sandbox run failed:\n{''.join(line for _, line in lines)[-3000:]}")
    jobs = list(json.loads((work / "sandbox_state.json").read_text())["jobs"].values())
    first = min(j["started"] for j in jobs)
    last = max(j["finished"] for j in jobs)
    inside = sum(j["elapsed"] for j in jobs)
    checking = next((t for t, line in lines if "checking the config" in line), start)
    return {
        "wall": wall,
        "start-up": checking - start,
        "validation": first - checking,
        "jobs": inside,
        "between jobs": (last - first) - inside,
        "summary + report": start + wall - last,
        "hits": sum(1 for j in jobs if (j.get("notes") or {}).get("cache") == "hit"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trainer", default="cpu", help="trainer group (debug: one batch)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/djsandbox-overhead"))
    parser.add_argument("--no-cache-runs", action="store_true", help="skip the cache runs")
    args = parser.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    env = {**os.environ, "DJSANDBOX_CACHE_DIR": str(args.work / "cache")}
    rows = {"direct": run_direct(args.work / "direct", demo_settings(args.trainer))}
    rows["sandbox"] = run_sandbox(args.work / "sandbox", args.trainer, False, env)
    if not args.no_cache_runs:
        rows["sandbox, cache first"] = run_sandbox(args.work / "first", args.trainer, True, env)
        rows["sandbox, cache rerun"] = run_sandbox(args.work / "rerun", args.trainer, True, env)
    cols = ["wall", "start-up", "validation", "jobs", "between jobs", "summary + report"]
    print("| variant | " + " | ".join(f"{c} s" for c in cols) + " | vs direct | cache hits |")
    print("|---|" + "---|" * (len(cols) + 2))
    base = rows["direct"]["wall"]
    for name, row in rows.items():
        cells = [f"{row[c]:.1f}" if c in row else "" for c in cols]
        share = f"{(row['wall'] - base) / base:+.1%}" if name != "direct" else ""
        print(f"| {name} | " + " | ".join(cells) + f" | {share} | {row.get('hits', '')} |")
    sandbox = rows["sandbox"]
    own = sandbox["wall"] - sandbox["jobs"]
    print(
        f"\nsandbox's own time: {own:.1f} s of {sandbox['wall']:.1f} s; more than the direct "
        f"script: {sandbox['wall'] - base:+.1f} s ({(sandbox['wall'] - base) / base:+.1%})"
    )
    if "sandbox, cache rerun" in rows:
        first, rerun = rows["sandbox, cache first"]["wall"], rows["sandbox, cache rerun"]["wall"]
        print(f"rerun with cache: {rerun:.1f} s = {rerun / first:.1%} of the first run")


if __name__ == "__main__":
    main()
