"""The Airflow-free core of the Outlit connector: the API client and the reverse-load engine.

The Airflow provider (``outlit_provider``), the dlt source (``dlt_sources``) and the command line
(``outlit_cli``) all build on this package; it imports none of them, nor Airflow, nor dlt.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("outlit-connector")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
