"""The package's layers import only downwards, lazily or not (docs/ARCHITECTURE.md, Layers).

Every `import`/`from ... import` of a zoo module anywhere in a file (also inside functions) is an
edge from the file's layer to the imported one; the test fails on a forbidden edge and on any
cycle between layers.
"""

import ast
from pathlib import Path

ZOO = Path(__file__).resolve().parents[1] / "zoo"

# layer -> the layers it must never import (besides the general no-cycle rule)
FORBIDDEN = {
    "errors": {"*"},
    "config_tables": {"*"},
    "discovery": {"*"},
    "progress": {"*"},  # standard library only: anything may report progress
    "ops": {"*"},
    "layers": {"models", "training", "data", "tasks", "export", "registry", "visualize"},
    "metrics": {"training", "tasks", "models", "export", "registry", "visualize"},
    "text": {"models", "training", "data", "tasks", "export", "visualize"},
    "registry": {"training", "data", "models", "tasks", "export", "api", "visualize"},
    "models": {"training", "data", "tasks", "export", "bench", "cli", "api", "experiments", "visualize"},
    "data": {"training", "tasks", "models", "export", "bench", "cli", "visualize"},
    "tasks": {"training", "export", "bench", "cli", "experiments", "visualize"},
    "convert": {"training", "tasks", "export", "bench", "cli", "visualize"},
    "export": {"training", "bench", "cli", "visualize"},
    "training": {"bench", "cli", "experiments", "visualize"},
    "visualize": {"training", "export", "bench", "cli", "experiments"},
    # the docs site reads metadata only (cards, recipe files, dataset infos, results/): nothing that builds models
    "docs_site": {"models", "training", "tasks", "export", "convert", "bench", "cli", "api", "experiments", "visualize"},
}
ALWAYS_ALLOWED = {"errors"}


def _layer(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "zoo" else None


def _edges():
    edges = {}
    for path in ZOO.rglob("*.py"):
        rel = path.relative_to(ZOO.parent).with_suffix("")
        here = _layer(".".join(rel.parts)) or "zoo"
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "zoo"]
            for name in names:
                there = _layer(name)
                if there and there != here and not (name == "zoo" or there in ALWAYS_ALLOWED - {here}):
                    edges.setdefault((here, there), set()).add(str(rel))
    return edges


def test_no_layer_imports_a_forbidden_one():
    bad = []
    for (here, there), files in _edges().items():
        forbidden = FORBIDDEN.get(here, set())
        if "*" in forbidden or there in forbidden:
            bad.append(f"{here} -> {there}: {', '.join(sorted(files))}")
    assert not bad, "\n".join(sorted(bad))


def test_no_cycles_between_layers():
    graph = {}
    for here, there in _edges():
        graph.setdefault(here, set()).add(there)
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles between layers:\n" + "\n".join(cycles)
