"""Operators that connect, disconnect and finish setting up Outlit integrations (Stripe, HubSpot, ...)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Context, conf
from airflow.sdk.exceptions import AirflowException

from outlit_provider.hooks.integration_status import StatusCheck, check_connect_session
from outlit_provider.links import OutlitConnectLink, OutlitIntegrationsLink
from outlit_provider.operators._templating import check_literal_provider
from outlit_provider.operators.base import OutlitBaseOperator
from outlit_provider.operators.output import DEFAULT_MAX_XCOM_BYTES, ensure_small
from outlit_provider.triggers.integrations import OutlitConnectSessionTrigger, validate_trigger_event


def secrets_from_connection(conn_id: str, secret_fields: list[str]) -> dict[str, Any]:
    """Read integration credentials from an Airflow connection (any type), masking every value.

    Extras become config fields by name. The password fills the provider's one secret field when the
    extras do not already name it, so ``AIRFLOW_CONN_STRIPE_CREDS='{"password": "sk_live_..."}'`` is enough
    for Stripe; providers with several secrets name them in the extras.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    conn = BaseHook.get_connection(conn_id)
    config: dict[str, Any] = dict(conn.extra_dejson)
    if conn.password:
        open_fields = [f for f in secret_fields if f not in config]
        if len(open_fields) != 1:
            raise ValueError(
                f"Connection {conn_id!r} has a password, but it is unclear which field it fills: the "
                f"provider's secret fields are {secret_fields} and {len(open_fields)} of them are unset in "
                "its extras. Put each secret in the connection extras under its field name instead."
            )
        config[open_fields[0]] = conn.password
    for value in config.values():
        if isinstance(value, str) and value:
            mask_secret(value)
    return config


def _capability(capabilities: dict[str, Any], provider: str) -> dict[str, Any]:
    # The route answers {"provider": {...}} for one provider; tolerate the all-providers shape too.
    single = capabilities.get("provider")
    if isinstance(single, dict):
        return single
    for entry in capabilities.get("providers") or []:
        if isinstance(entry, dict) and provider in (entry.get("providerId"), entry.get("cliName")):
            return entry
    return {}


def _secret_fields(capability: dict[str, Any]) -> list[str]:
    return [
        str(f["key"])
        for f in capability.get("requiredFields") or []
        if isinstance(f, dict) and f.get("secret") and f.get("key")
    ]


