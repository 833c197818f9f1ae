"""`dj-sandbox --config FILE.yaml`: runs a config written for the reference DJ-Sandbox.

Relative paths are looked up from the working directory first, then beside the config file.
With `hpo_config: FILE` (wandb-sweep style) the pipelines run as the trials of an Optuna study.
`dj-sandbox --list` prints every registered hook and component type; `--check` validates the
config and prints what would run, without running anything (exit 0 valid, 2 invalid).
Exit statuses (errors.py): 0 done, 1 a job failed, 2 the config or its inputs are wrong (found
before any job ran), 3 another run holds the run folder, 4 the config is valid but this machine
lacks what it needs (files, weights, an endpoint, a component not built yet; nothing ran),
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from .config import GLOBAL_KEYS, SandboxConfig
from .errors import EXIT_INTERRUPTED, ConfigError, SandboxError, exit_status
from .suggest import did_you_mean


def load_reference_config(path: Path, overrides: list[str]) -> dict[str, Any]:
    """Load a reference-format file onto the typed schema; unknown keys are named."""
    from omegaconf import OmegaConf

    from .cli_support import split_config
    from .context import register_resolver

    register_resolver()
    if not path.is_file():
        raise ConfigError(f"--config: {path} does not exist")
    try:
        loaded = OmegaConf.load(path)
    except Exception as exc:
        raise ConfigError(f"--config: cannot parse {path}: {exc}") from None
    if not OmegaConf.is_dict(loaded):
        raise ConfigError(f"--config: {path}: expected a mapping at the top level")
    unknown = [k for k in loaded if k not in GLOBAL_KEYS]
    if unknown:
        hints = ", ".join(f"'{key}'{did_you_mean(key, GLOBAL_KEYS)}" for key in unknown)
        raise ConfigError(
            f"{path}: unknown top-level key(s) {hints}; valid: {', '.join(GLOBAL_KEYS)}"
        )
    try:
        merged = OmegaConf.merge(
            OmegaConf.structured(SandboxConfig), loaded, OmegaConf.from_dotlist(overrides)
        )
    except Exception as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return split_config(merged)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dj-sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, help="sandbox config in the reference format")
    parser.add_argument("--list", action="store_true", help="list hooks and component types")
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the config and print what would run; run nothing",
    )
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. resume=true")
    args = parser.parse_args(argv)
    if args.list:
        from .catalog import describe

        print(describe(), end="")
        return 0
    if args.config is None:
        parser.error("--config FILE is required (or --list)")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    from .app import run_sandbox
    from .output_safety import protecting

    try:
        cfg = load_reference_config(args.config, args.overrides)
        base_dirs = [Path.cwd(), args.config.resolve().parent]
        with protecting(args.config):  # no job may write the config file (output_safety)
            if args.check or cfg.get("check"):
                from .check import check_run
                from .progress import quiet_terminal

                with quiet_terminal(bool(cfg.get("verbose"))):
                    report = check_run(cfg, base_dirs)
                print(report, end="", flush=True)
            elif cfg.get("hpo_config"):  # the reference's HPO: an Optuna study over the pipelines
                from .hpo.reference import run_reference_study

                run_reference_study(cfg, base_dirs)
            else:
                run_sandbox(cfg, base_dirs, snapshot=cfg)
    except SandboxError as exc:
        print(f"dj-sandbox: error: {exc}", file=sys.stderr, flush=True)
        return exit_status(exc)
    except KeyboardInterrupt as exc:
        from .cli_support import report_interrupt
        from .interrupts import program_name

        given = sys.argv[1:] if argv is None else argv
        report_interrupt(exc, "dj-sandbox", program_name(sys.argv[0], "djsandbox.cli"), given)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
