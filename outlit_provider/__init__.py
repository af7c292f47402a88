"""Outlit for Apache Airflow: connection type, hook, operators, sensors, triggers and a transfer operator.

The provider is a thin layer over ``outlit_core`` (the API client and the reverse-load engine). Importing
this package does not import Airflow; only the hook/operator/sensor/trigger modules do.
"""

from outlit_core import __version__

__all__ = ["__version__"]
