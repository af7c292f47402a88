"""The sandbox checked against Outlit's own specs: every route with a property-based tester (schemathesis),
every tool's output with the published output schemas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import spec_path  # noqa: E402
from tests.sandbox.conformance_spec import (  # noqa: E402
    conformance_spec,
    errata,
    official_contracts_path,
)

pytestmark = pytest.mark.spec
EXAMPLES = 16  # per operation (negative mode: half); 38 operations keep the run to seconds

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _load(env_var: str) -> dict[str, Any]:
    return json.loads(Path(spec_path(env_var)).read_text())


@pytest.fixture(scope="module")
def openapi_spec() -> dict[str, Any]:
    return _load("OUTLIT_OPENAPI_SPEC")  # skips (before any server starts) when the spec is not available


@pytest.fixture(scope="module")
def conformance_sandbox(openapi_spec: dict[str, Any]) -> Iterator[Any]:
    import outlit_sandbox

    # Its own instance: the tester creates, archives and disconnects things.
    with outlit_sandbox.running(seed=11, customers=5, events_per_customer=20, facts_per_customer=4) as sb:
        yield sb


def _api_schema(base_url: str, openapi_spec: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(errata(openapi_spec))
    schema.config.update(base_url=base_url)
    return schema


ST_CONFIG = Path(__file__).with_name("schemathesis.toml")
ST_EXAMPLES = 8  # per operation and phase: the three phases over 38 operations stay well under a minute


def test_schemathesis_cli_finds_no_failure(
    openapi_spec: dict[str, Any], conformance_sandbox: Any, tmp_path: Path
) -> None:
    """`st run` as docs/sandbox.md gives it: examples, coverage and fuzzing phases, every default check
    (ST201 schema-violating request accepted, ST202 schema-valid request rejected included), 0 failures."""
    sb = conformance_sandbox
    spec_file = tmp_path / "openapi.json"
    # the errata plus what the request schemas point to (tests/sandbox/conformance_spec.py)
    openapi_path = spec_path("OUTLIT_OPENAPI_SPEC")
    contracts_ts = official_contracts_path(openapi_path).read_text()
    spec = conformance_spec(
        openapi_spec, _load("OUTLIT_TOOL_CONTRACTS"), contracts_ts, sb.base_url, sb.api_key
    )
    spec_file.write_text(json.dumps(spec))
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(ST_CONFIG), "run", str(spec_file),
        "--url", sb.base_url, "--header", f"Authorization: Bearer {sb.api_key}",
        "--phases", "examples,coverage,fuzzing", "--max-examples", str(ST_EXAMPLES), "--seed", "1",
        "--continue-on-failure", "--no-color",
    ]  # fmt: skip
    # test data (schemathesis.toml): a connect session that exists, as the public key is the sandbox's own
    session = httpx.post(
        sb.base_url + "/api/integrations/connect",
        json={"provider": "attio"},
        headers={"Authorization": f"Bearer {sb.api_key}"},
        trust_env=False,
    ).json()["sessionId"]
    env = {**os.environ, "OUTLIT_SANDBOX_PUBLIC_KEY": sb.public_key, "OUTLIT_SANDBOX_SESSION_ID": session}
    run = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=600, check=False, cwd=tmp_path
    )
    report = run.stdout + run.stderr
    assert "38 selected / 38 total" in report, report[-3000:]
    for phase in ("Examples", "Coverage", "Fuzzing"):
        assert f"{phase} (in " in report, f"phase {phase} did not run\n{report[-3000:]}"
    assert run.returncode == 0, report[-6000:]


def test_every_route_conforms_to_openapi(openapi_spec: dict[str, Any], conformance_sandbox: Any) -> None:
    """Generated valid requests for every operation get documented statuses, content types and bodies."""
    sb = conformance_sandbox
    schema = _api_schema(sb.base_url, openapi_spec)
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        path_parameters = {"publicKey": sb.public_key} if "{publicKey}" in operation.path else None

        @given(case=operation.as_strategy(path_parameters=path_parameters))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as err:  # collect every operation's failure, then report them together
            failures[operation.label] = f"{type(err).__name__}: {str(err)[:3000]}"
    assert operations >= 38
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


def test_malformed_requests_never_crash_the_server(
    openapi_spec: dict[str, Any], conformance_sandbox: Any
) -> None:
    """Schema-violating requests (negative mode) get a JSON 4xx, never a 5xx or a non-JSON body."""
    sb = conformance_sandbox
    schema = _api_schema(sb.base_url, openapi_spec)
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        path_parameters = {"publicKey": sb.public_key} if "{publicKey}" in operation.path else None
        strategy = operation.as_strategy(
            generation_mode=schemathesis.GenerationMode.NEGATIVE, path_parameters=path_parameters
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES // 2,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, content_type_conformance])

        try:
            check()
        except Exception as err:
            failures[operation.label] = f"{type(err).__name__}: {str(err)[:3000]}"
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


# --------------------------------------------------------------------------------------------- tools
@pytest.fixture(scope="module")
def contracts() -> dict[str, Any]:
    return _load("OUTLIT_TOOL_CONTRACTS")


def _validator(contracts: dict[str, Any], name: str) -> jsonschema.Validator:
    doc = dict(contracts["components"]["schemas"][name])
    doc["components"] = contracts["components"]
    return jsonschema.Draft202012Validator(doc, format_checker=jsonschema.FormatChecker())


def _tool_calls(ds: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    customer = ds["customers"][0]
    fact_id = next(f["id"] for facts in ds["facts"].values() for f in facts)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("outlit_list_customers", {}),
        ("outlit_list_customers", {"billingStatus": "PAYING", "orderBy": "mrr_cents", "limit": 3}),
        ("outlit_list_users", {"limit": 5, "orderBy": "email", "orderDirection": "asc"}),
        ("outlit_list_workspace_users", {}),
        (
            "outlit_get_customer",
            {
                "customer": customer["domain"],
                "include": ["users", "revenue", "recentTimeline", "behaviorMetrics", "enrichment"],
                "timeframe": "90d",
            },
        ),
        ("outlit_get_customer", {"customer": customer["id"]}),
        ("outlit_get_timeline", {"customer": customer["id"], "timeframe": "all", "limit": 20}),
        ("outlit_list_facts", {"customer": customer["id"], "limit": 100}),
        ("outlit_get_fact", {"factId": fact_id}),
        ("outlit_get_fact", {"factId": fact_id, "include": ["evidence"]}),
        ("outlit_list_sources", {"limit": 100}),
        ("outlit_search_customer_context", {"query": "pricing renewal budget", "topK": 50}),
        ("outlit_search_customer_context", {"query": "security review", "customer": customer["domain"]}),
        ("outlit_query", {"sql": "SELECT * FROM activity ORDER BY occurred_at", "limit": 50}),
        ("outlit_query", {"sql": "SELECT * FROM customers"}),
        ("outlit_query", {"sql": "SELECT * FROM revenue LIMIT 5"}),
        ("outlit_schema", {}),
        ("outlit_schema", {"table": "users"}),
    ]
    for source in ds["sources"][:30]:
        calls.append(("outlit_get_source", source))
    return calls


def test_every_tool_output_matches_its_contract(sandbox: Any, contracts: dict[str, Any]) -> None:
    ds = sandbox.dataset()
    seen = set()
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}
    ) as http:
        for tool, args in _tool_calls(ds):
            response = http.post("/api/tools/call", json={"tool": tool, "input": args})
            assert response.status_code == 200, (tool, args, response.text)
            errors = list(_validator(contracts, f"ToolOutput_{tool}").iter_errors(response.json()))
            assert not errors, (tool, args, [(list(e.path), e.message[:200]) for e in errors[:5]])
            seen.add(tool)
    published = {
        name.removeprefix("ToolOutput_")
        for name in contracts["components"]["schemas"]
        if name.startswith("ToolOutput_")
    }
    served = set(json.loads(Path(spec_path("OUTLIT_OPENAPI_SPEC")).read_text())["components"]["schemas"]
                 ["ToolCallRequest"]["properties"]["tool"]["enum"])  # fmt: skip
    # every tool of this API revision that has a published output schema was exercised
    assert (served & published) - seen == set()


def test_tool_inputs_accept_what_the_contract_accepts(sandbox: Any, contracts: dict[str, Any]) -> None:
    """Inputs built from each published input schema's own bounds and enums are accepted (no 400)."""
    ds = sandbox.dataset()
    customer = ds["customers"][0]["domain"]
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}
    ) as http:
        for name, doc in contracts["components"]["schemas"].items():
            tool = name.removeprefix("ToolInput_")
            if not name.startswith("ToolInput_") or tool not in _served_tools():
                continue
            for field, prop in doc.get("properties", {}).items():
                if "enum" not in prop and "enum" not in prop.get("items", {}):
                    continue
                values = prop.get("enum") or prop["items"]["enum"]
                for value in values:
                    args = {k: _required_value(k, customer, ds) for k in doc.get("required", [])}
                    args[field] = [value] if prop.get("type") == "array" else value
                    response = http.post("/api/tools/call", json={"tool": tool, "input": args})
                    assert response.status_code in (200, 404), (tool, args, response.text)


