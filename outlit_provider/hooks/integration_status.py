"""Pure evaluation of Outlit integration status responses.

The sensor (worker, sync) and the trigger (triggerer, async) fetch the same two responses through different
clients; judging them here keeps both on one definition of "done", "still waiting" and "failed".
No Airflow import, so this module is cheap to test on its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from outlit_core.parsing import parse_timestamp

if TYPE_CHECKING:
    from outlit_core.client import AsyncOutlitClient, OutlitClient

CheckState = Literal["success", "waiting", "failed"]

# Kept short: the summary travels in trigger events and XCom, which must stay small.
_MAX_SUMMARY_MODELS = 50


@dataclass(frozen=True)
class StatusCheck:
    """Verdict on one status response: ``state`` plus a human message and a small JSON-able summary."""

    state: CheckState
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state != "waiting"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_sync_status(
    response: dict[str, Any],
    *,
    provider: str,
    models: list[str] | None = None,
    synced_after: datetime | None = None,
) -> StatusCheck:
    """Judge a ``GET /api/integrations/sync-status`` response.

    success: every selected model is SUCCESS with ``lastSyncedAt`` at or after ``synced_after``.
    failed:  the provider is not connected, a selected model is FAILED, or a named model is unknown
             while the provider already reports other models (a typo would otherwise wait until timeout).
    waiting: anything else (no syncs reported yet, PENDING/RUNNING, or SUCCESS but older than the bound).
    """
    if response.get("status") == "not_connected":
        return StatusCheck(
            "failed",
            f"Integration {provider!r} is not connected to Outlit, so it will never sync. Connect it first "
            "(OutlitConnectIntegrationOperator or the Outlit app) and re-run this task.",
            {"provider": provider, "status": "not_connected"},
        )
    syncs = [s for s in response.get("syncs") or [] if isinstance(s, dict)]
    by_model = {str(s.get("model")): s for s in syncs}
    if models:
        missing = [m for m in models if m not in by_model]
        if missing and by_model:
            return StatusCheck(
                "failed",
                f"Integration {provider!r} reports no sync for model(s) {missing}; it reports "
                f"{sorted(by_model)[:_MAX_SUMMARY_MODELS]}. Fix the `models` argument.",
                {"provider": provider, "missing_models": missing},
            )
        selected = [by_model[m] for m in models if m in by_model]
    else:
        missing = []
        selected = syncs
    summary = [_summarise(s) for s in selected[:_MAX_SUMMARY_MODELS]]
    details = {"provider": provider, "syncs": summary}
    if not selected or missing:
        return StatusCheck("waiting", f"Integration {provider!r} has not reported a sync yet.", details)

    failed = [s for s in selected if str(s.get("status", "")).upper() == "FAILED"]
    if failed:
        reasons = "; ".join(
            f"{s.get('model')}: {s.get('errorMessage') or 'no error message given'}" for s in failed
        )
        return StatusCheck("failed", f"Integration {provider!r} sync FAILED ({reasons})", details)

    pending = []
    for sync in selected:
        if str(sync.get("status", "")).upper() != "SUCCESS":
            pending.append(f"{sync.get('model')} is {sync.get('status')}")
            continue
        if synced_after is None:
            continue
        last = sync.get("lastSyncedAt")
        if not last:
            pending.append(f"{sync.get('model')} has no lastSyncedAt")
        elif parse_timestamp(last, field="lastSyncedAt") < synced_after:
            pending.append(f"{sync.get('model')} last synced {last}, before {synced_after.isoformat()}")
    if pending:
        return StatusCheck("waiting", f"Integration {provider!r}: " + "; ".join(pending), details)
    bound = f" at or after {synced_after.isoformat()}" if synced_after else ""
    return StatusCheck(
        "success", f"Integration {provider!r}: {len(selected)} model(s) synced successfully{bound}", details
    )


def evaluate_connect_status(response: dict[str, Any], *, session_id: str) -> StatusCheck:
    """Judge a ``GET /api/integrations/connect/status`` response for one browser connect session."""
    status = str(response.get("status", ""))
    provider = response.get("provider")
    details = {"session_id": session_id, "provider": provider, "status": status}
    if status == "connected":
        return StatusCheck("success", f"Integration {provider!r} connected (session {session_id}).", details)
    if status == "pending":
        return StatusCheck("waiting", f"Connect session {session_id} for {provider!r} is pending.", details)
    if status in {"failed", "expired"}:
        reason = response.get("error") or "no error message given"
        hint = " Start a new session: the connect URL is single-use." if status == "expired" else ""
        return StatusCheck(
            "failed", f"Connect session {session_id} for {provider!r} {status}: {reason}.{hint}", details
        )
    return StatusCheck("failed", f"Connect session {session_id} returned unknown status {status!r}.", details)


def _summarise(sync: dict[str, Any]) -> dict[str, Any]:
    error = sync.get("errorMessage")
    return {
        "model": sync.get("model"),
        "status": sync.get("status"),
        "lastSyncedAt": sync.get("lastSyncedAt"),
        "errorMessage": error[:500] if isinstance(error, str) else error,
    }


# -- the checks the sensor (sync client) and the triggers (async client) run -------------------------------


def check_sync_status(
    client: OutlitClient,
    provider: str,
    *,
    models: list[str] | None = None,
    synced_after: datetime | None = None,
) -> StatusCheck:
    response = client.sync_status(provider)
    return evaluate_sync_status(response, provider=provider, models=models, synced_after=synced_after)


async def acheck_sync_status(
    client: AsyncOutlitClient,
    provider: str,
    *,
    models: list[str] | None = None,
    synced_after: datetime | None = None,
) -> StatusCheck:
    response = await client.sync_status(provider)
    return evaluate_sync_status(response, provider=provider, models=models, synced_after=synced_after)


def check_connect_session(client: OutlitClient, session_id: str) -> StatusCheck:
    return evaluate_connect_status(client.connection_status(session_id), session_id=session_id)


async def acheck_connect_session(client: AsyncOutlitClient, session_id: str) -> StatusCheck:
    return evaluate_connect_status(await client.connection_status(session_id), session_id=session_id)
