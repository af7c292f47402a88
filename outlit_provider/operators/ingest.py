"""OutlitIngestEventsOperator: send a (templated) list of tracking events to Outlit's ingest API."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context, XComArg
from airflow.sdk.exceptions import AirflowException

from outlit_core.client import EventRejection, IngestResult, prepare_event
from outlit_provider.links import OutlitTrackingSettingsLink
from outlit_provider.operators._templating import is_templated
from outlit_provider.operators.base import OutlitBaseOperator

# Namespace for event uuids derived from the task run; fixed so every retry derives the same ones.
_EVENT_NAMESPACE = uuid.UUID("5b0c9f5e-4c1a-4f55-9a55-7f3e0e6c2a10")
_LOGGED_REJECTIONS = 20


class OutlitIngestEventsOperator(OutlitBaseOperator):
    """Send events (pageview, custom, identify, billing, ...) through the connection's public key.

    Events without a ``uuid`` get one derived from the DAG, task, run, map index, position and content,
    so a retried task resends the same uuids and Outlit drops the copies instead of storing them twice.
    Bulk loads from a warehouse belong to ``SqlToOutlitOperator``; this operator is for lists that fit in a
    task's memory (from XCom or a template rendered with ``render_template_as_native_obj=True``).

    :param events: list of event objects (or a JSON string of one).
    :param source: ingest ``source`` (``server`` by default).
    :param user_identity: optional envelope ``userIdentity``.
    :param customer_identity: optional envelope ``customerIdentity``.
    :param max_rejected: number of rejected events tolerated before the task fails (default 0).
    """

    template_fields: Sequence[str] = ("events", "source", "user_identity", "customer_identity")
    template_fields_renderers = {"events": "json"}
    operator_extra_links = (OutlitTrackingSettingsLink(),)

    def __init__(
        self,
        *,
        events: list[dict[str, Any]] | str | XComArg,  # an XComArg resolves to the list before execute
        source: str = "server",
        user_identity: dict[str, Any] | None = None,
        customer_identity: dict[str, Any] | None = None,
        max_rejected: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_rejected < 0:
            raise ValueError(f"{self.task_id}: max_rejected={max_rejected} must be >= 0.")
        self.events = events
        self.source = source
        self.user_identity = user_identity
        self.customer_identity = customer_identity
        self.max_rejected = max_rejected
        if not is_templated(events):  # literal events are checked now: a bad one fails the DAG import
            self._check_literal_events()

    def _check_literal_events(self) -> None:
        problems = [
            p
            for i, e in enumerate(self._events())
            if isinstance(p := prepare_event(e, i, source=self.source), EventRejection)
        ]
        if len(problems) > self.max_rejected:
            first = problems[0]
            where = ".".join(str(x) for x in first.path) or "event"
            raise ValueError(
                f"{self.task_id}: {len(problems)} literal event(s) are invalid, over "
                f"max_rejected={self.max_rejected}. First: event {first.index} at {where}: {first.message}"
            )

    def _events(self) -> list[dict[str, Any]]:
        events: Any = self.events
        if isinstance(events, str):
            try:
                events = json.loads(events)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{self.task_id}: events rendered to a string that is not JSON ({exc}); pass a list, "
                    "an XComArg, or set render_template_as_native_obj=True on the DAG."
                ) from None
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ValueError(
                f"{self.task_id}: events must be a list of event objects, got {type(events).__name__}."
            )
        return events

    def _with_uuids(self, events: list[dict[str, Any]], context: Context) -> list[dict[str, Any]]:
        ti = context["ti"]
        run = f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{getattr(ti, 'map_index', -1)}"
        out = []
        for index, event in enumerate(events):
            if event.get("uuid"):
                out.append(event)
                continue
            digest = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
            out.append({**event, "uuid": str(uuid.uuid5(_EVENT_NAMESPACE, f"{run}/{index}/{digest}"))})
        return out

    def _send(self, events: list[dict[str, Any]]) -> IngestResult:
        """``send_events`` with the kill signal: on_kill stops it between requests.

        Nothing not yet sent is lost: the uuids are derived from the task run, so a rerun resends these
        events and Outlit drops the ones it already stored.
        """
        with self.hook.get_client() as client:
            result = client.send_events(
                events,
                source=self.source,
                user_identity=self.user_identity,
                customer_identity=self.customer_identity,
                stop=self.stop_event,
            )
        if result.stopped:
            progress = f"{result.accepted} of {len(events)} event(s) were acknowledged"
            self._check_stop(f"{progress}; rerun the task to send the rest")
        return result

    def execute(self, context: Context) -> dict[str, Any]:
        events = self._with_uuids(self._events(), context)
        OutlitTrackingSettingsLink.persist(context, self.hook.app_url("settings/workspace/tracking"))
        if not events:
            self.log.info("No events to send.")
            return {"acknowledged": 0, "rejected": 0, "requests": 0, "retries": 0}
        result = self._send(events)
        # The ingest API answers "processed" for new events and for repeats of a uuid it already has
        # alike, so this count is what Outlit acknowledged, not what it newly stored (issue 15.7).
        try_number = int(getattr(context["ti"], "try_number", 1) or 1)
        repeats = (
            f"; this is try {try_number}, so events an earlier try delivered are among them, acknowledged "
            "by uuid and not stored again"
            if try_number > 1
            else "; events whose uuid Outlit already had are acknowledged without being stored again"
        )
        self.log.info(
            "Outlit acknowledged %d of %d event(s) in %d request(s) with %d retr%s%s",
            result.accepted,
            len(events),
            result.requests,
            result.retries,
            "y" if result.retries == 1 else "ies",
            repeats,
        )
        for rejection in result.rejected[:_LOGGED_REJECTIONS]:
            where = ".".join(str(p) for p in rejection.path)
            self.log.warning(
                "Rejected event %d (%s) at %s: %s", rejection.index, rejection.uuid, where, rejection.message
            )
        if len(result.rejected) > _LOGGED_REJECTIONS:
            self.log.warning("... and %d more rejected event(s)", len(result.rejected) - _LOGGED_REJECTIONS)
        self._acknowledged = result.accepted
        summary = {
            "acknowledged": result.accepted,
            "rejected": len(result.rejected),
            "requests": result.requests,
            "retries": result.retries,
        }
        if len(result.rejected) > self.max_rejected:
            first = result.rejected[0]
            raise AirflowException(
                f"Outlit rejected {len(result.rejected)} event(s), over max_rejected={self.max_rejected} "
                f"({result.accepted} acknowledged). First: event {first.index} at "
                f"{'.'.join(str(p) for p in first.path)}: {first.message}"
            )
        return summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Output: the events sent to Outlit's ingest API, ``ingest/<dag_id>.<task_id>``, with their count."""
        from outlit_provider.lineage import operator_lineage, outlit_namespace

        return operator_lineage(
            namespace=outlit_namespace(self.hook.get_settings().base_url),
            outputs=[f"ingest/{self.dag_id}.{self.task_id}"],
            output_rows=getattr(self, "_acknowledged", None),
        )
