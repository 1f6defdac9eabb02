"""Checks that trainer/ imports run with the data flow: no cycles, no upward imports.

    python tools/check_imports.py            # prints the layer table and any violation; exit 1 if any

Every `import trainer...` / `from trainer... import ...` counts, including those inside functions
(a function-local import hides a cycle from Python, not from this check). Layers, lowest first:
a module may import its own layer and the ones below, never one above.
"""
from __future__ import annotations

import ast
import os
import sys
from typing import Iterable

# Lowest first. The task registry and the clean-example schema are the contract every stage
# speaks, so they sit below the stages that produce and consume clean examples.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("trainer", "trainer.util"),
    ("trainer.tasks", "trainer.data.records"),
    ("trainer.deid", "trainer.facts"),
    ("trainer.prepare",),
    ("trainer.data",),
    ("trainer.models",),
    ("trainer.augment",),
    ("trainer.train",),
    ("trainer.eval",),
    ("trainer.rate",),
    ("trainer.rl",),
    ("trainer.export",),
    ("trainer.config_lib", "trainer.main"),
)


def layer_of(module: str, layers: Iterable[tuple[str, ...]] = LAYERS) -> int:
    """Index of the most specific layer prefix that names `module`."""
    best, best_len = -1, -1
    for i, prefixes in enumerate(layers):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    if best < 0:
        raise ValueError(f"{module} is in no layer of tools/check_imports.py: add it")
    return best


def module_name(root: str, path: str) -> str:
    rel = os.path.relpath(path, root)[: -len(".py")].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def imports_of(path: str, module: str, package: str) -> set[str]:
    """Modules of `package` that the file imports (resolving `from pkg import submodule`)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    found: set[str] = set()
    is_pkg = path.endswith("__init__.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_pkg else 0)]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if src.split(".")[0] != package:
                continue
            found.add(src)
            found |= {f"{src}.{a.name}" for a in node.names}
    return found


def import_graph(root: str, package: str = "trainer") -> dict[str, set[str]]:
    """Module -> the package's modules it imports (only names that are real modules)."""
    files = {}
    for dirpath, _, names in os.walk(os.path.join(root, package)):
        for n in names:
            if n.endswith(".py"):
                p = os.path.join(dirpath, n)
                files[module_name(root, p)] = p
    graph = {}
    for mod, path in files.items():
        graph[mod] = {m for m in imports_of(path, mod, package) if m in files and m != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[tuple[str, str]]:
    """(importer, imported) pairs where the imported module sits in a higher layer."""
    return sorted((a, b) for a, deps in graph.items() for b in deps if layer_of(b, layers) > layer_of(a, layers))


def check(root: str, package: str = "trainer", layers=LAYERS) -> list[str]:
    graph = import_graph(root, package)
    problems = [f"cycle: {' <-> '.join(c)}" for c in cycles(graph)]
    problems += [f"upward import: {a} (layer {layer_of(a, layers)}) imports {b} (layer {layer_of(b, layers)})"
                 for a, b in upward_imports(graph, layers)]
    return problems


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    graph = import_graph(root)
    for i, prefixes in enumerate(LAYERS):
        mods = sorted(m for m in graph if layer_of(m) == i)
        print(f"layer {i}: {', '.join(prefixes)}  ({len(mods)} modules)")
    problems = check(root)
    print("\n".join(problems) if problems else f"OK: {len(graph)} modules, no cycle, no upward import")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
