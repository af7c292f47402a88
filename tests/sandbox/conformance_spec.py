"""The openapi.json that schemathesis checks the sandbox against: the published spec with its two known
errata read as Outlit means them, the pointers its own text makes resolved, and the tool inputs no JSON
schema can state (SQL, issued cursors) given as test data (nothing else changes).

By hand (docs/sandbox.md, "Conformance"), with a sandbox running at <base_url>:
    python -m tests.sandbox.conformance_spec <reference>/openapi.json <base_url> <api_key> > errata.json
(openapi-tool-contracts.json and official/tool-contracts.ts are read from beside openapi.json).
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx

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


_CANNOT_BE_USED_WITH = re.compile(r"Cannot be used with ([A-Za-z/]+)\.")


def _exclusions(schema: Spec) -> Spec:
    """A contract property whose description says "Cannot be used with a/b." may not appear beside them
    (ToolInput_outlit_get_timeline: timeframe vs startDate/endDate); said in JSON Schema as `not`."""
    pairs = set()
    for name, prop in schema.get("properties", {}).items():
        found = _CANNOT_BE_USED_WITH.search(prop.get("description", ""))
        for other in found.group(1).split("/") if found else ():
            pairs.add(tuple(sorted((name, other))))
    if pairs:
        schema = {**schema, "allOf": [{"not": {"required": list(pair)}} for pair in sorted(pairs)]}
    return schema


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
        schema = _lift_defs(_exclusions(_formats_as_annotations(schema)), f"ToolInput_{tool}_", components)
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


def resolve_client_visitor(spec: Spec) -> None:
    """IngestEventsRequest.visitorId is "Required for client tracking" and ``source`` defaults to ``client``
    (openapi.json; ingest.md: "Required for browser (client) tracking"): said in JSON Schema, a body either
    has a visitorId or names a server-side source."""
    request = spec["components"]["schemas"]["IngestEventsRequest"]
    server_side = [s for s in request["properties"]["source"]["enum"] if s != "client"]
    request["anyOf"] = [
        {"required": ["visitorId"]},
        {"required": ["source"], "properties": {"source": {"enum": server_side}}},
    ]


# ------------------------------------------------------------------- references to the server's own lists
def resolve_action_keys(spec: Spec, actions: list[dict[str, Any]]) -> None:
    """An agent's ``actionKeys`` name "action capabilities that an Outlit agent may reference", which is
    what GET /api/agent-actions lists (openapi.json, listAgentActions): the keys it lists are the values,
    as the ingest path's publicKey is the sandbox's own (test data, read from the server under test)."""
    keys = sorted(action["key"] for action in actions)
    for name in ("CreateAgentCustomRequest", "UpdateAgentRequest"):
        spec["components"]["schemas"][name]["properties"]["actionKeys"]["items"]["enum"] = keys


def _step_tokens(step: dict[str, Any]) -> list[str]:
    """A post-connect step is named by its id or its command's last word, as Outlit's CLI resolves a step
    (outlit-sdk packages/cli/src/commands/integrations/setup.ts, resolvePostConnectStep)."""
    return sorted({step["id"], *([step["command"].split()[-1]] if step.get("command") else [])})


def resolve_provider_setup(spec: Spec, capabilities: dict[str, dict[str, Any]]) -> None:
    """Per provider, what its capabilities say it takes (GET /api/integrations/capabilities: "setup mode,
    required credential fields, and follow-up steps"):

    * setup-step runs "a supported follow-up setup step" (openapi.json), i.e. one of the provider's
      ``postConnectSteps`` that is ``supported``; a provider with none has no setup-step request.
    * connect's ``config`` is the "direct credential config" (openapi.json): for a provider with
      ``requiredFields`` an object with each of them (a non-empty string: Outlit's CLI refuses a falsy
      one, setup.ts parseConfigOrExit); a browser-auth provider takes no config (the CLI refuses
      ``--config`` for it: "uses browser authentication and does not accept --config").
    """
    schemas = spec["components"]["schemas"]
    step_request, connect_request = (
        schemas["IntegrationSetupStepRequest"],
        schemas["IntegrationConnectRequest"],
    )
    steps, connects = [], []
    for provider, capability in sorted(capabilities.items()):
        tokens = sorted(
            {t for s in capability["postConnectSteps"] if s["supported"] for t in _step_tokens(s)}
        )
        if tokens:
            branch = copy.deepcopy(step_request)
            branch["properties"]["provider"] = {"type": "string", "const": provider}
            branch["properties"]["step"] = {**branch["properties"]["step"], "enum": tokens}
            steps.append(branch)
        branch = copy.deepcopy(connect_request)
        branch["properties"]["provider"] = {"type": "string", "const": provider}
        fields = [field["key"] for field in capability["requiredFields"]]
        if fields:
            branch["properties"]["config"] = {
                **branch["properties"]["config"],
                "required": fields,
                "properties": {key: {"type": "string", "minLength": 1} for key in fields},
            }
        else:
            del branch["properties"]["config"]
        connects.append(branch)
    schemas["IntegrationSetupStepRequest"] = {"oneOf": steps}
    schemas["IntegrationConnectRequest"] = {"oneOf": connects}


# ------------------------------------------------------------------------- tool inputs given as test data
# SQL is a language: no JSON schema can say "a read-only SELECT over the documented views that parses", which
# is what outlit_query's `sql` must be (ToolInput_outlit_query: "SQL SELECT query to execute";
# official/sql-reference.md: "Only SELECT queries are allowed"). So the tester is handed valid statements, as
# it is handed the sandbox's real publicKey: the sql-reference patterns as whole queries, each checked
# against ClickHouse itself (clickhouse_cases.json, test_sandbox_clickhouse_sql.py).
CLICKHOUSE_CASES = Path(__file__).with_name("clickhouse_cases.json")


def resolve_sql(spec: Spec, statements: list[str]) -> None:
    """outlit_query's `sql` takes one of ``statements`` (its length rules stay)."""
    sql = spec["components"]["schemas"]["ToolInput_outlit_query"]["properties"]["sql"]
    sql["enum"] = statements


def _first_page_cursors(http: httpx.Client) -> dict[str, str]:
    """The nextCursor each paginated tool issues for its first page (limit 1) on the running sandbox."""

    def call(tool: str, limit: int = 1, **inputs: str) -> Any:
        body = {"tool": tool, "input": {**inputs, "limit": limit}}
        return http.post("/api/tools/call", json=body).raise_for_status().json()

    customer = call("outlit_list_customers")["items"][0]["id"]
    pages = {
        tool: call(tool)["pagination"]
        for tool in ("outlit_list_customers", "outlit_list_users", "outlit_list_workspace_users")
    }
    pages |= {
        "outlit_get_timeline": call("outlit_get_timeline", customer=customer, timeframe="all")["pagination"],
        "outlit_list_facts": call("outlit_list_facts", customer=customer)["pagination"],
        "outlit_list_sources": call("outlit_list_sources")["pagination"],
    }
    # a Slack thread pages its replies ("Opaque Slack reply cursor returned by a previous exact lookup"):
    # the first thread with more than one reply
    for slack in call("outlit_list_sources", limit=100, sourceType="SLACK")["items"]:
        source = call("outlit_get_source", sourceType="SLACK", sourceId=slack["sourceId"])
        pages["outlit_get_source"] = source["record"]["repliesPagination"]
        if pages["outlit_get_source"]["nextCursor"]:
            break
    cursors = {tool: page["nextCursor"] for tool, page in pages.items()}
    if not all(cursors.values()):
        raise ValueError(f"a paginated tool issued no cursor on this dataset: {cursors}")
    return cursors


def resolve_cursors(spec: Spec, cursors: dict[str, str]) -> None:
    """A tool's `cursor` is one "from previous response": the one the server issued for that tool (or none).
    The sandbox reads a cursor as the last item served plus its offset, so one issued with other inputs
    still pages (no answer refuses it); only a cursor it never issued is a 400."""
    schemas = spec["components"]["schemas"]
    for branch in schemas["ToolCallRequest"]["oneOf"]:
        tool = branch["properties"]["tool"]["const"]
        cursor = schemas[f"ToolInput_{tool}"].get("properties", {}).get("cursor")
        if cursor is not None:
            cursor["enum"] = [cursors[tool]]


def resolve_server_lists(spec: Spec, base_url: str, api_key: str) -> None:
    """Reads the lists the spec points to, and the cursors its tools issue, from the server under test and
    resolves them in ``spec``."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, trust_env=False
    ) as http:
        actions = http.get("/api/agent-actions").raise_for_status().json()["result"]["data"]["actions"]
        capabilities = http.get("/api/integrations/capabilities").raise_for_status().json()
        cursors = _first_page_cursors(http)
    resolve_action_keys(spec, actions)
    resolve_provider_setup(spec, capabilities)
    resolve_cursors(spec, cursors)


def conformance_spec(
    openapi_spec: Spec, contracts: Spec, contracts_ts: str, base_url: str, api_key: str
) -> Spec:
    """The spec schemathesis runs with: errata() plus what its request schemas point to (the tool contracts,
    the server's action and provider capability lists)."""
    spec = errata(openapi_spec)
    resolve_tool_inputs(spec, contracts, contracts_ts)
    resolve_client_visitor(spec)
    resolve_sql(spec, [case["sql"] for case in json.loads(CLICKHOUSE_CASES.read_text())])
    resolve_server_lists(spec, base_url, api_key)
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
        base_url=argv[1],
        api_key=argv[2],
    )
    json.dump(spec, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
