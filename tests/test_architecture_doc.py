"""docs/architecture.md stays true: its checked signatures and exception tree are compared with the code.

A block after ``<!-- checked: signatures -->`` holds ``dotted.name(parameters)`` entries (annotations,
``-> result`` and ``# comments`` are for the reader); a block after ``<!-- checked: exceptions -->`` holds the
exception tree, indentation meaning inheritance and the last word the module defining the class.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
ROOT_EXCEPTION = "outlit_core.client.exceptions.OutlitError"


def _blocks(kind: str) -> list[list[str]]:
    text = DOC.read_text()
    pattern = rf"<!-- checked: {kind} -->\s*```\w*\n(.*?)```"
    return [block.splitlines() for block in re.findall(pattern, text, flags=re.DOTALL)]


def _entries() -> list[str]:
    """Each signature entry as one line: comments dropped, continuation lines joined until parens close."""
    entries: list[str] = []
    pending = ""
    for block in _blocks("signatures"):
        for line in block:
            code = line.split("#", 1)[0].strip()
            if not code and not pending:
                continue
            pending = f"{pending} {code}".strip()
            if pending.count("(") == pending.count(")"):
                entries.append(pending)
                pending = ""
    assert not pending, f"unbalanced entry in {DOC.name}: {pending}"
    return entries


def _resolve(dotted: str) -> tuple[Any, Any]:
    """The object a dotted name points at, and the module it was found in (for evaluating defaults)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith(("outlit_", "dlt_sources")):
                pytest.skip(f"{dotted} needs {exc.name}, which this install lacks (an optional extra)")
            continue
        obj: Any = module
        for name in parts[cut:]:
            obj = inspect.getattr_static(obj, name) if inspect.isclass(obj) else getattr(obj, name)
            obj = obj.__func__ if isinstance(obj, classmethod | staticmethod) else obj
        return obj, module
    raise AssertionError(f"{dotted}: no importable module")


_KINDS = {
    "posonlyargs": inspect.Parameter.POSITIONAL_ONLY,
    "args": inspect.Parameter.POSITIONAL_OR_KEYWORD,
    "kwonlyargs": inspect.Parameter.KEYWORD_ONLY,
}
_ANY = object()  # a default written `...`: present, not compared


def _documented(params: str, module: Any) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) per documented parameter, defaults evaluated in the code's module."""
    tree = ast.parse(f"def _f({params}): pass").body[0]
    assert isinstance(tree, ast.FunctionDef)
    args = tree.args

    def value(node: ast.expr | None) -> Any:
        if node is None:
            return inspect.Parameter.empty
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return _ANY
        return eval(compile(ast.Expression(node), DOC.name, "eval"), vars(module))

    out: list[tuple[str, Any, Any]] = []
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for arg, default in zip(positional, defaults, strict=True):
        kind = _KINDS["posonlyargs" if arg in args.posonlyargs else "args"]
        out.append((arg.arg, kind, value(default)))
    if args.vararg:
        out.append((args.vararg.arg, inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.empty))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((arg.arg, inspect.Parameter.KEYWORD_ONLY, value(default)))
    if args.kwarg:
        out.append((args.kwarg.arg, inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty))
    return out


def _actual(obj: Any) -> list[tuple[str, Any, Any]]:
    signature = inspect.signature(obj)
    params = list(signature.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


ENTRIES = _entries()


def test_the_doc_has_checked_blocks() -> None:
    assert len(ENTRIES) >= 30
    assert _blocks("exceptions")


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.split("(", 1)[0] for e in ENTRIES])
def test_documented_signature_matches_the_code(entry: str) -> None:
    match = re.fullmatch(r"([\w.]+)\((.*)\)(\s*->.*)?", entry)
    assert match, f"not a `dotted.name(parameters)` entry: {entry}"
    dotted, params = match.group(1), match.group(2)
    obj, module = _resolve(dotted)
    documented, actual = _documented(params, module), _actual(obj)
    assert [(n, k) for n, k, _ in documented] == [(n, k) for n, k, _ in actual], dotted
    for (name, _, doc_default), (_, _, code_default) in zip(documented, actual, strict=True):
        if doc_default is not _ANY:
            assert doc_default == code_default, f"{dotted}: {name} defaults to {code_default!r} in the code"


def test_async_client_matches_the_sync_one_where_the_doc_says_nothing_else() -> None:
    from outlit_core.client import AsyncOutlitClient, OutlitClient

    named_async = {e.split("(", 1)[0].rsplit(".", 1)[1] for e in ENTRIES if ".AsyncOutlitClient." in e}
    for entry in ENTRIES:
        dotted = entry.split("(", 1)[0]
        if ".OutlitClient." not in dotted or dotted.rsplit(".", 1)[1] in named_async:
            continue
        name = dotted.rsplit(".", 1)[1]
        sync_params = _actual(getattr(OutlitClient, name))
        assert _actual(getattr(AsyncOutlitClient, name)) == sync_params, name


def _tree() -> list[tuple[int, str, str]]:
    rows = []
    for line in _blocks("exceptions")[0]:
        if line.strip():
            indent = len(line) - len(line.lstrip(" "))
            name, *_, module = line.split()
            rows.append((indent // 2, name, module))
    return rows


def test_exception_tree_matches_the_code() -> None:
    pytest.importorskip("airflow")  # the provider's exceptions are part of the tree
    parents: list[type] = []
    listed: set[type] = set()
    for depth, name, module in _tree():
        cls = getattr(importlib.import_module(module), name)
        assert cls.__module__ == module, f"{name} is defined in {cls.__module__}, not {module}"
        del parents[depth:]
        if parents:
            assert parents[-1] in cls.__bases__, f"{name} is not a direct subclass of {parents[-1].__name__}"
        parents.append(cls)
        listed.add(cls)
    root = next(iter(c for c in listed if f"{c.__module__}.{c.__name__}" == ROOT_EXCEPTION))

    def ours(cls: type) -> set[type]:
        found = {cls} if cls.__module__.startswith(("outlit_", "dlt_sources")) else set()
        for sub in cls.__subclasses__():
            found |= ours(sub)
        return found

    for module in ("outlit_core.client", "outlit_core.reverse_load.admin", "outlit_provider.operators.base"):
        importlib.import_module(module)
    missing = sorted(c.__name__ for c in ours(root) - listed)
    assert missing == [], f"add these to the tree in {DOC.name}"
    input_error = next(c for c in listed if c.__name__ == "OutlitInputError")
    assert issubclass(input_error, ValueError)
