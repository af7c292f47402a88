"""Deferrable triggers that poll Outlit integration status from the triggerer.

Each trigger yields exactly one event, ``{"status", "message", ...}`` with status ``success``, ``failed``,
``timeout`` or ``error``; the operator's ``execute_complete`` turns anything but ``success`` into a task
failure carrying the message. Rate limits and transient 5xx are retried inside the client (honouring
``Retry-After``); a few further transient failures in a row are tolerated before giving up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from outlit_core.parsing import parse_timestamp
from outlit_provider.hooks.integration_status import StatusCheck, acheck_connect_session, acheck_sync_status
from outlit_provider.hooks.outlit import OutlitHook

if TYPE_CHECKING:
    from outlit_core.client import AsyncOutlitClient

EVENT_STATUSES = frozenset({"success", "failed", "timeout", "error"})


def validate_trigger_event(event: Any) -> dict[str, Any]:
    """Return a success event's payload, or raise with the remote error text carried by any other event."""
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise AirflowException(f"Outlit trigger returned a malformed event: {event!r}")
    if event["status"] != "success":
        raise AirflowException(str(event.get("message") or f"Outlit trigger ended with {event['status']}"))
    return event


class _OutlitPollTrigger(BaseTrigger):
    """Shared poll loop: one check per ``poll_interval`` until done, ``end_time`` or a hard error.

    Subclasses name their own arguments in ``_fields`` (serialized beside the poll settings below) and the
    ones that identify what is waited for, copied into every event, in ``_subject_fields``.

    :param outlit_conn_id: the Outlit connection.
    :param poll_interval: seconds between checks.
    :param end_time: absolute UNIX time after which the trigger reports ``timeout``.
    :param max_consecutive_errors: transient API errors in a row tolerated before giving up.
    :param first_check_delay: seconds to wait before the first check (the sensor passes its poke interval:
        it has just checked itself).
    """

    _fields: tuple[str, ...] = ()
    _subject_fields: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        outlit_conn_id: str = OutlitHook.default_conn_name,
        poll_interval: float,
        end_time: float,
        max_consecutive_errors: int = 5,
        first_check_delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.outlit_conn_id = outlit_conn_id
        self.poll_interval = float(poll_interval)
        self.end_time = float(end_time)
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.first_check_delay = float(first_check_delay)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        poll = ("outlit_conn_id", "poll_interval", "end_time", "max_consecutive_errors", "first_check_delay")
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {name: getattr(self, name) for name in (*poll, *self._fields)},
        )

    def _subject(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._subject_fields}

    async def _check(self, client: AsyncOutlitClient) -> StatusCheck:
        raise NotImplementedError

    def _event(self, status: str, message: str, details: dict[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            {"status": status, "message": message, **self._subject(), "details": details or {}}
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from outlit_core.client.exceptions import OutlitError

        hook = OutlitHook(self.outlit_conn_id)
        try:
            client = await hook.get_async_client()
        except Exception as exc:
            yield self._event("error", f"Cannot build an Outlit client from {self.outlit_conn_id!r}: {exc}")
            return

        last: StatusCheck | None = None
        errors = 0
        if self.first_check_delay > 0:
            # The sensor checked just before deferring. Firing within a moment of the deferral also races
            # the scheduler, which may not yet have processed the worker's exit (Airflow 3.3 then fails
            # the task as "state changed externally"; seen in tests/airflow/deployment).
            await asyncio.sleep(min(self.first_check_delay, max(0.0, self.end_time - time.time())))
        async with client:
            while True:
                try:
                    check = await self._check(client)
                except OutlitError as exc:
                    errors += 1
                    if not exc.retryable or errors > self.max_consecutive_errors:
                        yield self._event("error", f"Outlit API error while polling: {exc}")
                        return
                    self.log.warning(
                        "Transient Outlit error %d/%d: %s", errors, self.max_consecutive_errors, exc
                    )
                except Exception as exc:
                    yield self._event("error", f"Unexpected error while polling Outlit: {exc!r}")
                    return
                else:
                    errors = 0
                    last = check
                    if check.done:
                        yield self._event(check.state, check.message, check.details)
                        return
                    self.log.info("%s; next check in %ss", check.message, self.poll_interval)

                remaining = self.end_time - time.time()
                if remaining <= 0:
                    status_text = last.message if last else "no successful status check"
                    yield self._event(
                        "timeout",
                        f"Gave up waiting (timeout reached). Last status: {status_text}",
                        last.details if last else None,
                    )
                    return
                await asyncio.sleep(min(self.poll_interval, remaining))


class OutlitIntegrationSyncTrigger(_OutlitPollTrigger):
    """Wait until the selected models of an integration have synced successfully after ``synced_after``.

    :param provider: Outlit provider id, e.g. ``stripe``.
    :param models: model names to require; ``None`` means every model the provider reports.
    :param synced_after: ISO-8601 timestamp every model's ``lastSyncedAt`` must reach, or ``None``.
    :param poll_kwargs: ``end_time`` (required), ``outlit_conn_id``, ``max_consecutive_errors``,
        ``first_check_delay``: see the poll settings of ``_OutlitPollTrigger``.
    """

    _fields = ("provider", "models", "synced_after")
    _subject_fields = ("provider",)

    def __init__(
        self,
        *,
        provider: str,
        models: list[str] | None = None,
        synced_after: str | None = None,
        poll_interval: float = 60.0,
        **poll_kwargs: Any,
    ) -> None:
        super().__init__(poll_interval=poll_interval, **poll_kwargs)
        self.provider = provider
        self.models = list(models) if models else None
        self.synced_after = synced_after

    async def _check(self, client: AsyncOutlitClient) -> StatusCheck:
        bound = parse_timestamp(self.synced_after, field="synced_after") if self.synced_after else None
        return await acheck_sync_status(client, self.provider, models=self.models, synced_after=bound)


class OutlitConnectSessionTrigger(_OutlitPollTrigger):
    """Wait until a browser connect session is ``connected`` (or ``failed`` / ``expired``).

    :param poll_kwargs: as for :class:`OutlitIntegrationSyncTrigger`.
    """

    _fields = _subject_fields = ("session_id", "provider")

    def __init__(
        self, *, session_id: str, provider: str, poll_interval: float = 15.0, **poll_kwargs: Any
    ) -> None:
        super().__init__(poll_interval=poll_interval, **poll_kwargs)
        self.session_id = session_id
        self.provider = provider

    async def _check(self, client: AsyncOutlitClient) -> StatusCheck:
        return await acheck_connect_session(client, self.session_id)
