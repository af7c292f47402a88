"""Outlit operators, imported on first attribute access so importing the package does not import Airflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outlit_provider._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
