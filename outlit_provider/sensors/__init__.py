"""Outlit sensors, imported on first attribute access so importing the package does not import Airflow."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outlit_provider.sensors.integrations import OutlitIntegrationSyncSensor

_LAZY = {"OutlitIntegrationSyncSensor": "outlit_provider.sensors.integrations"}

__all__ = ["OutlitIntegrationSyncSensor"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
