"""OutlitIntegrationSyncSensor: wait until an integration's data has synced into Outlit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout

from outlit_core.parsing import parse_name_list, parse_timestamp
from outlit_provider.hooks.integration_status import StatusCheck, check_sync_status
from outlit_provider.hooks.outlit import OutlitHook
from outlit_provider.links import OutlitIntegrationsLink
from outlit_provider.operators._templating import check_literal_provider, is_templated
from outlit_provider.triggers.integrations import OutlitIntegrationSyncTrigger, validate_trigger_event


class OutlitIntegrationSyncSensor(BaseSensorOperator):
    """Succeed when every selected model of an integration reports SUCCESS with ``lastSyncedAt`` at or after
    ``synced_after``; fail at once, with Outlit's error message, when a model is FAILED or the provider is not
    connected.

    :param provider: Outlit provider id, e.g. ``stripe``.
    :param models: model names to wait for (e.g. ``["StripeCustomer"]``); default every reported model.
        Templated; may render to a JSON list or to names split by commas (``"StripeCustomer,StripeInvoice"``).
    :param synced_after: timestamp the syncs must reach (templated; ISO-8601 or datetime). Default: the
        run's data interval end, or when the run has none (manual runs), the time the run was created.
    :param deferrable: wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``. ``mode="reschedule"`` works too.
    :param outlit_conn_id: the Outlit connection.
    """

    template_fields: Sequence[str] = ("provider", "models", "synced_after")
    operator_extra_links = (OutlitIntegrationsLink(),)

    def __init__(
        self,
        *,
        provider: str,
        models: list[str] | None = None,
        synced_after: str | datetime | None = None,
        outlit_conn_id: str = OutlitHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_literal_provider(self.task_id, provider)
        self.provider = provider
        # Literal names are checked now (a typo fails the DAG import); templates and XComArgs after rendering.
        self.models = models if is_templated(models) else self._names(models)
        self.synced_after = synced_after
        self.outlit_conn_id = outlit_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> OutlitHook:
        return OutlitHook(self.outlit_conn_id)

    def _bound(self, context: Context) -> datetime:
        if self.synced_after not in (None, ""):
            return parse_timestamp(self.synced_after, field="synced_after")
        end = context.get("data_interval_end")
        if end is None:
            dag_run = context.get("dag_run")
            end = getattr(dag_run, "run_after", None)
        if end is None:
            raise ValueError(
                f"{self.task_id}: this run has no data interval end; pass synced_after explicitly "
                "(an ISO-8601 timestamp such as '{{ ts }}')."
            )
        return parse_timestamp(end, field="synced_after")

    def _names(self, value: Any) -> list[str] | None:
        # A rendered template may hold a JSON list, a Python list repr or a comma list; None: every model.
        if value is None:
            return None
        return parse_name_list(value, field=f"{self.task_id}: models") or None

    def _models(self) -> list[str] | None:
        # Checked again at run time: rendering may have turned the argument into any type.
        return self._names(self.models)

    def _check(self, context: Context) -> StatusCheck:
        models, bound = self._models(), self._bound(context)
        with self.hook.get_client() as client:
            return check_sync_status(client, self.provider, models=models, synced_after=bound)

    def poke(self, context: Context) -> PokeReturnValue:
        check = self._check(context)
        if check.state == "failed":
            raise AirflowException(check.message)
        self.log.info(check.message)
        return PokeReturnValue(
            is_done=check.state == "success", xcom_value=check.details if check.done else None
        )

    def execute(self, context: Context) -> Any:
        OutlitIntegrationsLink.persist(context, self.hook.app_url("integrations"))
        if not self.deferrable:
            return super().execute(context)
        # One check on the worker first: an already-finished sync should not cost a trigger round trip.
        result = self.poke(context)
        if result.is_done:
            return result.xcom_value
        self.defer(
            trigger=OutlitIntegrationSyncTrigger(
                provider=self.provider,
                models=self._models(),
                synced_after=self._bound(context).isoformat(),
                outlit_conn_id=self.outlit_conn_id,
                poll_interval=float(self.poke_interval),
                end_time=time.time() + float(self.timeout),
                first_check_delay=float(self.poke_interval),  # the poke above was the first check
            ),
            method_name="execute_complete",
            # The trigger ends itself at end_time with the last status; this is only a backstop.
            timeout=timedelta(seconds=float(self.timeout) + float(self.poke_interval) + 60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        if isinstance(event, dict) and event.get("status") == "timeout":
            raise AirflowSensorTimeout(str(event.get("message")))
        payload = validate_trigger_event(event)
        self.log.info(payload["message"])
        return payload.get("details") or {}
