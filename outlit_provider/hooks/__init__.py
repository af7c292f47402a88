"""Airflow hook for Outlit.

``OutlitHook`` is imported on first attribute access, not with the package: ``get_provider_info`` reads
``hooks.connection_settings`` and must not import Airflow by doing so.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outlit_provider.hooks.outlit import OutlitHook

_LAZY = {"OutlitHook": "outlit_provider.hooks.outlit"}

__all__ = ["OutlitHook"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
