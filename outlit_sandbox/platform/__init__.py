"""Platform actions (agents, automations, signals, destinations) behind command envelopes.

One explicit table says which route runs which command and whether it reads a JSON body; the commands
are module-level functions of the resource modules, taking the :class:`Platform` state (``enable`` and
``disable`` are each resource's one ``toggle`` bound to a direction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from . import agents, automations, destinations, signals
from .store import CommandError, Platform, error_envelope, is_uuid

Result = tuple[str, dict[str, Any], list[dict[str, str]], list[str]]


class Command(NamedTuple):
    method: str
    path: str  # {id} stands for the resource id
    command_id: str
    run: Callable[[Platform, Any, Any], Result]
    takes_body: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("GET", "/api/agent-templates", "agent.listTemplates", agents.listTemplates),
    Command("GET", "/api/agent-actions", "agent.listAvailableActions", agents.listAvailableActions),
    Command("GET", "/api/agents", "agent.list", agents.list_all),
    Command("POST", "/api/agents", "agent.create", agents.create, True),
    Command("GET", "/api/agents/{id}", "agent.get", agents.get),
    Command("PATCH", "/api/agents/{id}", "agent.update", agents.update, True),
    Command("POST", "/api/agents/{id}/enable", "agent.enable", agents.enable),
    Command("POST", "/api/agents/{id}/disable", "agent.disable", agents.disable),
    Command("POST", "/api/agents/{id}/rename", "agent.rename", agents.rename, True),
    Command("GET", "/api/automations", "automation.list", automations.list_all),
    Command("POST", "/api/automations", "automation.create", automations.create, True),
    Command("GET", "/api/automations/{id}", "automation.get", automations.get),
    Command("PATCH", "/api/automations/{id}", "automation.update", automations.update, True),
    Command("POST", "/api/automations/{id}/enable", "automation.enable", automations.enable),
    Command("POST", "/api/automations/{id}/disable", "automation.disable", automations.disable),
    Command("POST", "/api/automations/{id}/archive", "automation.archive", automations.archive),
    Command("GET", "/api/signals", "signal.list", signals.list_all),
    Command("POST", "/api/signals", "signal.create", signals.create, True),
    Command("GET", "/api/signals/{id}", "signal.get", signals.get),
    Command("PATCH", "/api/signals/{id}", "signal.update", signals.update, True),
    Command("POST", "/api/signals/{id}/archive", "signal.archive", signals.archive),
    Command("GET", "/api/destinations", "destination.list", destinations.list_all),
    Command("POST", "/api/destinations", "destination.create", destinations.create, True),
    Command("GET", "/api/destinations/{id}", "destination.get", destinations.get),
    Command("PATCH", "/api/destinations/{id}", "destination.update", destinations.update, True),
    Command("POST", "/api/destinations/{id}/enable", "destination.enable", destinations.enable),
    Command("POST", "/api/destinations/{id}/disable", "destination.disable", destinations.disable),
    Command("POST", "/api/destinations/{id}/archive", "destination.archive", destinations.archive),
)

__all__ = ["COMMANDS", "Command", "CommandError", "Platform", "error_envelope", "is_uuid"]
