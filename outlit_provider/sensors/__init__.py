"""Outlit sensors, imported on first attribute access so importing the package does not import Airflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outlit_provider._lazy import lazy_exports

if TYPE_CHECKING:
    from outlit_provider.sensors.integrations import OutlitIntegrationSyncSensor

_LAZY = {"OutlitIntegrationSyncSensor": "outlit_provider.sensors.integrations"}

__all__ = ["OutlitIntegrationSyncSensor"]

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
