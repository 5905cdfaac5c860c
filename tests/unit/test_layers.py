"""The import structure of ``storefront/`` keeps to the layers of ARCHITECTURE §2: a package
imports only packages below it (imports inside functions count like any other), and no two
modules import each other, directly or through others.

The layers, lowest first; packages on one line are peers and may not import each other,
except in the first (small shared helpers) and the last (the app's entry points).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "storefront"
SHARED = {"config", "extensions", "types", "money", "dates", "limits", "countries", "inputs", "htmx",
          "queue", "security", "logging_privacy", "csv_export", "cookies", "routing", "forms"}
LAYERS: list[set[str]] = [
    SHARED,
    {"accounts"},
    {"media"},
    {"notifications"},
    {"catalog"},
    {"visits"},
    {"landing"},
    {"themes"},
    {"cart"},
    {"pricing"},
    {"checkout"},
    {"payments"},
    {"leads"},
    {"recovery", "billing", "analytics"},
    # The customer's portal is a screen over billing's subscriptions and checkout's orders,
    # as the admin is the merchant's over every domain: it calls billing's services.
    {"portal"},
    {"admin"},
    {"demo", "cli", "models", "storefront", "cron", "wsgi"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "storefront":
        return None
    if len(parts) == 1:
        return "storefront"
    return parts[1].removesuffix(".py")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


def imports() -> dict[str, set[str]]:
    """{module: the storefront modules it imports}, for every module of the package."""
    modules = {_module_name(p) for p in ROOT.rglob("*.py")}
    found: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        source = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if not name.startswith("storefront"):
                    continue
                target = name if name in modules else name.rsplit(".", 1)[0]
                if target in modules and target != source:
                    found[source].add(target)
    return found


def upward_imports() -> list[str]:
    wrong = []
    for source, targets in imports().items():
        here = _package(source)
        for target in targets:
            there = _package(target)
            if here == there or here not in RANK or there not in RANK:
                continue
            peers_allowed = RANK[here] in (0, len(LAYERS) - 1)
            if RANK[there] > RANK[here] or (RANK[there] == RANK[here] and not peers_allowed):
                wrong.append(f"{source} -> {target}")
    return sorted(wrong)


def cycles() -> list[list[str]]:
    graph = imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_every_package_has_a_layer():
    packages = {_package(_module_name(p)) for p in ROOT.rglob("*.py")}
    assert packages <= set(RANK), f"add to LAYERS: {sorted(packages - set(RANK))}"


def test_no_import_runs_back_up_the_layers():
    assert upward_imports() == []


def test_no_import_circle():
    assert cycles() == []
