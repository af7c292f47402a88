"""Outlit deferrable triggers. Importing this package imports Airflow."""

from outlit_provider.triggers.integrations import OutlitConnectSessionTrigger, OutlitIntegrationSyncTrigger

__all__ = ["OutlitConnectSessionTrigger", "OutlitIntegrationSyncTrigger"]
