"""The portal's import graph: no cycle, and the Chorus adapter stands alone (issue 13 §2).

The graph is read from the source with ``ast``: every ``import`` and ``from … import`` of a
portal module, at module level or inside a function, is an edge; imports under
``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "portal"
ADAPTER = "portal.chorus"

Graph = dict[str, set[str]]


def module_names() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package is its ``__init__``)."""
    names = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except what sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The portal modules ``module`` imports (``from a import b``: ``a.b`` when a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in known else base)
    return {target for target in targets if target in known and target != module}


def import_graph() -> Graph:
    names = module_names()
    known = set(names)
    return {module: imported(module, path, known) for module, path in names.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_portal_module_takes_part_in_an_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_chorus_adapter_and_its_emulator_import_nothing_of_the_portal_outside() -> None:
    outside = {
        (module, target)
        for module, targets in import_graph().items()
        if in_package(module, ADAPTER)
        for target in targets
        if not in_package(target, ADAPTER)
    }
    assert outside == set()


def test_the_graph_sees_imports_inside_functions_but_not_type_checking_ones(tmp_path) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from portal import clock\n"
        "if TYPE_CHECKING:\n"
        "    from portal.extensions import db\n"
        "def later():\n"
        "    from portal.chorus.client import ChorusClient\n"
    )
    known = {"portal.clock", "portal.extensions", "portal.chorus.client"}
    assert imported("portal.module", source, known) == {"portal.clock", "portal.chorus.client"}


def test_a_cycle_is_found_through_every_module_it_takes() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
