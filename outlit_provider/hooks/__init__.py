"""Airflow hook for Outlit.

``OutlitHook`` is imported on first attribute access, not with the package: ``get_provider_info`` reads
``hooks.connection_settings`` and must not import Airflow by doing so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outlit_provider._lazy import lazy_exports

if TYPE_CHECKING:
    from outlit_provider.hooks.outlit import OutlitHook

_LAZY = {"OutlitHook": "outlit_provider.hooks.outlit"}

__all__ = ["OutlitHook"]

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
