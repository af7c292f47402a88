"""The openapi.json that schemathesis checks the sandbox against: the published spec with its two known
errata read as Outlit means them, and the pointers its own text makes resolved (nothing else changes).

By hand (docs/sandbox.md, "Conformance"):
    python -m tests.sandbox.conformance_spec <reference>/openapi.json > openapi-errata.json
(openapi-tool-contracts.json and official/tool-contracts.ts are read from beside it).
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

Spec = dict[str, Any]


def errata(openapi_spec: Spec) -> Spec:
    """openapi.json with its two known errata read as Outlit means them (nothing else is changed)."""
    spec = copy.deepcopy(openapi_spec)
    # The tool gateway answers 404 for an unknown customer, fact or source. This revision of openapi.json
    # lists no 404 for /api/tools/call; the later revision (openapi-tool-contracts.json) does, so the
    # answer is taken from there instead of being squeezed into one of the other status codes.
    spec["paths"]["/api/tools/call"]["post"]["responses"]["404"] = {
        "description": "Requested resource not found (documented in the tool-contracts revision).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    # A single-provider answer {"provider": {...}} matches both branches of this oneOf (the envelope, and a
    # map whose one key happens to be "provider"), so no server could satisfy it; anyOf is what it means.
    capabilities = spec["components"]["schemas"]["IntegrationCapabilitiesResponse"]
    capabilities["anyOf"] = capabilities.pop("oneOf")
    return spec


# ------------------------------------------------------------------------------- tool input contracts
def official_tool_input(contracts_ts: str, tool: str) -> Spec:
    """The JSON schema of ``tool``'s input in Outlit's @outlit/tools contract (official/tool-contracts.ts).

    Each contract's ``inputSchema`` there is a JSON schema written as a TypeScript object literal: bare
    keys and trailing commas are the only differences from JSON, so only those are rewritten.
    """
    start = contracts_ts.index(f"  {tool}: {{")
    opening = contracts_ts.index("inputSchema: {", start) + len("inputSchema: ")
    depth = 0
    for end in range(opening, len(contracts_ts)):
        depth += {"{": 1, "}": -1}.get(contracts_ts[end], 0)
        if depth == 0:
            break
    literal = contracts_ts[opening : end + 1]
    quoted = re.sub(r"^(\s*)([A-Za-z_$][\w$]*):", r'\1"\2":', literal, flags=re.MULTILINE)
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", quoted))


def _lift_defs(schema: Spec, prefix: str, components: Spec) -> Spec:
    """Moves a schema's own ``$defs`` into the spec's components (a ``#/$defs/`` pointer means the
    schema's root, which inside openapi.json would be the document's root)."""
    text = json.dumps(schema).replace('"#/$defs/', f'"#/components/schemas/{prefix}')
    lifted = json.loads(text)
    lifted.pop("$schema", None)
    for name, definition in lifted.pop("$defs", {}).items():
        components[f"{prefix}{name}"] = definition
    return lifted


def _formats_as_annotations(node: Any) -> Any:
    """The contracts are JSON Schema 2020-12, where ``format`` is an annotation unless a dialect says
    otherwise; the rule the gateway (Zod) enforces is the ``pattern`` written beside it (a date-time may
    omit its seconds, for one). schemathesis asserts every format, so beside a pattern it is kept only as
    the annotation ``x-format``."""
    if isinstance(node, list):
        return [_formats_as_annotations(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _formats_as_annotations(value) for key, value in node.items()}
    if "format" in out and "pattern" in out:
        out["x-format"] = out.pop("format")
    return out


def resolve_tool_inputs(spec: Spec, contracts: Spec, contracts_ts: str) -> None:
    """ToolCallRequest.input is "validated against the shared @outlit/tools contract" (openapi.json), so the
    request becomes one branch per tool: that tool's name and its contract's input schema. The schemas
    come from openapi-tool-contracts.json (ToolInput_*) and, for a tool it lacks, from the official
    @outlit/tools contract (reference README). Only the pointer is followed; no rule is added or dropped."""
    components = spec["components"]["schemas"]
    request = components["ToolCallRequest"]
    branches = []
    for tool in request["properties"]["tool"]["enum"]:
        published = contracts["components"]["schemas"].get(f"ToolInput_{tool}")
        schema = copy.deepcopy(published) if published else official_tool_input(contracts_ts, tool)
        schema = _lift_defs(_formats_as_annotations(schema), f"ToolInput_{tool}_", components)
        components[f"ToolInput_{tool}"] = schema
        branch: Spec = {
            "type": "object",
            "required": ["tool", *(["input"] if schema.get("required") else [])],
            "properties": {
                "tool": {"type": "string", "const": tool},
                "input": {"$ref": f"#/components/schemas/ToolInput_{tool}"},
            },
            "additionalProperties": False,
        }
        branches.append(branch)
    components["ToolCallRequest"] = {"description": request.get("description", ""), "oneOf": branches}


def conformance_spec(openapi_spec: Spec, contracts: Spec, contracts_ts: str) -> Spec:
    """The spec schemathesis runs with: errata() plus the tool contracts the request schema points to."""
    spec = errata(openapi_spec)
    resolve_tool_inputs(spec, contracts, contracts_ts)
    return spec


def official_contracts_path(openapi_path: Path) -> Path:
    """official/tool-contracts.ts lives beside openapi.json in the reference folder."""
    return openapi_path.parent / "official" / "tool-contracts.ts"


def main(argv: list[str]) -> None:
    openapi_path = Path(argv[0])
    contracts_path = openapi_path.with_name("openapi-tool-contracts.json")
    spec = conformance_spec(
        json.loads(openapi_path.read_text()),
        json.loads(contracts_path.read_text()),
        official_contracts_path(openapi_path).read_text(),
    )
    json.dump(spec, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
