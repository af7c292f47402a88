"""The Outlit API client, sync and async, shared by the Airflow provider, the dlt source and the CLI.

Importing this package never imports Airflow or dlt.
"""

# The event API, the exceptions, the result models and the platform routes are exported as their modules
# list them (each module's ``__all__``), so a new exception or model is exported where it is defined.
from . import events, exceptions, models, platform
from .async_ import AsyncOutlitClient
from .config import ClientConfig
from .events import *  # noqa: F403
from .exceptions import *  # noqa: F403
from .models import *  # noqa: F403
from .platform import *  # noqa: F403
from .ratelimit import TokenBucket
from .retry import RetryPolicy
from .sync import OutlitClient
from .tools import TOOLS, ToolSpec, get_tool, tool_names, validate_tool_input
from .urls import DEFAULT_BASE_URL

__all__ = [
    "DEFAULT_BASE_URL",
    "TOOLS",
    "AsyncOutlitClient",
    "ClientConfig",
    "OutlitClient",
    "RetryPolicy",
    "TokenBucket",
    "ToolSpec",
    "check_read_only_sql",  # noqa: F405 - imported on first use, by __getattr__ below
    "get_tool",
    "tool_names",
    "validate_tool_input",
]
__all__ += events.__all__
__all__ += exceptions.__all__
__all__ += models.__all__
__all__ += platform.__all__


def __getattr__(name: str) -> object:
    # The SQL guard pulls in sqlglot (~0.3 s); import it on first use so a DAG file that only needs the
    # client does not pay for it at every parse.
    if name == "check_read_only_sql":
        from .sql_guard import check_read_only_sql

        return check_read_only_sql
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