def _served_tools() -> set[str]:
    spec = json.loads(Path(spec_path("OUTLIT_OPENAPI_SPEC")).read_text())
    return set(spec["components"]["schemas"]["ToolCallRequest"]["properties"]["tool"]["enum"])


def _required_value(key: str, customer: str, ds: dict[str, Any]) -> Any:
    return {
        "customer": customer,
        "factId": next(f["id"] for facts in ds["facts"].values() for f in facts),
        "sourceType": ds["sources"][0]["sourceType"],
        "sourceId": ds["sources"][0]["sourceId"],
        "query": "pricing",
        "sql": "SELECT 1 AS one",
        "title": "Sandbox check",
        "payload": {"ok": True},
    }[key]


# Date-time strings around the contracts' patterns (seconds/fraction optional, hours 00-23, a calendar
# check, and `Z` only except where the pattern also allows `±HH:MM`); each is classified by the schema.
_DATETIMES = (
    "2026-01-31T00:00:00Z",
    "2026-01-31T00:00Z",
    "2026-01-31T23:59:59.123456789Z",
    "2024-02-29T12:00:00Z",
    "0000-02-29T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-01-31T00:00:00+01:00",
    "2026-01-31T00:00-05:30",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-31T24:00:00Z",
    "2026-01-31T00:60:00Z",
    "2026-01-31",
    "2026-01-31T00:00:00",
    "2026-01-31 00:00:00Z",
    "2026-01-31T00:00:00+0100",
    "2026-01-31T00:00:00+24:00",
    "2026-01-31T00:00:00z",
    "",
)
_WINDOWS = ("7d", "24h", "90m", "0d", "7", "7w", "d7", " 7d", "7D")
_KEYS = ("plan", "k" * 100, "k" * 101, "bad key!", "")


