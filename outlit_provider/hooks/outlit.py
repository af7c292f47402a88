"""OutlitHook: the Airflow connection type ``outlit`` and the one place operators, sensors and triggers
get an Outlit client from.

All HTTP (retries, Retry-After, rate limiting, error mapping) lives in ``outlit_core.client``; this hook
turns a connection into a client. The status checks the sensor and triggers share are free functions in
``hooks.integration_status``, beside the rules that judge the responses.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from outlit_provider.hooks.connection_settings import (
    UI_FIELD_BEHAVIOUR,
    ConnectionSettings,
    settings_from_connection,
)

if TYPE_CHECKING:
    from outlit_core.client import AsyncOutlitClient, OutlitClient


class OutlitHook(BaseHook):
    """Interact with Outlit through the ``outlit`` Airflow connection.

    :param outlit_conn_id: Airflow connection id; the password holds the API key, extras may hold
        ``public_key``, ``base_url``, ``timeout``, ``max_retries``.
    :param timeout: override the connection's per-request timeout (seconds).
    :param max_retries: override the connection's retry count for 429/5xx/transport errors.
    """

    conn_name_attr = "outlit_conn_id"
    default_conn_name = "outlit_default"
    conn_type = "outlit"
    hook_name = "Outlit"

    def __init__(
        self,
        outlit_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        super().__init__()
        self.outlit_conn_id = outlit_conn_id
        self.timeout = timeout
        self.max_retries = max_retries
        self._settings: ConnectionSettings | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(outlit_conn_id={self.outlit_conn_id!r})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        # Airflow >= 3.2 reads the same dict from provider info; this keeps 3.0/3.1 UIs labelled too.
        return UI_FIELD_BEHAVIOUR

    # -- settings ---------------------------------------------------------------------------------------

    def _apply_overrides(self, settings: ConnectionSettings) -> ConnectionSettings:
        overrides: dict[str, Any] = {}
        if self.timeout is not None:
            overrides["timeout"] = self.timeout
        if self.max_retries is not None:
            overrides["max_retries"] = self.max_retries
        return replace(settings, **overrides) if overrides else settings

    def get_settings(self) -> ConnectionSettings:
        """Resolve the connection (sync; worker side) into validated client settings."""
        if self._settings is None:
            conn = self.get_connection(self.outlit_conn_id)
            settings = settings_from_connection(conn, conn.extra_dejson)
            _mask(settings.api_key)
            self._settings = self._apply_overrides(settings)
        return self._settings

    async def aget_settings(self) -> ConnectionSettings:
        """Resolve the connection without blocking the triggerer's event loop.

        Airflow 3 exposes ``BaseHook.aget_connection``; the synchronous lookup called from a coroutine
        deadlocks against the supervisor, which is what broke other providers' triggers.
        """
        if self._settings is None:
            aget = getattr(BaseHook, "aget_connection", None)
            if aget is not None:
                conn = await aget(self.outlit_conn_id)
                extras = await conn.aextra_dejson() if hasattr(conn, "aextra_dejson") else conn.extra_dejson
            else:  # Airflow 3.0: run the sync lookup in a worker thread.
                from asgiref.sync import sync_to_async

                conn = await sync_to_async(self.get_connection)(self.outlit_conn_id)
                extras = conn.extra_dejson
            settings = settings_from_connection(conn, extras)
            await _amask(settings.api_key)
            self._settings = self._apply_overrides(settings)
        return self._settings

    # -- clients ----------------------------------------------------------------------------------------

    def get_client(self, **overrides: Any) -> OutlitClient:
        """A new synchronous client; close it (or use it as a context manager) when done."""
        from outlit_core.client import OutlitClient

        return OutlitClient(**{**self.get_settings().client_kwargs(), **overrides})

    async def get_async_client(self, **overrides: Any) -> AsyncOutlitClient:
        """A new async client for triggers; the connection is looked up asynchronously."""
        from outlit_core.client import AsyncOutlitClient

        settings = await self.aget_settings()
        return AsyncOutlitClient(**{**settings.client_kwargs(), **overrides})

    @cached_property
    def client(self) -> OutlitClient:
        """A client shared by the calls of one task; closed by :meth:`close`."""
        return self.get_client()

    def get_conn(self) -> OutlitClient:
        return self.client

    def close(self) -> None:
        if "client" in self.__dict__:
            self.__dict__.pop("client").close()

    # -- the connection form ------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Called by the UI's "Test" button: validates the key and reports organization and grants."""
        try:
            with self.get_client() as client:
                info = client.validate_api_key()
        except Exception as exc:  # the UI shows the message; the client never puts the key in it
            return False, f"Outlit rejected the connection: {exc}"
        grants = ", ".join(info.grants) if info.grants else "none reported"
        return True, f"API key is valid for organization {info.organization_id} (grants: {grants})."

    def app_url(self, path: str = "") -> str:
        """URL of an Outlit app page; the app is served from the API's host."""
        base = self.get_settings().base_url or "https://app.outlit.ai"
        return base.rstrip("/") + "/" + path.lstrip("/") if path else base


def _mask(secret: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - every Airflow 3 has it
        return
    mask_secret(secret)


async def _amask(secret: str) -> None:
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:
        _mask(secret)
        return
    await amask_secret(secret)
