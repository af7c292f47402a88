"""The Outlit API client, sync and async, shared by the Airflow provider, the dlt source and the CLI.

Importing this package never imports Airflow or dlt.
"""

from .async_ import AsyncOutlitClient
from .config import ClientConfig
from .events import (
    EVENT_TYPES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    BatchResult,
    DeliveryReport,
    EventOutcome,
    EventRejection,
    IngestResult,
    PreparedEvent,
    is_email,
    iter_event_batches,
    plan_requests,
    prepare_event,
)
from .exceptions import (
    OutlitAPIError,
    OutlitArgumentError,
    OutlitAuthError,
    OutlitConfigurationError,
    OutlitConflictError,
    OutlitError,
    OutlitEventError,
    OutlitInputError,
    OutlitNotFoundError,
    OutlitPermissionError,
    OutlitPlanLimitError,
    OutlitRateLimitError,
    OutlitResponseError,
    OutlitServerError,
    OutlitToolInputError,
    OutlitTransportError,
    OutlitUnknownToolError,
    OutlitUnsafeQueryError,
    OutlitValidationError,
)
from .models import ApiKeyInfo, QueryResult
from .platform import PLATFORM_ROUTES, PlatformRoute, platform_actions, resolve_platform_route
from .ratelimit import TokenBucket
from .retry import RetryPolicy
from .sync import OutlitClient
from .tools import TOOLS, ToolSpec, get_tool, tool_names, validate_tool_input
from .urls import DEFAULT_BASE_URL

__all__ = [
    "DEFAULT_BASE_URL",
    "EVENT_TYPES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "PLATFORM_ROUTES",
    "TOOLS",
    "ApiKeyInfo",
    "AsyncOutlitClient",
    "BatchResult",
    "ClientConfig",
    "DeliveryReport",
    "EventOutcome",
    "EventRejection",
    "IngestResult",
    "OutlitAPIError",
    "OutlitArgumentError",
    "OutlitAuthError",
    "OutlitClient",
    "OutlitConfigurationError",
    "OutlitConflictError",
    "OutlitError",
    "OutlitEventError",
    "OutlitInputError",
    "OutlitNotFoundError",
    "OutlitPermissionError",
    "OutlitPlanLimitError",
    "OutlitRateLimitError",
    "OutlitResponseError",
    "OutlitServerError",
    "OutlitToolInputError",
    "OutlitTransportError",
    "OutlitUnknownToolError",
    "OutlitUnsafeQueryError",
    "OutlitValidationError",
    "PlatformRoute",
    "PreparedEvent",
    "QueryResult",
    "RetryPolicy",
    "TokenBucket",
    "ToolSpec",
    "check_read_only_sql",
    "get_tool",
    "is_email",
    "iter_event_batches",
    "plan_requests",
    "platform_actions",
    "prepare_event",
    "resolve_platform_route",
    "tool_names",
    "validate_tool_input",
]


def __getattr__(name: str) -> object:
    # The SQL guard pulls in sqlglot (~0.3 s); import it on first use so a DAG file that only needs the
    # client does not pay for it at every parse.
    if name == "check_read_only_sql":
        from .sql_guard import check_read_only_sql

        return check_read_only_sql
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
