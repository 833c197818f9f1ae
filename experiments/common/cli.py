"""The options every study driver shares, and where its outputs go.

    python -m experiments.<study>.run            # full profile: results next to the README
    python -m experiments.<study>.run --quick    # under 5 minutes: results in runs/quick/
    python -m experiments.<study>.run --smoke    # seconds, for the tests: results in runs/smoke/

Run folders go to <study>/runs/<profile>/ (ignored by git). A finished run folder is reused
on the next invocation; --fresh deletes the profile's run folders first.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .publish import Stopwatch


@dataclass(frozen=True)
class Invocation:
    profile: str
    out_dir: Path  # results.md, results.json, figures
    runs_dir: Path  # run folders
    command: str
    watch: Stopwatch  # the study's wall time and load, from the invocation on


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the under-5-minutes profile")
    size.add_argument("--smoke", action="store_true", help="the seconds-long test profile")
    p.add_argument("--fresh", action="store_true", help="delete this profile's run folders first")
    p.add_argument("--out", type=Path, help="where results go (default: see module docstring)")
    p.add_argument(
        "--runs", type=Path, help="where run folders go (default: <study>/runs/<profile>)"
    )
    return p


def add_single_op_option(p: argparse.ArgumentParser) -> None:
    """For studies that start from study 1's results (see experiments.common.upstream)."""
    p.add_argument(
        "--single-op",
        type=Path,
        dest="single_op",
        help="study 1's results.json (default: the one of the same profile)",
    )


def invocation(
    args: argparse.Namespace, study_dir: Path, module: str, argv: list[str] | None
) -> Invocation:
    """Resolve the profile and folders; set up quiet logging; honour --fresh."""
    profile = "smoke" if args.smoke else "quick" if args.quick else "full"
    runs = (args.runs or study_dir / "runs" / profile).resolve()
    out = (args.out or (study_dir if profile == "full" else runs)).resolve()
    if args.fresh and runs.exists():
        shutil.rmtree(runs)
    runs.mkdir(parents=True, exist_ok=True)
    quiet_logging()
    shown = " ".join(argv if argv is not None else sys.argv[1:])
    return Invocation(profile, out, runs, f"python -m {module} {shown}".rstrip(), Stopwatch())


def _quiet_libraries(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.startswith("experiments")


def quiet_logging() -> None:
    """Progress lines from the drivers; warnings only from the libraries."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(
        level=logging.WARNING, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("experiments").setLevel(logging.INFO)
    # Lightning sets its own loggers to INFO when it is imported (later, lazily): filter its
    # chatter at the handlers instead of by logger level.
    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet_libraries)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
