"""Image captioning on Lightning: the `internvl_coco_caption` trainer and evaluator, published
to the catalog through ENTRIES.

ENTRIES: {factory: {type: {"target", "summary", "results", "keys", "required", "check"}}}.
This module must import only the standard library: validation imports it.
"""

from __future__ import annotations

from typing import Any

ENTRIES: dict[str, dict[str, dict[str, Any]]] = {}
