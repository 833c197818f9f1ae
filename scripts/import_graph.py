"""The package's import graph, measured with `ast`: cycles and imports that go up a layer.

    python scripts/import_graph.py          # prints problems; exit 1 if any

Every import counts, at module level or inside a function (a lazy import still couples).
Layers, lowest first: a module may import its own layer or lower ones, never a higher one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "djsandbox"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# Top-level module or subpackage of djsandbox -> layer.
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        [
            "errors",
            "suggest",
            "shapes",
            "deferred",
            "registry",
            "value_checks",
            "final_test_spec",
            "paths",
            "atomic",
            "run_folders",
            "run_lock",
            "workers",
            "redact",
            "targets",
            "config",
            "plan",
            "context",
            "resources",
            "resource_problems",
            "writable",
            "state_shape",
            "interrupts",
            "progress",
            "seed_stats",
            "unused_vars",
        ],
        0,
    ),
    **dict.fromkeys(["data", "envs", "evaluation", "inference", "models", "reporting"], 1),
    **dict.fromkeys(
        ["catalog", "jobs", "planned_context", "hooks", "output_safety", "fingerprint", "cache"],
        2,
    ),
    "validation": 3,
    "runner": 4,
    **dict.fromkeys(["app", "hpo"], 5),
    **dict.fromkeys(
        ["check", "cli", "cli_support", "hydra_resume", "app_help", "__main__", "__init__"], 6
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Modules of this package imported anywhere in the file (absolute names)."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # `from pkg import module`
    return found


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    return {
        name: {m for m in imports_of(path, name) if m in files and m != name}
        for name, path in files.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1] if len(parts) > 1 else "__init__")


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    out = []
    for src, targets in sorted(edges.items()):
        for dst in sorted(targets):
            a, b = layer(src), layer(dst)
            if a is None or b is None:
                out.append(f"{src} -> {dst}: module not in a layer (add it to LAYERS)")
            elif b > a and not src.startswith(dst + "."):
                out.append(f"{src} (layer {a}) imports {dst} (layer {b})")
    return out


def problems() -> list[str]:
    edges = graph()
    return [f"cycle: {' <-> '.join(c)}" for c in cycles(edges)] + upward_imports(edges)


if __name__ == "__main__":
    found = problems()
    print("\n".join(found) or "no cycles, no upward imports")
    sys.exit(1 if found else 0)
