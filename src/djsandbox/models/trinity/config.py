"""The Trinity-RFT config a job runs: read from `trinity_config_path` or given inline as
`trinity_config`, then written into the job folder, the one file `trinity run` is given.

Why always a copy: the sandbox must know where Trinity puts its checkpoints (it fills in
`checkpoint_root_dir` when the config has none), and an inline config must become a file. The
copy never holds a secret in clear: a value under a secret-looking key (`api_key`, `token`,
...) is written as `${oc.env:NAME}` and handed to Trinity through its environment (Trinity
loads its config with OmegaConf, which resolves the interpolation when it starts).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from ...atomic import atomic_write_text
from ...errors import ConfigError
from ...redact import holds_secret

CONFIG_FILE = "trinity_config.yaml"
CHECKPOINTS = "checkpoints"
# Trinity-RFT 0.6.0's defaults for the keys that name the checkpoint folder
DEFAULT_PROJECT = "Trinity-RFT"
DEFAULT_GROUP = ""
DEFAULT_NAME = "rft"
CLUSTER_KEYS = ("node_num", "gpu_per_node")
SECRET_ENV = "DJSANDBOX_TRINITY_SECRET_{}"
_ENV_NAME = re.compile(r"[^A-Z0-9]+")


def plain(value: Any) -> Any:
    """OmegaConf containers (Hydra's) as plain dicts and lists; other values unchanged."""
    if type(value).__name__ in ("DictConfig", "ListConfig"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def load_file(path: str) -> dict[str, Any]:
    """The YAML mapping at `path`; a ConfigError naming the file when it is not one."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"trinity_config_path: file {path!r} not found; expected a Trinity-RFT YAML config"
        )
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"trinity_config_path: {path!r} is not readable YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"trinity_config_path: {path!r} holds {type(data).__name__}; expected a mapping "
            "(a Trinity-RFT config)"
        )
    return data


def source_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The Trinity config the job names: the file, or the inline mapping (exactly one)."""
    path, inline = cfg.get("trinity_config_path"), cfg.get("trinity_config")
    if path and inline:
        raise ConfigError(
            "trinity_config_path / trinity_config: both given; give the config file or the "
            "inline config, not both"
        )
    if path:
        if not isinstance(path, str):
            raise ConfigError(f"trinity_config_path: expected a file path, got {path!r}")
        return load_file(path)
    if inline:
        data = plain(inline)
        if not isinstance(data, dict):
            raise ConfigError(
                f"trinity_config: expected a mapping (a Trinity-RFT config), got "
                f"{type(data).__name__}"
            )
        return data
    raise ConfigError(
        "trinity_config_path: missing; give the Trinity-RFT config file, or the config "
        "inline as trinity_config"
    )


def cluster_problems(config: Mapping[str, Any], where: str) -> list[str]:
    """`cluster.node_num` / `cluster.gpu_per_node`, when set, must be positive integers."""
    cluster = config.get("cluster")
    if cluster is None:
        return []
    if not isinstance(cluster, Mapping):
        return [f"{where}: cluster: expected a mapping ({', '.join(CLUSTER_KEYS)})"]
    out = []
    for key in CLUSTER_KEYS:
        value = cluster.get(key)
        if value is None or isinstance(value, str) and value.startswith("${"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            out.append(f"{where}: cluster.{key}: got {value!r}; expected a positive integer")
    return out


def with_checkpoint_root(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The config with `checkpoint_root_dir` absolute: the job's `checkpoints/` when unset,
    a relative one taken from the working directory (where `trinity run` runs)."""
    root = config.get("checkpoint_root_dir")
    if root in (None, ""):
        root = Path(out_dir).resolve() / CHECKPOINTS
    elif not isinstance(root, str):
        raise ConfigError(f"trinity config: checkpoint_root_dir: expected a path, got {root!r}")
    return {**config, "checkpoint_root_dir": str(Path(root).expanduser().resolve())}


def checkpoint_dir(config: Mapping[str, Any]) -> Path:
    """`<checkpoint_root_dir>/<project>/<group>/<name>`, where Trinity writes
    `global_step_N/` (its checkpoint_job_dir)."""
    parts = [config.get(k, d) for k, d in (("project", DEFAULT_PROJECT), ("group", DEFAULT_GROUP))]
    parts.append(config.get("name", DEFAULT_NAME))
    return Path(str(config["checkpoint_root_dir"])).joinpath(*(str(p or "") for p in parts))


def split_secrets(value: Any, path: str = "") -> tuple[Any, dict[str, str]]:
    """`value` with every secret replaced by an `${oc.env:NAME}` interpolation, and the
    {NAME: secret} Trinity gets in its environment."""
    secrets: dict[str, str] = {}

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                dotted = f"{where}.{key}" if where else str(key)
                if isinstance(item, str) and item and holds_secret(key, item):
                    name = SECRET_ENV.format(_ENV_NAME.sub("_", dotted.upper()).strip("_"))
                    secrets[name] = item
                    out[key] = "${oc.env:" + name + "}"
                else:
                    out[key] = walk(item, dotted)
            return out
        if isinstance(node, list):
            return [walk(item, f"{where}[{i}]") for i, item in enumerate(node)]
        return node

    return walk(value, path), secrets


def write_job_config(config: dict[str, Any], out_dir: Path) -> tuple[Path, dict[str, str]]:
    """Write the config into the job folder (atomically, secrets moved out): its path and the
    environment variables that carry the secrets."""
    import yaml

    clean, secrets = split_secrets(config)
    path = Path(out_dir) / CONFIG_FILE
    atomic_write_text(path, yaml.safe_dump(clean, sort_keys=False, allow_unicode=True))
    return path, secrets