class _IntegrationOperator(OutlitBaseOperator):
    """What the integration operators share: a ``provider`` checked at parse time when it is a literal, and
    the link to Outlit's Integrations page, set first thing in ``execute``."""

    operator_extra_links: tuple[Any, ...] = (OutlitIntegrationsLink(),)

    def __init__(self, *, provider: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_literal_provider(self.task_id, provider)
        self.provider = provider

    def _link_integrations(self, context: Context) -> None:
        OutlitIntegrationsLink.persist(context, self.hook.app_url("integrations"))


class OutlitConnectIntegrationOperator(_IntegrationOperator):
    """Connect an integration, either with direct credentials or through a browser session.

    Direct credentials come only from an Airflow connection (``credentials_conn_id``), so they are masked in
    logs and never sit in DAG code or rendered templates; ``config`` is for non-secret settings such as a
    PostHog ``region`` and is refused if it holds a field Outlit marks secret.

    Without ``credentials_conn_id`` the operator opens a browser session: the connect URL is logged, pushed
    to XCom (``connect_url``, ``session_id``) and shown as an extra link before the task waits for the session
    to become ``connected`` (or fails on ``failed``/``expired``). Waiting can be deferred to the triggerer.

    :param provider: Outlit provider id, e.g. ``stripe``, ``posthog``, ``hubspot``.
    :param credentials_conn_id: Airflow connection holding the provider's credentials.
    :param config: non-secret connect settings.
    :param wait_for_completion: wait for a browser session to finish (default) or return its URL at once.
    :param poll_interval: seconds between status checks.
    :param timeout: seconds to wait for the browser session before failing.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = ("provider", "credentials_conn_id", "config")
    template_fields_renderers = {"config": "json"}
    operator_extra_links = (OutlitConnectLink(), OutlitIntegrationsLink())

    def __init__(
        self,
        *,
        provider: str,
        credentials_conn_id: str | None = None,
        config: dict[str, Any] | None = None,
        wait_for_completion: bool = True,
        poll_interval: float = 15.0,
        timeout: float = 3600.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(provider=provider, **kwargs)
        if poll_interval <= 0 or timeout <= 0:
            raise ValueError(f"{self.task_id}: poll_interval and timeout must be positive seconds.")
        self.credentials_conn_id = credentials_conn_id
        self.config = config
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.deferrable = deferrable

    def execute(self, context: Context) -> Any:
        self._link_integrations(context)
        # Every declared link gets a value, so Airflow's end-of-task link lookup finds one on every path
        # (a missing key is logged at error level; issue 15.6). The browser path replaces it with the URL.
        OutlitConnectLink.persist(context, "")
        with self.hook.get_client() as client:
            response = self._connect(client)
            if "sessionId" not in response:
                state = "was already connected" if response.get("alreadyConnected") else "connected"
                self.log.info(
                    "Integration %s %s (connection %s)", self.provider, state, response.get("connectionId")
                )
                return {
                    "provider": self.provider,
                    "connected": bool(response.get("connected", True)),
                    "connection_id": response.get("connectionId"),
                    "already_connected": bool(response.get("alreadyConnected")),
                }
            session_id = str(response["sessionId"])
            connect_url = str(response.get("connectUrl") or "")
            if response.get("alreadyConnected"):
                self.log.info("Integration %s is already connected; no browser step needed.", self.provider)
                return {"provider": self.provider, "connected": True, "already_connected": True}
            context["ti"].xcom_push(key="session_id", value=session_id)
            OutlitConnectLink.persist(context, connect_url)
            self.log.info(
                "Open this URL in a browser to connect %s to Outlit (session %s): %s",
                self.provider,
                session_id,
                connect_url,
            )
            if not self.wait_for_completion:
                return {"provider": self.provider, "session_id": session_id, "connect_url": connect_url}
            if not self.deferrable:
                return self._wait(client, session_id)
        self.defer(
            trigger=OutlitConnectSessionTrigger(
                session_id=session_id,
                provider=self.provider,
                outlit_conn_id=self.outlit_conn_id,
                poll_interval=self.poll_interval,
                end_time=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            # The trigger reports its own timeout with the last status; this is only a backstop.
            timeout=timedelta(seconds=self.timeout + 10 * self.poll_interval + 60),
        )

    def _connect(self, client: Any) -> dict[str, Any]:
        config = dict(self.config or {})
        if self.credentials_conn_id or config:
            capability = _capability(client.integration_capabilities(self.provider), self.provider)
            secret_fields = _secret_fields(capability)
            leaked = sorted(k for k in config if k in secret_fields)
            if leaked:
                raise ValueError(
                    f"config field(s) {leaked} are secrets for {self.provider!r}. Move them into an Airflow "
                    "connection and pass credentials_conn_id=...; secrets in DAG code end up in rendered "
                    "templates and the DAG source."
                )
            if self.credentials_conn_id:
                config.update(secrets_from_connection(self.credentials_conn_id, secret_fields))
        return client.connect_integration(self.provider, config or None)

    def _wait(self, client: Any, session_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            check: StatusCheck = check_connect_session(client, session_id)
            if check.state == "success":
                self.log.info(check.message)
                return {"provider": self.provider, "session_id": session_id, "connected": True}
            if check.state == "failed":
                raise AirflowException(check.message)
            if time.monotonic() >= deadline:
                raise AirflowException(f"Timed out after {self.timeout}s. Last status: {check.message}")
            self.log.info("%s; checking again in %ss", check.message, self.poll_interval)
            # Event.wait instead of sleep: on_kill ends the wait at once.
            if self.stop_event.wait(self.poll_interval):
                self._check_stop(f"waiting for connect session {session_id}")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = validate_trigger_event(event)
        self.log.info(payload["message"])
        return {"provider": self.provider, "session_id": payload.get("session_id"), "connected": True}


class OutlitDisconnectIntegrationOperator(_IntegrationOperator):
    """Disconnect an integration. Already disconnected is fine unless ``missing_ok=False``."""

    template_fields: Sequence[str] = ("provider",)

    def __init__(self, *, provider: str, missing_ok: bool = True, **kwargs: Any) -> None:
        super().__init__(provider=provider, **kwargs)
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> dict[str, Any]:
        from outlit_core.client.exceptions import OutlitNotFoundError

        self._link_integrations(context)
        try:
            with self.hook.get_client() as client:
                self._check_stop(f"resolving the disconnect of {self.provider}; the request was not sent")
                client.disconnect_integration(self.provider)
        except OutlitNotFoundError as exc:
            if not self.missing_ok:
                raise AirflowException(
                    f"Integration {self.provider!r} is not connected, and missing_ok=False: {exc}"
                ) from exc
            self.log.info("Integration %s was not connected; nothing to disconnect.", self.provider)
            return {"provider": self.provider, "disconnected": False}
        self.log.info("Disconnected integration %s", self.provider)
        return {"provider": self.provider, "disconnected": True}


class OutlitIntegrationSetupStepOperator(_IntegrationOperator):
    """Run a post-connect setup step (``mappings``, ``webhooks``, ...) listed in the provider's capabilities.

    :param provider: Outlit provider id.
    :param step: the step token from ``postConnectSteps``.
    :param config: non-secret step configuration (templated).
    :param secrets_conn_id: Airflow connection whose extras are merged into ``config``, masked in logs;
        its password, if set, becomes ``webhookSecret`` (Stripe and Fireflies webhook steps).
    """

    template_fields: Sequence[str] = ("provider", "step", "config", "secrets_conn_id")
    template_fields_renderers = {"config": "json"}

    def __init__(
        self,
        *,
        provider: str,
        step: str,
        config: dict[str, Any] | None = None,
        secrets_conn_id: str | None = None,
        max_xcom_bytes: int = DEFAULT_MAX_XCOM_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(provider=provider, **kwargs)
        self.step = step
        self.config = config
        self.secrets_conn_id = secrets_conn_id
        self.max_xcom_bytes = max_xcom_bytes

    def execute(self, context: Context) -> Any:
        self._link_integrations(context)
        config = dict(self.config or {})
        if self.secrets_conn_id:
            config.update(secrets_from_connection(self.secrets_conn_id, secret_fields=["webhookSecret"]))
        with self.hook.get_client() as client:
            self._check_stop(f"preparing setup step {self.step} of {self.provider}; the request was not sent")
            result = client.run_setup_step(self.provider, self.step, config or None)
        if result.get("status") == "not_connected":  # Outlit answers this state with a 200
            raise AirflowException(f"{self.provider} is not connected: {result.get('message', '')}")
        self.log.info(
            "Setup step %s for %s returned status %s", self.step, self.provider, result.get("status")
        )
        return ensure_small(result, max_bytes=self.max_xcom_bytes, what=f"The {self.step} step result")
