"""Import hygiene: no import cycle inside djsandbox.data (module-level and function-level
imports both count), and the component modules load without heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import subprocess_env

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """{module: modules of `package` it imports anywhere in its code}."""
    files = {_module_name(p): p for p in (SRC / package.replace(".", "/")).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                root = ".".join(base[:len(base) - node.level + 1]) if node.level else ""
                mod = ".".join(p for p in (root, node.module or "") if p)
                targets.add(mod)
                targets |= {f"{mod}.{alias.name}" for alias in node.names}
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    graph = import_graph("djsandbox.data")
    assert "djsandbox.data.dj_runtime" in graph["djsandbox.data.dj_analyze"]
    assert "djsandbox.data.jsonl" in graph["djsandbox.data.converters.common"]  # inside a function


def test_data_has_no_import_cycle() -> None:
    assert cycles(import_graph("djsandbox.data")) == []


def test_every_component_module_imports_only_the_standard_library() -> None:
    code = ("import sys, importlib, djsandbox.catalog as c\n"
            "for m in c.COMPONENT_MODULES: importlib.import_module(m)\n"
            "print(sorted(m for m in ('numpy', 'pyarrow', 'pandas', 'scipy', 'sklearn', 'torch',"
            " 'data_juicer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=subprocess_env(), check=True)
    assert out.stdout.strip() == "[]"
