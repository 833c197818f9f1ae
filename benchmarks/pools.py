"""Data pool benchmark: construction, combination, downsampling and merging at 100k / 1M rows.

Builds a synthetic analysed dataset (an `id`, a `text` of about 200 characters and 8 numeric
stats under `__dj__stats__`, as JSONL) and times each component end to end (loading
included) in a fresh child process, reporting wall time, rows/s and the child's peak RSS.

    .venv/bin/python benchmarks/pools.py --rows 100000 1000000

Each step is one `python benchmarks/pools.py --step NAME ...` child, so the peak memory of a
step is its own (os.wait4 gives each child's rusage).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STATS = [
    "text_len",
    "num_words",
    "alnum_ratio",
    "special_char_ratio",
    "char_rep_ratio",
    "word_rep_ratio",
    "avg_line_length",
    "max_line_length",
]


def make_dataset(rows: int, path: Path, seed: int = 0) -> None:
    """Synthetic analysed rows, generated with numpy/pyarrow (no Python object per row)."""
    import numpy as np
    import pyarrow as pa

    from djsandbox.data.pools import io

    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ", dtype=np.uint8)
    lengths = rng.integers(150, 251, rows)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    chars = alphabet[rng.integers(0, len(alphabet), int(offsets[-1]))]
    text = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(chars))
    ids = pa.array(np.char.add("s", np.arange(rows).astype(str)).astype(object))
    stats = {
        "text_len": lengths,
        "num_words": rng.integers(20, 60, rows),
        "alnum_ratio": rng.random(rows),
        "special_char_ratio": rng.random(rows) * 0.2,
        "char_rep_ratio": rng.random(rows) * 0.1,
        "word_rep_ratio": rng.random(rows) * 0.1,
        "avg_line_length": rng.normal(180, 20, rows),
        "max_line_length": rng.integers(150, 251, rows),
    }
    struct = pa.StructArray.from_arrays([pa.array(stats[k]) for k in STATS], names=STATS)
    table = pa.table({"id": ids, "text": text, "__dj__stats__": struct})
    io.write_table(table, path)


def step(name: str, data: Path, work: Path, fmt: str) -> dict[str, Any]:
    """One component run, as the engine would call it."""
    from djsandbox.data.pools import combination, construction, downsampling, merging

    out = work / f"{name}_{fmt}"
    pools = sorted((work / "construction_jsonl").rglob("*.jsonl"))
    three = [p for p in pools if p.stem.endswith("_2")][:3]  # top pools of 3 stats
    if name == "construction":
        res = construction.run(
            {"dataset_path": str(data), "export_path": str(out), "export_format": fmt}, out
        )
        return {"files": sum(len(v) for v in res.values())}
    if name == "combination":
        res = combination.run(
            {
                "dataset_path": [str(p) for p in three],
                "export_path": str(out),
                "export_format": fmt,
            },
            out,
        )
        return {"files": len(res)}
    if name == "downsampling":
        res = downsampling.run(
            {
                "dataset_path": [str(p) for p in three],
                "export_path": str(out),
                "export_format": fmt,
                "target_num_samples": None,
            },
            out,
        )
        return {"files": len(res)}
    if name == "merging":
        res = merging.run(
            {
                "dataset_path": [str(p) for p in three],
                "export_path": str(out),
                "export_format": fmt,
            },
            out,
        )
        return {"files": 1}
    raise SystemExit(f"unknown step {name}")


def timed_child(args: list[str]) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, peak RSS MiB, child's JSON output) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {args} failed with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, json.loads(out.strip().splitlines()[-1])


def input_rows(name: str, rows: int, work: Path) -> int:
    if name == "construction":
        return rows
    from djsandbox.data.pools import io

    three = [
        p for p in sorted((work / "construction_jsonl").rglob("*.jsonl")) if p.stem.endswith("_2")
    ][:3]
    return sum(io.read_table(p).num_rows for p in three)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--formats", nargs="+", default=["jsonl", "parquet"])
    ap.add_argument(
        "--steps",
        nargs="*",
        default=["combination", "downsampling", "merging"],
        help="steps after construction (which always runs: it makes their input)",
    )
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--fmt", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.step:  # child
        if a.step == "generate":
            make_dataset(a.rows[0], a.data)
            print(json.dumps({"bytes": a.data.stat().st_size}))
        else:
            print(json.dumps(step(a.step, a.data, a.work, a.fmt)))
        return

    root = a.work or Path(tempfile.mkdtemp(prefix="pools_bench_"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, scratch {root}")
    print("| rows | step | format | wall s | rows/s | peak RSS MiB | files |")
    print("|---|---|---|---|---|---|---|")
    for rows in a.rows:
        work = root / f"r{rows}"
        work.mkdir(parents=True, exist_ok=True)
        data = work / "analysed.jsonl"
        if not data.exists():
            _, _, info = timed_child(
                ["--step", "generate", "--rows", str(rows), "--data", str(data)]
            )
        size_mb = data.stat().st_size / 2**20
        print(f"<!-- {rows} rows: {size_mb:.0f} MiB of JSONL -->")
        # construction as JSONL first: the other steps take its pools as input
        order = [("construction", f) for f in a.formats] + [
            (s, f) for s in a.steps for f in a.formats
        ]
        for name, fmt in order:
            n_in = input_rows(name, rows, work)
            shutil.rmtree(work / f"{name}_{fmt}", ignore_errors=True)
            os.sync()  # the previous step's dirty pages are not this step's cost
            wall, peak, info = timed_child(
                ["--step", name, "--data", str(data), "--work", str(work), "--fmt", fmt]
            )
            print(
                f"| {rows:,} | {name} | {fmt} | {wall:.1f} | {n_in / wall:,.0f} | {peak:.0f} "
                f"| {info['files']} |",
                flush=True,
            )
        if a.work is None:
            shutil.rmtree(work)
    if a.work is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
