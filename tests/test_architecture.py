"""The package's shape: no import cycles, no import from a lower layer back up, small modules.

The measurement is `scripts/import_graph.py` (ast over every file, lazy imports included).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400


def _import_graph():
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "scripts" / "import_graph.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles_and_no_upward_imports():
    assert _import_graph().problems() == []


def test_the_measurement_can_fail(tmp_path, monkeypatch):
    graph = _import_graph()
    edges = {
        "djsandbox.a": {"djsandbox.b"},
        "djsandbox.b": {"djsandbox.a"},
        "djsandbox.paths": {"djsandbox.runner"},
        "djsandbox.runner": set(),
    }
    assert graph.cycles(edges) == [["djsandbox.a", "djsandbox.b"]]
    assert graph.upward_imports(
        {"djsandbox.paths": {"djsandbox.runner"}, "djsandbox.runner": set()}
    ) == ["djsandbox.paths (layer 0) imports djsandbox.runner (layer 4)"]


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "src" / "djsandbox").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT / "src")),
)
def test_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines; split it by concern"
