"""Platform actions (agents, automations, signals, destinations) as a (resource, action) route table.

The table mirrors the REST routes Outlit publishes; only pairs that exist are valid, so a DAG that asks for
``signals``/``enable`` fails when it is parsed rather than when it runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .exceptions import OutlitArgumentError

__all__ = ["PLATFORM_ROUTES", "PlatformRoute", "platform_actions", "resolve_platform_route"]


@dataclass(frozen=True)
class PlatformRoute:
    resource: str
    action: str
    method: str
    #: path with ``{id}`` where the resource id goes
    path: str
    #: True when the route takes a JSON body (create, update, rename)
    body: bool = False

    @property
    def needs_id(self) -> bool:
        return "{id}" in self.path

    @property
    def read_only(self) -> bool:
        return self.method == "GET"

    def url_path(self, resource_id: str | None) -> str:
        if not self.needs_id:
            return self.path
        return self.path.replace("{id}", quote(str(resource_id), safe=""))


def _routes() -> dict[tuple[str, str], PlatformRoute]:
    table: list[PlatformRoute] = [
        PlatformRoute("agent-templates", "list", "GET", "/api/agent-templates"),
        PlatformRoute("agent-actions", "list", "GET", "/api/agent-actions"),
    ]
    lifecycle = {
        "agents": ("enable", "disable", "rename"),
        "automations": ("enable", "disable", "archive"),
        "signals": ("archive",),
        "destinations": ("enable", "disable", "archive"),
    }
    for resource, actions in lifecycle.items():
        base = f"/api/{resource}"
        table += [
            PlatformRoute(resource, "list", "GET", base),
            PlatformRoute(resource, "get", "GET", f"{base}/{{id}}"),
            PlatformRoute(resource, "create", "POST", base, body=True),
            PlatformRoute(resource, "update", "PATCH", f"{base}/{{id}}", body=True),
        ]
        table += [
            PlatformRoute(resource, a, "POST", f"{base}/{{id}}/{a}", body=(a == "rename")) for a in actions
        ]
    return {(r.resource, r.action): r for r in table}


#: every valid (resource, action) pair -> its route
PLATFORM_ROUTES: dict[tuple[str, str], PlatformRoute] = _routes()


def platform_actions() -> dict[str, list[str]]:
    """Resources and the actions each supports, e.g. ``{"signals": ["list", "get", ...]}``."""
    out: dict[str, list[str]] = {}
    for resource, action in PLATFORM_ROUTES:
        out.setdefault(resource, []).append(action)
    return out


def _invalid(message: str, path: list[Any]) -> OutlitArgumentError:
    return OutlitArgumentError(
        message, details=[{"path": path, "message": message}], code="invalid_platform_action"
    )


def resolve_platform_route(
    resource: str, action: str, resource_id: str | None = None, body: Any = None
) -> PlatformRoute:
    """Check a platform call before sending it; the error names what is wrong and what is allowed."""
    actions = platform_actions()
    if resource not in actions:
        close = difflib.get_close_matches(str(resource), list(actions), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise _invalid(
            f"unknown platform resource {resource!r}.{hint} Resources: {', '.join(actions)}", ["resource"]
        )
    route = PLATFORM_ROUTES.get((resource, action))
    if route is None:
        raise _invalid(
            f"{resource} has no {action!r} action; "
            f"valid actions for {resource}: {', '.join(actions[resource])}",
            ["action"],
        )
    if route.needs_id and (resource_id is None or not str(resource_id).strip()):
        raise _invalid(f"{resource}/{action} needs resource_id (the {resource[:-1]} id)", ["resource_id"])
    if not route.needs_id and resource_id is not None:
        raise _invalid(f"{resource}/{action} takes no resource_id; drop it", ["resource_id"])
    if route.body:
        if not isinstance(body, dict) or not body:
            raise _invalid(
                f"{resource}/{action} needs a non-empty JSON object as body (see Outlit's platform-action "
                "request schemas)",
                ["body"],
            )
        if (resource, action) == ("agents", "rename") and not body.get("displayName"):
            raise _invalid("agents/rename needs body={'displayName': '<new name>'}", ["body", "displayName"])
    elif body is not None:
        raise _invalid(f"{resource}/{action} takes no body; drop it", ["body"])
    return route
