"""Outlit operators, imported on first attribute access so importing the package does not import Airflow."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outlit_provider.operators.ingest import OutlitIngestEventsOperator
    from outlit_provider.operators.integrations import (
        OutlitConnectIntegrationOperator,
        OutlitDisconnectIntegrationOperator,
        OutlitIntegrationSetupStepOperator,
    )
    from outlit_provider.operators.platform import OutlitPlatformActionOperator
    from outlit_provider.operators.query import OutlitQueryOperator
    from outlit_provider.operators.tool import OutlitToolOperator

_LAZY = {
    "OutlitConnectIntegrationOperator": "outlit_provider.operators.integrations",
    "OutlitDisconnectIntegrationOperator": "outlit_provider.operators.integrations",
    "OutlitIngestEventsOperator": "outlit_provider.operators.ingest",
    "OutlitIntegrationSetupStepOperator": "outlit_provider.operators.integrations",
    "OutlitPlatformActionOperator": "outlit_provider.operators.platform",
    "OutlitQueryOperator": "outlit_provider.operators.query",
    "OutlitToolOperator": "outlit_provider.operators.tool",
}

__all__ = [
    "OutlitConnectIntegrationOperator",
    "OutlitDisconnectIntegrationOperator",
    "OutlitIngestEventsOperator",
    "OutlitIntegrationSetupStepOperator",
    "OutlitPlatformActionOperator",
    "OutlitQueryOperator",
    "OutlitToolOperator",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
