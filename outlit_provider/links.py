"""Extra links from a task to the Outlit app.

The URL is worked out while the task runs (it depends on the connection's base URL, or is the connect URL
Outlit handed out) and stored in XCom; the UI only reads it back, so rendering a link never touches a
connection or the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey


class _OutlitXComLink(BaseOperatorLink):
    key: ClassVar[str]

    @property
    def xcom_key(self) -> str:
        return self.key

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(key=self.key, ti_key=ti_key)
        return value if isinstance(value, str) else ""

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        context["ti"].xcom_push(key=cls.key, value=url)


class OutlitIntegrationsLink(_OutlitXComLink):
    """The Outlit app's integrations page, where connection and sync state is shown."""

    name = "Outlit integrations"
    key = "outlit_integrations_url"


class OutlitConnectLink(_OutlitXComLink):
    """The browser URL that completes an integration connect session."""

    name = "Complete Outlit connection"
    key = "connect_url"


class OutlitTrackingSettingsLink(_OutlitXComLink):
    """Outlit's website-tracking settings (public key and allowed domains for ingest)."""

    name = "Outlit tracking settings"
    key = "outlit_tracking_settings_url"
