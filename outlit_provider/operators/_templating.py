"""Tell literal operator arguments (checkable at DAG parse) from ones Airflow renders at run time, and turn
rendered strings back into the types a tool's input contract asks for."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

_INT = re.compile(r"^[+-]?\d+$")


def is_templated(value: Any) -> bool:
    """True when ``value`` holds Jinja or an XCom reference anywhere, so it can only be checked in execute."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_templated(k) or is_templated(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(is_templated(v) for v in value)
    # XComArg, ObjectStoragePath, ArgNotSet and friends resolve later.
    return not (value is None or isinstance(value, bool | int | float))


def schema_types(prop: dict[str, Any] | None) -> set[str]:
    """The JSON types a property schema allows (``anyOf``/``oneOf`` branches included)."""
    if not prop:
        return set()
    types: set[str] = set()
    kind = prop.get("type")
    types.update(kind if isinstance(kind, list) else [kind] if kind else [])
    for branch in (*prop.get("anyOf", ()), *prop.get("oneOf", ())):
        types |= schema_types(branch)
    return types


def coerce_rendered(value: Any, prop: dict[str, Any] | None) -> Any:
    """A rendered template string as the type the contract wants; anything unclear is left as it is.

    Jinja renders ``{{ params.limit }}`` to ``'3'`` unless the DAG renders native objects; the contract
    then names the field and its type, which is the right error when the text is no number at all.
    """
    if not isinstance(value, str):
        return value
    types = schema_types(prop) - {"null"}
    if not types or "string" in types:
        return value
    text = value.strip()
    if "integer" in types and _INT.match(text):
        return int(text)
    if "number" in types:
        try:
            return float(text) if not _INT.match(text) else int(text)
        except ValueError:
            pass
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if types & {"array", "object"} and text[:1] in "[{":
        return parse_structure(text, value)
    return value


def parse_structure(text: str, fallback: Any) -> Any:
    """A JSON document or a Python literal (a list or dict rendered without native rendering)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return fallback


def check_literal_provider(task_id: str, provider: Any) -> None:
    """A literal integration provider id is checked at DAG parse, with a "did you mean" (issue 15.4)."""
    if provider is None or is_templated(provider):
        return
    import difflib

    from outlit_core.client.calls import PROVIDERS

    if provider not in PROVIDERS:
        close = difflib.get_close_matches(str(provider), PROVIDERS, n=2)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"{task_id}: unknown integration provider {provider!r}.{hint} Providers: {', '.join(PROVIDERS)}"
        )


def check_literal_sql(task_id: str, sql: Any) -> None:
    """Literal SQL goes through the client's read-only guard at DAG parse; a ``.sql`` file or a template
    is checked after rendering."""
    if not isinstance(sql, str) or is_templated(sql) or sql.strip().endswith(".sql"):
        return
    from outlit_core.client.exceptions import OutlitError
    from outlit_core.client.sql_guard import check_read_only_sql

    try:
        check_read_only_sql(sql)
    except (OutlitError, ValueError) as exc:
        raise ValueError(f"{task_id}: {exc}") from None
