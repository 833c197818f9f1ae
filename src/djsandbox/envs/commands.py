"""The command lines that build an environment, as pure functions of the spec.

Every command is an argument list (no shell): a requirement with pip flags keeps its flags
as flags (`["pip", "install", "flash-attn==2.3.6", "--no-build-isolation"]`). Conda-like
environments are created by prefix (`-p`) inside the sandbox's cache folder rather than by
name in the manager's own folder, so that every environment lives in one place.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .running import EnvError
from .spec import CONDA_LIKE, EnvSpec, has_flags, split_requirement

INSTALL_HINTS = {
    "conda": "install Miniforge (https://conda-forge.org/download/)",
    "mamba": "install Miniforge (https://conda-forge.org/download/), which ships mamba",
    "micromamba": "install micromamba (https://mamba.readthedocs.io/en/latest/installation/"
    "micromamba-installation.html)",
    "virtualenv": "pip install virtualenv",
    "uv": "pip install uv",
}


def env_python(prefix: Path) -> Path:
    return Path(prefix) / "bin" / "python"


def find_tool(spec: EnvSpec) -> list[str]:
    """The argument-list prefix that runs the spec's manager, or an EnvError naming the
    manager and how to get it. Looks only at PATH and the running interpreter: no
    subprocess, so a reused environment costs nothing."""
    manager = spec.manager
    if manager == "venv":
        return [_venv_base_python(spec), "-m", "venv"]
    if manager == "virtualenv":
        found = shutil.which("virtualenv")
        if found:
            return [found]
        if _importable("virtualenv"):
            return [sys.executable, "-m", "virtualenv"]
    elif manager == "uv":
        found = shutil.which("uv") or _uv_from_package()
        if found:
            return [found]
    else:
        found = shutil.which(manager)
        if found:
            return [found]
    others = "venv or uv" if manager in CONDA_LIKE else "venv"
    raise EnvError(
        f"environment '{spec.name}': env_manager '{manager}' is not installed (no "
        f"'{manager}' on PATH); {INSTALL_HINTS[manager]}, or set env_manager to {others}"
    )


def _venv_base_python(spec: EnvSpec) -> str:
    if spec.python is None:
        return sys.executable
    wanted = f"python{spec.python}"
    found = shutil.which(wanted)
    if found:
        return found
    raise EnvError(
        f"environment '{spec.name}': env_manager 'venv' makes environments from an installed "
        f"Python, and no '{wanted}' is on PATH; install Python {spec.python}, or use "
        "env_manager uv (it downloads the interpreter) or conda"
    )


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _uv_from_package() -> str | None:
    """The uv binary of the `uv` Python package (installed with the test extra), when the
    running interpreter's bin folder is not on PATH."""
    try:
        import uv  # type: ignore[import-not-found]

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


def create_commands(spec: EnvSpec, prefix: Path, tool: list[str]) -> list[list[str]]:
    """The commands that create an empty environment at `prefix`."""
    prefix_s = str(prefix)
    python = spec.python
    manager = spec.manager
    conda_file = str(spec.conda_file) if spec.conda_file else None
    if manager == "venv":
        return [[*tool, prefix_s]]
    if manager == "virtualenv":
        return [[*tool, *(["--python", python] if python else []), prefix_s]]
    if manager == "uv":
        return [[*tool, "venv", "--python", python or sys.executable, prefix_s]]
    if manager == "micromamba":
        if conda_file:
            return [[*tool, "create", "-y", "-p", prefix_s, "-f", conda_file]]
        # micromamba has no default channel
        return [[*tool, "create", "-y", "-p", prefix_s, "-c", "conda-forge", f"python={python}"]]
    # conda, mamba
    if conda_file:
        return [[*tool, "env", "create", "-f", conda_file, "-p", prefix_s]]
    return [[*tool, "create", "-y", "-p", prefix_s, f"python={python}"]]


def install_commands(spec: EnvSpec, prefix: Path, tool: list[str]) -> list[list[str]]:
    """The pip commands that install the spec's requirements file and requirements, in
    order. Consecutive plain requirements share one command (pip resolves them together);
    an entry with flags runs alone, so its flags apply to it only."""
    python = str(env_python(prefix))
    if spec.manager == "uv":
        pip = [*tool, "pip", "install", "--python", python]
    else:
        pip = [python, "-m", "pip", "install"]
    commands: list[list[str]] = []
    if spec.requirements_file is not None:
        commands.append([*pip, "-r", str(spec.requirements_file)])
    batch: list[str] = []
    for entry in spec.requirements:
        if has_flags(entry):
            if batch:
                commands.append([*pip, *batch])
                batch = []
            commands.append([*pip, *split_requirement(entry)])
        else:
            batch.extend(split_requirement(entry))
    if batch:
        commands.append([*pip, *batch])
    return commands


def build_commands(spec: EnvSpec, prefix: Path, tool: list[str]) -> list[list[str]]:
    """Every command that builds the environment at `prefix`, in order."""
    return create_commands(spec, prefix, tool) + install_commands(spec, prefix, tool)
