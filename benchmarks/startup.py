"""Start-up cost: composing/printing a config vs. importing the heavy libraries a run needs.

    python benchmarks/startup.py [--repeat 5]

Prints the median wall time of each command and the ratio to `--cfg job`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "djsandbox --cfg job +pipeline=demo": [
        sys.executable,
        "-m",
        "djsandbox",
        "--cfg",
        "job",
        "+pipeline=demo",
    ],
    "djsandbox --help": [sys.executable, "-m", "djsandbox", "--help"],
    "dj-sandbox --list": [sys.executable, "-m", "djsandbox.cli", "--list"],
    "import lightning, data_juicer.core": [
        sys.executable,
        "-c",
        "import lightning, data_juicer.core",
    ],
}


def median_seconds(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = {name: median_seconds(cmd, args.repeat) for name, cmd in COMMANDS.items()}
    base = results["djsandbox --cfg job +pipeline=demo"]
    print(f"| command | median s (n={args.repeat}) | ratio to --cfg job |")
    print("|---|---|---|")
    for name, seconds in results.items():
        print(f"| `{name}` | {seconds:.2f} | {seconds / base:.1f}x |")


if __name__ == "__main__":
    main()
