"""Outlit sensors. Importing this package imports Airflow."""

from outlit_provider.sensors.integrations import OutlitIntegrationSyncSensor

__all__ = ["OutlitIntegrationSyncSensor"]
