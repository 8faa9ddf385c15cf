"""The code's layering: domain modules import each other without a cycle, at the top only.

A cycle between domain modules (comments -> moderation -> comments) is what forced imports into
function bodies; once there, a reader can no longer see from a module's head what it depends on.
This test reads the source (no import side effects) and names the offending modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "discuss"
# create_app and the CLI import lazily on purpose: importing discuss must not build the web app.
EXEMPT = {"discuss", "discuss.cli"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(path): ast.parse(path.read_text(), str(path))
            for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The discuss modules an import statement loads (``from discuss import a, b`` is two)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    found = set()
    if node.module in known:
        found.add(node.module)
    for alias in node.names:
        if f"{node.module}.{alias.name}" in known:
            found.add(f"{node.module}.{alias.name}")
    return found


def import_graph(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Module -> the discuss modules it imports anywhere, in a function body too (a cycle hidden
    in a function is still a cycle)."""
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, tree in modules.items():
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(node, known)
        graph[name] = edges - {name} - EXEMPT
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def nested_imports(modules: dict[str, ast.Module]) -> list[str]:
    """``module:line`` of every import inside a function, class or block."""
    found = []
    for name, tree in modules.items():
        if name in EXEMPT:
            continue
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
                found.append(f"{name}:{node.lineno}")
    return found


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(import_graph(_modules()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_imports_only_at_the_top_of_a_module() -> None:
    assert nested_imports(_modules()) == []


def test_the_domain_never_imports_the_web_edge() -> None:
    graph = import_graph(_modules())
    packages = {name.rsplit(".", 1)[0] for name in graph}
    domain = [name for name in graph if name.count(".") == 1 and name not in packages]
    def is_web(module: str) -> bool:  # discuss.web and its modules, not discuss.webhooks
        return module == "discuss.web" or module.startswith("discuss.web.")

    assert {name: sorted(t for t in graph[name] if is_web(t))
            for name in domain if any(is_web(t) for t in graph[name])} == {}


@pytest.mark.parametrize(("graph", "cycle"), [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, None),
])
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], cycle: list[str]) -> None:
    assert find_cycle(graph) == cycle


def test_the_checks_see_a_function_level_import() -> None:
    tree = ast.parse("import os\n\ndef f():\n    from discuss import comments\n")
    assert nested_imports({"discuss.example": tree}) == ["discuss.example:4"]


def test_every_public_function_of_the_web_layer_says_what_it_does() -> None:
    missing = [f"{name}.{node.name}" for name, tree in _modules().items()
               if name.startswith("discuss.web")
               for node in tree.body
               if isinstance(node, ast.FunctionDef | ast.ClassDef)
               and not node.name.startswith("_") and not ast.get_docstring(node)]
    assert missing == []
