"""Outlit for Apache Airflow: hook, operators, sensors and triggers, plus the shared Outlit API client.

Importing this package does not import Airflow; only the hook/operator/sensor/trigger modules do.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("outlit-connector")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
