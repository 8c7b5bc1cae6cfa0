"""The integration's modules import each other in one direction only.

Read from the source (every ``import`` statement, including those only for typing or
inside functions), not from what happens to be loaded: a circle that exists only under
``TYPE_CHECKING`` still means two modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "custom_components.community_gate"
ROOT = Path(__file__).resolve().parents[1] / "custom_components" / "community_gate"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".")
    # A package's own relative imports start from the package, a module's from its parent.
    base = base if is_package else base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *(module.split(".") if module else [])])


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The integration modules ``name`` imports (``from .x import y`` names module
    ``x.y`` when that is a module, else ``x``)."""
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = _resolve(name, path.name == "__init__.py", node.level, node.module)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    out.add(sub)
                elif target in modules:
                    out.add(target)
    out.discard(name)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_reader_sees_every_kind_of_import() -> None:
    """The graph is read right: a typing-only import and a relative one both count."""
    graph = _graph()
    assert f"{PACKAGE}.hub" in graph[f"{PACKAGE}.alerts"]  # under TYPE_CHECKING
    assert f"{PACKAGE}.core.errors" in graph[f"{PACKAGE}.services"]  # from .core import errors
    assert f"{PACKAGE}.core.model" in graph[f"{PACKAGE}.core.access"]  # from .model import
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycles(_graph()) == []


def test_the_hub_knows_no_service() -> None:
    """Services build on the hub and listen to its signals; it never calls them."""
    services = {"alerts", "face", "mqtt_link", "privacy", "capture", "runtime", "services"}
    assert not {m.rsplit(".", 1)[-1] for m in _graph()[f"{PACKAGE}.hub"]} & services


def test_the_core_imports_nothing_of_home_assistant() -> None:
    for path in sorted((ROOT / "core").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            assert not [n for n in names if n.split(".")[0] == "homeassistant"], path.name
