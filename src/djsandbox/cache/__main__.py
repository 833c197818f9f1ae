"""`python -m djsandbox.cache ls|prune`: what the job cache holds, and trimming it.

python -m djsandbox.cache ls                      # entries: size, age, last use, job
python -m djsandbox.cache prune --older-than 7d   # unused for a week
python -m djsandbox.cache prune --max-size 10G    # least recently used first
python -m djsandbox.cache prune --all             # everything (no run may be using it)
"""

from __future__ import annotations

import argparse
import sys

from . import cache_root
from .listing import (
    choose,
    entries,
    human_age,
    human_size,
    now,
    parse_age,
    parse_size,
    remove,
    remove_stale_temporaries,
)


def _ls() -> int:
    found = entries()
    moment = now()
    print(f"job cache: {cache_root()}")
    if not found:
        print("(empty)")
        return 0
    print(f"{'key':<12}  {'size':>10}  {'files':>5}  {'age':>6}  {'used':>6}  {'ran':>7}  job")
    for e in reversed(found):  # most recently used first
        print(
            f"{e.key[:12]}  {human_size(e.size):>10}  {e.files:>5}  "
            f"{human_age(moment - e.created):>6}  {human_age(moment - e.used):>6}  "
            f"{e.elapsed:>6.1f}s  {e.label} [{e.hook}]"
        )
    total = sum(e.size for e in found)
    print(f"{len(found)} entries, {human_size(total)}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    if not (args.all or args.older_than or args.max_size):
        print(
            "prune: say what to remove: --older-than AGE, --max-size SIZE or --all", file=sys.stderr
        )
        return 2
    try:
        older = 0.0 if args.all else (parse_age(args.older_than) if args.older_than else None)
        size = parse_size(args.max_size) if args.max_size else None
    except ValueError as exc:
        print(f"prune: {exc}", file=sys.stderr)
        return 2
    moment = now()
    chosen = choose(entries(), -1.0 if args.all else older, size, moment)
    freed, busy = 0, 0
    for entry in chosen:
        if args.dry_run:
            print(f"would remove {entry.key[:12]} {human_size(entry.size)} {entry.label}")
        elif remove(entry):
            freed += entry.size
        else:
            busy += 1
    temporaries = 0 if args.dry_run else remove_stale_temporaries(moment)
    verb = "would free" if args.dry_run else "freed"
    done = len(chosen) - busy
    print(
        f"prune: {done} entries removed, {verb} {human_size(freed if not args.dry_run else sum(e.size for e in chosen))}"
        + (f"; {busy} in use now, kept" if busy else "")
        + (f"; {temporaries} leftover temporary folders removed" if temporaries else "")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m djsandbox.cache",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ls", help="list the entries, most recently used first")
    prune = sub.add_parser("prune", help="remove entries by age of last use or total size")
    prune.add_argument("--older-than", help="unused for longer than this (30m, 12h, 7d, 2w)")
    prune.add_argument("--max-size", help="remove least recently used until under (500M, 10G)")
    prune.add_argument("--all", action="store_true", help="remove every entry not in use")
    prune.add_argument("--dry-run", action="store_true", help="only say what would go")
    args = parser.parse_args(argv)
    return _ls() if args.command == "ls" else _prune(args)


if __name__ == "__main__":
    sys.exit(main())
