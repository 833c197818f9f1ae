"""What an environment is made of: the manager, a name, a Python version, a conda
environment file or requirements file, and pip requirements.

`EnvSpec.from_config` reads the reference DJ-Sandbox keys (`env_name`, `env_manager`,
`env_params: {env_py_version, env_config_path}`) plus our `requirements`, and reports bad
input as one `ConfigError` naming where it is. The fingerprint is what decides reuse: two
specs with the same fingerprint are the same environment.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import ConfigError
from ..paths import find_existing
from ..suggest import did_you_mean

CONDA_LIKE = ("conda", "mamba", "micromamba")
VENV_LIKE = ("venv", "virtualenv", "uv")
MANAGERS = CONDA_LIKE + VENV_LIKE
# The reference creates conda environments with Python 3.10 unless told otherwise.
CONDA_DEFAULT_PYTHON = "3.10"
DEFAULT_MANAGER = "conda"  # the reference's default when `env_manager` is absent
PARAM_KEYS = ("env_py_version", "env_config_path", "requirements", "env_requirements")
CONDA_FILE_SUFFIXES = (".yml", ".yaml")
FORMAT = 1  # bump when the way environments are built changes: every env rebuilds once

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")


def split_requirement(entry: str) -> list[str]:
    """One requirement entry as pip arguments: `"flash-attn==2.3.6 --no-build-isolation"`
    is the requirement and a flag, not one requirement with a space in it."""
    return shlex.split(entry)


def has_flags(entry: str) -> bool:
    return any(token.startswith("-") for token in split_requirement(entry))


@dataclass(frozen=True)
class EnvSpec:
    """One environment. `requirements` are pip requirement entries, each possibly with
    pip flags (`"flash-attn==2.3.6 --no-build-isolation"`); `config_path` is a conda
    environment file (.yml/.yaml) or a pip requirements file."""

    manager: str
    name: str
    python_version: str | None = None
    config_path: str | None = None
    requirements: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "requirements", tuple(self.requirements or ()))
        if self.config_path is not None:
            object.__setattr__(self, "config_path", str(self.config_path))
        problems = _problems(self, "EnvSpec")
        if problems:
            raise ConfigError("\n".join(problems))

    @property
    def conda_like(self) -> bool:
        return self.manager in CONDA_LIKE

    @property
    def conda_file(self) -> Path | None:
        """The conda environment file, when `config_path` is one."""
        if self.config_path and self.config_path.lower().endswith(CONDA_FILE_SUFFIXES):
            return Path(self.config_path)
        return None

    @property
    def requirements_file(self) -> Path | None:
        """The pip requirements file, when `config_path` is one."""
        if self.config_path and self.conda_file is None:
            return Path(self.config_path)
        return None

    @property
    def python(self) -> str | None:
        """The Python version to create the environment with; None: the sandbox's own
        interpreter (venv, virtualenv, uv) or what the conda file says (a conda file
        decides, as in the reference, also when env_py_version is given)."""
        if self.conda_file is not None and self.conda_like:
            return None
        if self.python_version:
            return self.python_version
        if self.conda_like and self.conda_file is None:
            return CONDA_DEFAULT_PYTHON
        return None

    def fingerprint(self) -> str:
        """sha256 of everything the environment is built from (the files' contents too)."""
        parts: dict[str, Any] = {
            "format": FORMAT,
            "manager": self.manager,
            "python": self.python,
            "requirements": list(self.requirements),
            "config_path": self.config_path,
        }
        # the contents of the files it names: editing requirements.txt rebuilds
        parts["files"] = {path: _file_digest(path) for path in self.named_files()}
        if self.python is None and not self.conda_like:
            # built from the running interpreter: a new interpreter means a new environment
            parts["interpreter"] = [sys.base_prefix, sys.version]
        blob = json.dumps(parts, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def named_files(self) -> list[str]:
        """`config_path` and the files of `-r`/`-c` requirement entries (`"-r reqs.txt"`)."""
        files = [self.config_path] if self.config_path else []
        for entry in self.requirements:
            tokens = split_requirement(entry)
            for flag, value in zip(tokens, tokens[1:]):
                if flag in ("-r", "--requirement", "-c", "--constraint"):
                    files.append(value)
            files += [
                t.split("=", 1)[1]
                for t in tokens
                if t.startswith(("--requirement=", "--constraint="))
            ]
        return files

    def describe(self) -> dict[str, Any]:
        return {
            "manager": self.manager,
            "name": self.name,
            "python_version": self.python,
            "config_path": self.config_path,
            "requirements": list(self.requirements),
        }

    @classmethod
    def from_config(
        cls,
        env_name: Any,
        env_manager: Any,
        env_params: Any,
        where: str = "config",
        base_dirs: Iterable[Path] | None = None,
    ) -> EnvSpec:
        """The spec of the reference keys `env_name`, `env_manager` (default conda, as in
        the reference) and `env_params`. A relative `env_config_path` is looked up in
        `base_dirs` (default: the working directory). Raises one ConfigError naming
        `where` and every problem."""
        problems: list[str] = []
        params = {} if env_params is None else env_params
        if not isinstance(params, Mapping):
            raise ConfigError(
                f"{where}: env_params: expected a mapping (env_py_version, env_config_path, "
                f"requirements), got {type(params).__name__}"
            )
        for key in params:
            if key not in PARAM_KEYS:
                problems.append(
                    f"{where}: env_params.{key}: not an environment setting"
                    f"{did_you_mean(key, PARAM_KEYS)}; valid: {', '.join(PARAM_KEYS)}"
                )
        manager = DEFAULT_MANAGER if env_manager is None else env_manager
        version = params.get("env_py_version")
        if isinstance(version, float):
            problems.append(
                f"{where}: env_params.env_py_version: got the number {version!r}; write the "
                "version as a quoted string such as '3.10' (YAML reads 3.10 as 3.1)"
            )
            version = None
        elif isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        config_path = params.get("env_config_path")
        if isinstance(config_path, str) and config_path:
            found = find_existing(config_path, list(base_dirs or [Path.cwd()]))
            if found is None or not found.is_file():
                problems.append(
                    f"{where}: env_params.env_config_path: file {config_path!r} not found "
                    "(a conda environment .yml or a pip requirements file)"
                )
            else:
                config_path = str(found)
        requirements, req_problems = _requirements(params, where)
        problems += req_problems
        name = env_name
        if name is None and isinstance(config_path, str):
            name = _conda_file_name(config_path)
        draft = _Draft(manager, name, version, config_path, requirements)
        problems += _problems(draft, where)
        if problems:
            raise ConfigError("\n".join(problems))
        return cls(manager, name, version, config_path, tuple(requirements))


def _file_digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class _Draft:
    manager: Any
    name: Any
    python_version: Any
    config_path: Any
    requirements: Any


def _requirements(params: Mapping[str, Any], where: str) -> tuple[list[str], list[str]]:
    given = [key for key in ("requirements", "env_requirements") if key in params]
    if len(given) > 1:
        return [], [
            f"{where}: env_params: both 'requirements' and 'env_requirements' given; use one"
        ]
    if not given:
        return [], []
    key = given[0]
    value = params[key]
    if value is None:
        return [], []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return [], [
            f"{where}: env_params.{key}: expected a list of pip requirements such as "
            f"['six==1.16.0', 'flash-attn==2.3.6 --no-build-isolation'], got "
            f"{type(value).__name__}"
        ]
    return list(value), []


def _conda_file_name(path: str) -> Any:
    """The `name:` of a conda environment file (the reference takes the env name from it)."""
    if not path.lower().endswith(CONDA_FILE_SUFFIXES) or not Path(path).is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data.get("name") if isinstance(data, dict) else None


def _problems(spec: Any, where: str) -> list[str]:
    out = []
    if spec.manager not in MANAGERS:
        out.append(
            f"{where}: env_manager: {spec.manager!r} is not an environment manager"
            f"{did_you_mean(spec.manager, MANAGERS)}; expected one of {', '.join(MANAGERS)}"
        )
    if not isinstance(spec.name, str) or not _NAME.match(spec.name):
        out.append(
            f"{where}: env_name: expected a name of letters, digits, '_', '.' and '-' "
            f"(at most 64, environments live in the sandbox's cache folder), got {spec.name!r}"
        )
    version = spec.python_version
    if version is not None and (not isinstance(version, str) or not _VERSION.match(version)):
        out.append(
            f"{where}: env_params.env_py_version: expected a version such as '3.10', "
            f"got {version!r}"
        )
    path = spec.config_path
    if path is not None and (not isinstance(path, str) or not path):
        out.append(f"{where}: env_params.env_config_path: expected a file path, got {path!r}")
    elif (
        isinstance(path, str)
        and path.lower().endswith(CONDA_FILE_SUFFIXES)
        and spec.manager in VENV_LIKE
    ):
        out.append(
            f"{where}: env_params.env_config_path: {path!r} is a conda environment file, "
            f"which env_manager {spec.manager!r} cannot read; use conda, mamba or micromamba, "
            "or give a pip requirements file"
        )
    for i, entry in enumerate(spec.requirements or ()):
        label = f"{where}: requirements[{i}]"
        if not isinstance(entry, str) or not entry.strip():
            out.append(f"{label}: expected a pip requirement string, got {entry!r}")
            continue
        try:
            split_requirement(entry)
        except ValueError as exc:
            out.append(f"{label}: {entry!r} cannot be split into arguments: {exc}")
    return out
