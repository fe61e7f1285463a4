"""No import cycle in our packages, not even one hidden in a function; the worker's layers."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = (
    "reports_shared",
    "reports_api",
    "reports_worker",
    "reports_janitor",
    "reports_client",
    "devstack",
)

#: Layers of the worker's build, bottom first: a module imports only from its layer's
#: band and those below (``input`` and ``formats`` share the ground, apart).
WORKER_LAYERS = {
    "reports_worker.errors": 0,
    "reports_worker.input": 1,
    "reports_worker.formats": 1,
    "reports_worker.building": 2,
    "reports_worker.reporttypes": 3,
}


def _modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` by dotted name."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    root = Path(next(iter(spec.submodule_search_locations)))
    found = {}
    # A C extension is read as its stub (.pyi), which imports what its types need.
    stubs = [path for path in root.rglob("*.pyi") if not path.with_suffix(".py").exists()]
    for path in [*root.rglob("*.py"), *stubs]:
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Our modules that module ``name`` imports anywhere in it (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from a import b` imports module a.b when there is one, else a's name b.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            module = target
            while module and module not in known:
                module = module.rpartition(".")[0]
            if module and module != name:
                yield module


def _graph() -> dict[str, set[str]]:
    modules = {name: path for package in PACKAGES for name, path in _modules(package).items()}
    known = set(modules)
    return {name: set(_imported(name, path, known)) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def _layer(module: str) -> int | None:
    for prefix, layer in WORKER_LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def _upward(layer: int, module: str, target: str) -> bool:
    """Whether ``module`` (in ``layer``) importing ``target`` goes up, or across the ground."""
    above = _layer(target)
    if above is None or above > layer:
        return True
    return above == layer == 1 and target.split(".")[1] != module.split(".")[1]


def test_no_package_of_ours_has_an_import_cycle() -> None:
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_is_read(package: str) -> None:
    assert len(_modules(package)) > 1


def test_worker_layers_import_only_layers_below() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if (layer := _layer(module)) is not None
        for target in sorted(targets)
        if target.startswith("reports_worker") and _upward(layer, module, target)
    ]
    assert upward == []
