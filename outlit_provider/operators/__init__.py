"""Outlit operators. Importing this package imports Airflow."""

from outlit_provider.operators.ingest import OutlitIngestEventsOperator
from outlit_provider.operators.integrations import (
    OutlitConnectIntegrationOperator,
    OutlitDisconnectIntegrationOperator,
    OutlitIntegrationSetupStepOperator,
)
from outlit_provider.operators.platform import OutlitPlatformActionOperator
from outlit_provider.operators.query import OutlitQueryOperator
from outlit_provider.operators.tool import OutlitToolOperator

__all__ = [
    "OutlitConnectIntegrationOperator",
    "OutlitDisconnectIntegrationOperator",
    "OutlitIngestEventsOperator",
    "OutlitIntegrationSetupStepOperator",
    "OutlitPlatformActionOperator",
    "OutlitQueryOperator",
    "OutlitToolOperator",
]
