"""`python -m djsandbox --help`: the pipelines, each with what it asks, read from their files.

The help text is Hydra's `hydra.help.template` (conf/sandbox.yaml). Its pipeline list comes
from the `djsandbox_pipelines` resolver, so a new file in conf/pipeline/ is listed with the
first sentence of its leading comment, without editing the template.
"""

from __future__ import annotations

import re
from pathlib import Path

PIPELINE_DIR = Path(__file__).resolve().parent / "conf" / "pipeline"
RESOLVER = "djsandbox_pipelines"


def summary(text: str) -> str:
    """The first sentence of a config file's leading comment (after `# @package`)."""
    words: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#") or line.startswith("# @package"):
            if words or not line.startswith("#"):
                break
            continue
        body = line[1:]
        if body.startswith("  ") and words:  # an indented example ends the prose
            break
        words.append(body.strip())
    prose = " ".join(w for w in words if w)
    match = re.search(r"^(.+?[.?])(\s|$)", prose)
    sentence = match.group(1) if match else prose
    return sentence.rstrip(":").strip()


def pipeline_lines(folder: Path = PIPELINE_DIR) -> str:
    """One line per shipped pipeline: name and summary (`$` doubled for Hydra's template)."""
    files = sorted(folder.glob("*.yaml"))
    width = max((len(f.stem) for f in files), default=0)
    lines = [
        f"  {f.stem.ljust(width)}  {summary(f.read_text(encoding='utf-8'))}".rstrip() for f in files
    ]
    return "\n".join(lines).replace("$", "$$")


def register_help_resolver() -> None:
    """Make `${djsandbox_pipelines:}` available to the help template (idempotent)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, lambda: pipeline_lines())
