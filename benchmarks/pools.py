"""Data pool benchmark: construction, combination, downsampling and merging, 100k to 10M rows.

Builds a synthetic analysed dataset (an `id`, a `text` of about 200 characters and 8 numeric
stats under `__dj__stats__`, as JSONL; generated a million rows at a time) and times each
component end to end (loading included) in a fresh child process, reporting wall time, the
child's CPU time (user + system), rows/s and its peak RSS.

    .venv/bin/python benchmarks/pools.py --rows 100000 1000000
    .venv/bin/python benchmarks/pools.py --rows 10000000 --formats jsonl \
        --steps downsampling merging --discard-pools      # 10M rows: 4.6 GB in, 37 GB of pools

Each step is one `python benchmarks/pools.py --step NAME ...` child, so the peak memory of a
step is its own (os.wait4 gives each child's rusage). `--src DIR` runs the components of
another source tree (e.g. an older checkout's `src`) for a side-by-side comparison.
`--discard-pools` deletes construction's pools once each is complete (renamed into place),
except the three the later steps read, so 10M rows need ~10 GB of disk instead of ~42 GB.
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
    """Synthetic analysed rows as JSONL, a million at a time (bounded memory at 10M rows)."""
    from djsandbox.atomic import atomic_open
    from djsandbox.data.pools import json_text

    step = 1_000_000
    with atomic_open([path], "wb") as (fh,):
        for start in range(0, rows, step):
            table = make_table(min(step, rows - start), start, seed + start)
            for chunk in json_text.jsonl_lines(table).chunks:
                fh.write(chunk.buffers()[2].to_pybytes()[: _end(chunk)])


def _end(chunk: Any) -> int:
    import numpy as np

    offs = np.frombuffer(chunk.buffers()[1], dtype=np.int64, count=chunk.offset + len(chunk) + 1)
    return int(offs[-1])


def make_table(rows: int, first_id: int, seed: int) -> Any:
    """`rows` synthetic analysed rows, generated with numpy/pyarrow (no Python object per row)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ", dtype=np.uint8)
    lengths = rng.integers(150, 251, rows)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    chars = alphabet[rng.integers(0, len(alphabet), int(offsets[-1]))]
    text = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(chars))
    ids = pa.array(
        np.char.add("s", np.arange(first_id, first_id + rows).astype(str)).astype(object)
    )
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
    return pa.table({"id": ids, "text": text, "__dj__stats__": struct})


def discard_pools(out: Path) -> Any:
    """Delete construction's finished pools (not the top third of 3 stats, which the later
    steps read) while it runs; returns a function that stops and does a last sweep."""
    import threading

    done = threading.Event()

    def sweep() -> None:
        for p in out.glob("*/*.*"):  # finished pools only: temporaries are in hidden folders
            keep = p.stem.endswith("_2") and p.parent.name in sorted(STATS)[:3]
            if not keep and p.is_file():
                p.unlink()

    def loop() -> None:
        while not done.wait(0.5):
            sweep()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join()
        sweep()

    return stop


def step(name: str, data: Path, work: Path, fmt: str, discard: bool = False) -> dict[str, Any]:
    """One component run, as the engine would call it."""
    from djsandbox.data.pools import combination, construction, downsampling, merging

    out = work / f"{name}_{fmt}"
    three = top_three(work)
    if name == "construction":
        stop = discard_pools(out) if discard else None
        try:
            res = construction.run(
                {"dataset_path": str(data), "export_path": str(out), "export_format": fmt}, out
            )
        finally:
            if stop is not None:
                stop()
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


def top_three(work: Path) -> list[Path]:
    """The top-third pools of the first 3 stats (by name): the input of the later steps."""
    pools = sorted((work / "construction_jsonl").rglob("*.jsonl"))
    return [p for p in pools if p.stem.endswith("_2") and p.parent.name in sorted(STATS)[:3]]


def timed_child(args: list[str], src: Path | None = None) -> tuple[float, float, float, Any]:
    """(wall seconds, CPU seconds, peak RSS MiB, child's JSON output) of one child process."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {args} failed with {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, json.loads(out.strip().splitlines()[-1])


def input_rows(name: str, rows: int, work: Path) -> int:
    if name == "construction":
        return rows
    from djsandbox.data.pools.line_file import LineFile

    return sum(len(LineFile(p)) for p in top_three(work))


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
    ap.add_argument("--src", type=Path, default=None, help="run the components of this src dir")
    ap.add_argument(
        "--discard-pools",
        action="store_true",
        help="delete construction's pools as they finish, but the three later steps read",
    )
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--fmt", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.step:  # child
        if a.step == "generate":
            make_dataset(a.rows[0], a.data)
            print(json.dumps({"bytes": a.data.stat().st_size}))
        else:
            print(json.dumps(step(a.step, a.data, a.work, a.fmt, a.discard_pools)))
        return

    root = a.work or Path(tempfile.mkdtemp(prefix="pools_bench_"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, scratch {root}, src {a.src}")
    print("| rows | step | format | wall s | CPU s | rows/s | peak RSS MiB | files | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rows in a.rows:
        work = root / f"r{rows}"
        work.mkdir(parents=True, exist_ok=True)
        data = work / "analysed.jsonl"
        if not data.exists():
            timed_child(["--step", "generate", "--rows", str(rows), "--data", str(data)])
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
            load = os.getloadavg()[0]
            args = ["--step", name, "--data", str(data), "--work", str(work), "--fmt", fmt]
            if a.discard_pools:
                args.append("--discard-pools")
            wall, cpu, peak, info = timed_child(args, a.src)
            print(
                f"| {rows:,} | {name} | {fmt} | {wall:.1f} | {cpu:.1f} | {n_in / wall:,.0f} "
                f"| {peak:.0f} | {info['files']} | {load:.1f} |",
                flush=True,
            )
        if a.work is None:
            shutil.rmtree(work)
    if a.work is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
