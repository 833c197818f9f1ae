"""The prompt set to generate for, and the file names generated clips get.

Read from a Data-Juicer video JSONL (`text`, special tokens stripped), the clips dataset's
rows (`caption`; `split` picks e.g. the test split), EasyAnimate's JSON (`text`), VBench's
prompt JSON (a list of `{"prompt_en": ...}`, as `VBench_full_info.json`) or a plain text file
(one prompt a line). Repeated prompts are generated once. Each prompt keeps its row's `id`,
`motion` and `category` (never `defect`/`shown_motion`, which only studies may read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from djsandbox.data.converters.common import rows_of, special_tokens, strip_tokens

KEPT_FIELDS = ("id", "motion", "category")
MAX_NAME = 180
_UNSAFE = re.compile(r"[/\\\x00-\x1f:*?\"<>|]")


@dataclass(frozen=True)
class Prompt:
    text: str
    fields: dict[str, Any] = field(default_factory=dict)


def file_stem(prompt: str) -> str:
    """VBench's custom-input name of a prompt's clips (`<stem>-<k>.mp4`): characters unsafe in
    a file name become a space; at most 180 characters."""
    return _UNSAFE.sub(" ", prompt)[:MAX_NAME]


def _text_of(row: dict[str, Any], where: str) -> str:
    for key in ("prompt_en", "prompt", "caption", "text"):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            if key == "text" and "videos" in row:
                tokens = special_tokens()
                value = strip_tokens(value, (tokens.video, tokens.eoc))
            return value.strip()
    raise ValueError(
        f"{where}: no prompt; expected `prompt_en` (VBench), `caption` (clips) or `text` "
        "(Data-Juicer / EasyAnimate)"
    )


def read_prompts(
    path: str | Path, split: str | None = None, limit: int | None = None
) -> list[Prompt]:
    """The distinct prompts of `path` in file order (the first `limit` of them)."""
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise ValueError(f"prompts_path: {str(path)!r} does not exist; expected a prompt file")
    found: list[Prompt] = []
    if path.suffix.lower() == ".txt":
        lines = path.read_text(encoding="utf-8").splitlines()
        found = [Prompt(line.strip()) for line in lines if line.strip()]
    else:
        for where, row in rows_of(path):
            if split is not None and row.get("split", split) != split:
                continue
            fields = {k: row[k] for k in KEPT_FIELDS if k in row}
            found.append(Prompt(_text_of(row, where), fields))
    seen: set[str] = set()
    out: list[Prompt] = []
    for prompt in found:
        stem = file_stem(prompt.text)
        if stem not in seen:
            seen.add(stem)
            out.append(prompt)
    if not out:
        raise ValueError(
            f"prompts_path: {str(path)!r} has no prompt"
            + (f" in split {split!r}" if split is not None else "")
        )
    return out[:limit] if limit else out
