"""Every tool of POST /api/tools/call by name, and the SQL and notification tools."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import field_error, not_found
from .timeutil import iso
from .tools import (
    get_customer,
    get_fact,
    get_timeline,
    list_customers,
    list_facts,
    list_users,
    list_workspace_users,
)
from .tools_context import get_source, list_sources, search_customer_context

if TYPE_CHECKING:
    from .state import SandboxState


# ------------------------------------------------------------------------------------------ sql + misc
def query(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    state.sql.sync(state.dataset, state.ingest.activity_rows)
    return state.sql.run(
        args["sql"], int(args.get("limit", 1000)), state.dataset.now, state.config.query_timeout
    )


def schema(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    from .sql import describe

    return describe(args.get("table"))


def send_notification(state: SandboxState, args: dict[str, Any]) -> dict[str, Any]:
    # the contract requires only a title: a notification may be nothing more
    if "payload" in args and len(json.dumps(args["payload"], ensure_ascii=False)) > 100_000:
        raise field_error(["payload"], "Payload serialized size must be 100,000 characters or fewer")
    destinations = ["slack"]  # the organization's default notifier when destinationIds is omitted
    if "destinationIds" in args:
        known = {i for i, d in state.platform.destinations.items() if d["archivedAt"] is None}
        for i, did in enumerate(args["destinationIds"]):
            if did not in known:  # a reference to nothing: not found, like an unknown customer
                raise not_found("Notification destination", did, ["destinationIds", i])
        destinations = list(args["destinationIds"])
    notification_id = f"ntf_{secrets.token_hex(8)}"
    state.notifications.append({"id": notification_id, "sentAt": iso(state.dataset.now), **args})
    return {"success": True, "notificationId": notification_id, "destinations": destinations}


HANDLERS: dict[str, Callable[[SandboxState, dict[str, Any]], dict[str, Any]]] = {
    "outlit_list_customers": list_customers,
    "outlit_list_users": list_users,
    "outlit_list_workspace_users": list_workspace_users,
    "outlit_get_customer": get_customer,
    "outlit_get_timeline": get_timeline,
    "outlit_list_facts": list_facts,
    "outlit_get_fact": get_fact,
    "outlit_get_source": get_source,
    "outlit_list_sources": list_sources,
    "outlit_search_customer_context": search_customer_context,
    "outlit_query": query,
    "outlit_schema": schema,
    "outlit_send_notification": send_notification,
}
