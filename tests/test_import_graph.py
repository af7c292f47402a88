"""The package boundaries of docs/architecture.md, read from the source (issue 13 items 5 and 8).

Every import statement of the five packages, wherever it stands (a lazy import inside a function still
draws the arrow), must follow the documented arrows; the imports that run when a module loads must form no
cycle between modules. Both are read with ``ast``, so nothing here imports Airflow or dlt.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("outlit_core", "outlit_provider", "outlit_cli", "dlt_sources", "outlit_sandbox")
# docs/architecture.md, "Dependency arrows point one way"
ALLOWED = {
    "outlit_core": set(),
    "outlit_provider": {"outlit_core"},
    "dlt_sources": {"outlit_core"},
    "outlit_cli": {"outlit_core", "dlt_sources", "outlit_sandbox"},
    "outlit_sandbox": set(),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules of ours an import statement loads (a submodule import counts as that submodule only)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = module.split(".")
        if node.level:
            is_package = MODULES[module].name == "__init__.py"
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        submodules = [f"{source}.{alias.name}" for alias in node.names]
        names = submodules if all(s in MODULES for s in submodules) else [source]
    return [name for name in names if name in MODULES and name != module]


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str, *, load_time_only: bool) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    if load_time_only:
        # what runs on import: module-level statements, minus `if TYPE_CHECKING:` blocks
        nodes = [n for top in tree.body if not _is_type_checking(top) for n in _load_time_nodes(top)]
    else:
        nodes = list(ast.walk(tree))
    return {t for n in nodes if isinstance(n, ast.Import | ast.ImportFrom) for t in _targets(module, n)}


def _load_time_nodes(node: ast.AST) -> list[ast.AST]:
    """``node`` and what it holds, except function bodies (they run when called, not when imported)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return []
    return [node, *(n for child in ast.iter_child_nodes(node) for n in _load_time_nodes(child))]


def test_every_import_follows_the_documented_package_arrows() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module in MODULES
        for target in _imports(module, load_time_only=False)
        if (src := module.split(".")[0]) != (dst := target.split(".")[0]) and dst not in ALLOWED[src]
    )
    assert wrong == []


def test_no_import_cycle_between_modules() -> None:
    graph = {module: _imports(module, load_time_only=True) for module in MODULES}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the modules of a cycle


def test_the_checks_see_a_cycle_and_a_wrong_arrow() -> None:
    # the scanner must see real imports, or the two tests above pass on an empty graph
    edges = {m: _imports(m, load_time_only=True) for m in MODULES}
    assert "outlit_core.client.flow" in edges["outlit_core.client.base"]
    assert "outlit_core.client.responses" in edges["outlit_core.client.flow"]  # `from . import responses`
    assert "outlit_core.client" not in edges["outlit_core.client.flow"]
    # an import inside a function runs later: it draws a package arrow but cannot close a load-time cycle
    assert "outlit_core.reverse_load.warehouse" not in edges["outlit_core.reverse_load.locks"]
    assert "outlit_core.reverse_load.warehouse" in _imports(
        "outlit_core.reverse_load.locks", load_time_only=False
    )
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).prepare()
