"""`python -m djsandbox [+pipeline=NAME] [key=value ...]`: the Hydra app.

With no pipeline chosen, the embedded `demo` pipeline runs. `check=true` validates the run and
prints what would run, without running it. Heavy libraries are imported only once a job runs,
so `--help` and `--cfg job` stay fast.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from .app_help import register_help_resolver
from .config import register_configs
from .context import register_resolver

CONF_DIR = str(Path(__file__).resolve().parent / "conf")
DEFAULT_PIPELINE = "demo"


def asks_check(argv: list[str]) -> bool:
    """`check=true` on the command line: validate only (see djsandbox.check)."""
    return any(
        a.lstrip("+").lower() in ("check=true", "check=1", "check=yes", "check=on") for a in argv
    )


def quiet_check_run(argv: list[str]) -> list[str]:
    """For a check: one run (with -m, the sweep's base config: no study is opened or changed),
    no `.hydra/` folder and no log file in the run folder (logs go to stdout), so that the run
    folder stays empty and is removed after the check."""
    if not asks_check(argv):
        return argv
    if any(a in ("-m", "--multirun") for a in argv):
        print(
            "djsandbox: check=true checks one run: -m ignored (the sweep's base config is checked)",
            file=sys.stderr,
        )
        argv = first_of_each_sweep([a for a in argv if a not in ("-m", "--multirun")])
    extra = ["hydra.output_subdir=null"]
    if not any(a.lstrip("+").startswith("hydra/job_logging=") for a in argv):
        extra.append("hydra/job_logging=stdout")
    return argv + extra


def first_of_each_sweep(argv: list[str]) -> list[str]:
    """A check runs one config: each swept key (`vars.k=2,3`, `range(..)`, `choice(..)`) takes
    its first value; a continuous one (`interval(..)`) keeps the config's value. Hydra would
    otherwise refuse `vars.k=2,3` outside a multirun ("Ambiguous value")."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, out, notes = OverridesParser.create(), [], []
    for arg in argv:
        try:
            override = None if arg.startswith("-") else parser.parse_override(arg)
        except Exception:  # noqa: BLE001 - not an override Hydra can read: Hydra will say so
            override = None
        if override is None or not override.is_sweep_override():
            out.append(arg)
            continue
        left = arg.split("=", 1)[0]
        if override.is_discrete_sweep():
            first = next(iter(override.sweep_string_iterator()))
            out.append(f"{left}={first}")
            notes.append(f"{left}={first}")
        else:
            notes.append(f"{left} (the config's value)")
    if notes:
        print(f"djsandbox: check=true checks one run: {', '.join(notes)}", file=sys.stderr)
    return out


def with_default_pipeline(argv: list[str]) -> list[str]:
    """Add `+pipeline=demo` unless a pipeline is chosen (or the user asks Hydra for help).

    `pipeline=NAME` is accepted as `+pipeline=NAME`: the group is not in the primary defaults
    list (so that `+pipeline=` works), and Hydra would otherwise reject the plain form.
    """
    argv = ["+" + a if a.startswith("pipeline=") else a for a in argv]
    chosen = any(a.lstrip("+~").startswith("pipeline=") for a in argv)
    asks_help = any(a in ("--help", "-h", "--hydra-help", "--info") for a in argv)
    return argv if chosen or asks_help else argv + [f"+pipeline={DEFAULT_PIPELINE}"]


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="sandbox")
def main(cfg: DictConfig) -> float | list[float] | None:
    """Run the sandbox; returns `optimized_metric`'s value(s) for the sweeper, if set."""
    from .cli_support import run_from_hydra

    return run_from_hydra(cfg)


def composes_a_run(argv: list[str]) -> bool:
    """Not a request for help, the config or shell completion (those print only what is asked)."""
    asks = ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion")
    return not any(a.split("=", 1)[0] in asks for a in argv)


def entry() -> None:
    register_configs()
    register_resolver()
    register_help_resolver()
    program, args = sys.argv[0], sys.argv[1:]
    if composes_a_run(args):
        print("djsandbox: composing the config (Hydra) ...", file=sys.stderr, flush=True)
    sys.argv = [program] + quiet_check_run(with_default_pipeline(args))
    try:
        main()
    except KeyboardInterrupt as exc:  # Hydra lets it through, from a single run or a sweep
        from .cli_support import report_interrupt
        from .errors import EXIT_INTERRUPTED
        from .interrupts import program_name

        report_interrupt(exc, "djsandbox", program_name(program, "djsandbox"), args)
        # The state is saved and the lock released. A library stopped halfway (an import cut
        # short, a worker pool's threads) can crash the interpreter's shutdown (measured:
        # SIGSEGV after a Ctrl-C inside Data-Juicer's first torch import), so exit at once.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    entry()
