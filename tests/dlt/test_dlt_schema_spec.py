"""Every field of the tool outputs has a column, and every column comes from the spec or is documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt_helpers import duckdb_pipeline, run

from tests.conftest import spec_path

pytestmark = pytest.mark.spec

# table -> (tool output schema, path to the row object, fields reshaped by the source, columns it adds)
TABLES: dict[str, tuple[str, tuple[str, ...], set[str], set[str]]] = {
    "customers": (
        "ToolOutput_outlit_list_customers",
        ("items",),
        {"owner"},
        {"owner_id", "owner_email", "owner_name"},
    ),
    "users": ("ToolOutput_outlit_list_users", ("items",), set(), set()),
    "workspace_users": ("ToolOutput_outlit_list_workspace_users", ("items",), set(), set()),
    "timeline": (
        "ToolOutput_outlit_get_timeline",
        ("events",),
        {"sourceRef"},  # repeats sourceType / sourceId exactly, so it is not loaded twice (docs/dlt.md)
        {"customer_id"},
    ),
    "facts": (
        "ToolOutput_outlit_list_facts",
        ("facts",),
        {"linkedSourceRef", "sourceMetadata"},
        {
            "customer_id",
            "source_type",
            "source_id",
            "source_occurred_at",
            "source_quote",
            "permalink",
        },
    ),
    "sources": ("ToolOutput_outlit_list_sources", ("items",), {"customer"}, {"customer_id"}),
}


def _row_fields(schemas: dict[str, Any], name: str, path: tuple[str, ...]) -> set[str]:
    node = schemas[name]
    for key in path:
        node = node["properties"][key]["items"]
    return set(node["properties"])


def test_tables_cover_the_tool_outputs(sandbox: Any, tmp_path: Path) -> None:
    schemas = json.loads(spec_path("OUTLIT_TOOL_CONTRACTS").read_text())["components"]["schemas"]
    pipeline = duckdb_pipeline(tmp_path)
    run(pipeline, sandbox)
    naming = NamingConvention()
    for table, (schema_name, path, reshaped, added) in TABLES.items():
        fields = _row_fields(schemas, schema_name, path)
        expected = {naming.normalize_identifier(f) for f in fields - reshaped} | added
        columns = {c for c in pipeline.default_schema.get_table_columns(table) if not c.startswith("_dlt")}
        assert expected - columns == set(), f"{table}: spec fields without a column"
        assert columns - expected == set(), f"{table}: columns that are neither in the spec nor documented"
