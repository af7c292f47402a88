"""Outlit deferrable triggers, imported on first attribute access so importing the package does not import
Airflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outlit_provider._lazy import lazy_exports

if TYPE_CHECKING:
    from outlit_provider.triggers.integrations import (
        OutlitConnectSessionTrigger,
        OutlitIntegrationSyncTrigger,
    )

_LAZY = {
    "OutlitConnectSessionTrigger": "outlit_provider.triggers.integrations",
    "OutlitIntegrationSyncTrigger": "outlit_provider.triggers.integrations",
}

__all__ = ["OutlitConnectSessionTrigger", "OutlitIntegrationSyncTrigger"]

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
