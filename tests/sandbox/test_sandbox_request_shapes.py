"""Request bodies the sandbox refuses because openapi.json refuses them (schemathesis ST201 findings).

Each case is invalid by the named openapi.json schema and must get the route's documented 400, never a
200 (the body silently accepted) nor a 500.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.fixture
def http(sandbox: Any) -> Any:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}
    ) as client:
        yield client


def test_connect_refuses_null_config_and_unknown_keys(http: httpx.Client) -> None:
    # IntegrationConnectRequest: config is an object (omit it for a browser session), no other keys
    null_config = http.post("/api/integrations/connect", json={"provider": "posthog", "config": None})
    assert null_config.status_code == 400, null_config.text
    assert null_config.json()["details"][0]["path"] == ["config"]
    unknown = http.post("/api/integrations/connect", json={"provider": "posthog", "zz": 1})
    assert unknown.status_code == 400 and "zz" in unknown.json()["error"]
    # Outlit's own CLI sends force=true to reconnect: still accepted
    forced = http.post("/api/integrations/connect", json={"provider": "posthog", "force": True})
    assert forced.status_code == 200, forced.text


def test_disconnect_refuses_unknown_keys(http: httpx.Client) -> None:
    # IntegrationDisconnectRequest: only provider
    response = http.post("/api/integrations/disconnect", json={"provider": "stripe", "zz": 42})
    assert response.status_code == 400 and "zz" in response.json()["error"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/o\u000f", "https://hooks.example.com/caf\u00e9", "https://a b"]
)
def test_destination_url_must_be_a_uri(http: httpx.Client, url: str) -> None:
    # CreateDestinationRequest.url: format uri (RFC 3986 characters only)
    response = http.post("/api/destinations", json={"name": "Ops", "url": url})
    assert response.status_code == 400, response.text
    ok = http.post("/api/destinations", json={"name": "Ops", "url": "https://hooks.example.com/a%20b?x=1"})
    assert ok.status_code == 200, ok.text


def _pattern(detection: dict[str, Any], **definition: Any) -> dict[str, Any]:
    return {
        "kind": "EVENT_PATTERN",
        "name": "Inactive",
        "definition": {
            "schemaVersion": "2026-06-17",
            "subjectType": "customer",
            "detection": detection,
            **definition,
        },
    }


_INACTIVITY = {
    "type": "related_user_inactivity",
    "priorWindow": {"value": 30, "unit": "day"},
    "inactiveWindow": {"value": 14, "unit": "day"},
    "minimumPriorActiveDays": 3,
    "minimumPreviouslyActiveUsers": 2,
}
_THRESHOLD = {
    "type": "event_count_threshold",
    "eventNames": ["login"],
    "threshold": {"operator": ">=", "count": 5},
    "window": {"value": 24, "unit": "hour"},
    "propertyConditions": [
        {"key": "plan", "operator": "equals", "value": "pro"},
        {"key": "x", "operator": "exists"},
    ],
}


@pytest.mark.parametrize(
    "body",
    [
        _pattern({**_INACTIVITY, "zz": 1}),  # detection closed (RelatedUserInactivityDetection)
        _pattern({**_INACTIVITY, "type": {}}),  # type not a detection type (was a 500)
        _pattern({**_INACTIVITY, "priorWindow": {"value": 30, "unit": "hour"}}),  # ActivityWindow: days only
        _pattern(_INACTIVITY, zz=1),  # AuthoredSignalDefinition closed
        _pattern(_INACTIVITY, catalogSource={"provider": "outlit", "key": "k", "version": "1", "zz": 1}),
        _pattern({**_THRESHOLD, "propertyConditions": [{"key": "x", "operator": "exists", "value": 1}]}),
        _pattern({**_THRESHOLD, "propertyConditions": [{"key": "x", "operator": "starts_with", "value": 1}]}),
        _pattern({**_THRESHOLD, "propertyConditions": [{"key": "x", "operator": {}}]}),
        {
            "kind": "EVENT_MATCH",
            "name": "Logins",
            "definition": {
                "grain": "customer",
                "subjectResolver": "event_customer",
                "eventNames": ["a"],
                "zz": 1,
            },
        },
    ],
)
def test_signal_definitions_are_closed_shapes(http: httpx.Client, body: dict[str, Any]) -> None:
    response = http.post("/api/signals", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_failed"


@pytest.mark.parametrize("detection", [_INACTIVITY, _THRESHOLD])
def test_valid_signal_definitions_are_accepted(http: httpx.Client, detection: dict[str, Any]) -> None:
    response = http.post("/api/signals", json=_pattern(detection))
    assert response.status_code == 200, response.text
