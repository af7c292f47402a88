"""Airflow hook for Outlit. Importing this package imports Airflow."""

from outlit_provider.hooks.outlit import OutlitHook

__all__ = ["OutlitHook"]