def _candidates(schema: dict[str, Any]) -> list[Any]:
    """Boundary and format values for one (sub)schema: some valid by it, some not."""
    if "anyOf" in schema:
        return [v for option in schema["anyOf"] for v in _candidates(option)]
    kind = schema.get("type")
    out: list[Any] = [{"wrong": "type"}] if kind != "object" else ["wrong type"]
    if kind == "null":
        return [None, "null"]
    if "enum" in schema:
        return [*out, schema["enum"][0], schema["enum"][-1], "NOT_AN_OPTION", schema["enum"][0].lower()]
    if kind == "string":
        if schema.get("format") == "date-time":
            return [*out, *_DATETIMES]
        if "pattern" in schema:
            return [*out, *_WINDOWS]
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        lengths = {low, max(low - 1, 0), 3} | ({high, high + 1} if high is not None else set())
        return [*out, *("a" * n for n in sorted(lengths))]
    if kind in ("number", "integer"):
        values: list[Any] = [*out, 1.5, True, "5"]
        for bound in (schema.get("minimum"), schema.get("maximum")):
            if bound is not None:
                values += [bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5]
        return values
    if kind == "boolean":
        return [*out, True, False, "true", 1]
    if kind == "array":
        items = [v for v in _candidates(schema.get("items", {})) if not isinstance(v, dict)]
        return [*out, [], *([v] for v in items)]
    if kind == "object":
        values = [*out, {}]
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            values += [{"plan": v} for v in _candidates(extra)]
        if "propertyNames" in schema:
            values += [{k: "x"} for k in _KEYS]
        return values
    return out


# Fields whose valid values are also checked for meaning (an opaque cursor must be one the server issued,
# SQL must parse): a 400 there is not input validation, so only their length bounds are probed.
_SEMANTIC = {
    "cursor": lambda schema: ["", "a" * 2001] if schema.get("minLength") else [],
    "sql": lambda schema: ["", "SELECT 1" + " " * 9992, "SELECT 1" + " " * 9993, 1],
}


def test_tool_input_validation_agrees_with_the_contract_schemas(
    sandbox: Any, contracts: dict[str, Any]
) -> None:
    """Valid by a published ToolInput_* schema: never a 400. Invalid by it: always a 400."""
    from outlit_sandbox.tool_inputs import TOOL_INPUTS

    schemas = contracts["components"]["schemas"]
    ds = sandbox.dataset()
    customer = ds["customers"][0]["domain"]
    mismatches: list[str] = []
    checked = {True: 0, False: 0}
    tools = [t for t in TOOL_INPUTS if f"ToolInput_{t}" in schemas]
    assert len(tools) >= 12  # every served tool but outlit_send_notification has a published input schema
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}
    ) as http:
        for tool in tools:
            doc = schemas[f"ToolInput_{tool}"]
            # the patterns are what the gateway (Zod) checks; "format" is only an annotation here
            validator = jsonschema.Draft202012Validator(doc)
            base = {k: _required_value(k, customer, ds) for k in doc.get("required", [])}
            cases = [
                base,
                {**base, "zzUnknownKey": 1},
                *({k: v for k, v in base.items() if k != r} for r in base),
            ]
            for field, prop in doc.get("properties", {}).items():
                semantic = _SEMANTIC.get(field)
                values = semantic(prop) if semantic else _candidates(prop)
                cases += [{**base, field: value} for value in values]
            for args in cases:
                valid = validator.is_valid(args)
                status = http.post("/api/tools/call", json={"tool": tool, "input": args}).status_code
                checked[valid] += 1
                if (status in (200, 404)) if valid else (status == 400):
                    continue
                shown = {
                    k: (v[:40] + "…" if isinstance(v, str) and len(v) > 40 else v) for k, v in args.items()
                }
                mismatches.append(
                    f"{tool} {shown}: schema says {'valid' if valid else 'invalid'}, got {status}"
                )
    assert checked[True] > 100 and checked[False] > 100  # both sides were really probed
    assert not mismatches, "\n".join(mismatches)
