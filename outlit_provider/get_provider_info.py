"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

Must not import Airflow: ``airflow providers list`` and the UI read it without importing the hook.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from outlit_provider import __version__
    from outlit_provider.hooks.connection_settings import CONN_FIELDS, UI_FIELD_BEHAVIOUR

    return {
        "package-name": "outlit-connector",
        "name": "Outlit",
        "description": (
            "Outlit customer-intelligence platform: tools, SQL, integrations, platform actions, ingest."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Outlit",
                "external-doc-url": "https://docs.outlit.ai",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Outlit", "python-modules": ["outlit_provider.hooks.outlit"]}],
        "operators": [
            {
                "integration-name": "Outlit",
                "python-modules": [
                    "outlit_provider.operators.tool",
                    "outlit_provider.operators.query",
                    "outlit_provider.operators.integrations",
                    "outlit_provider.operators.platform",
                    "outlit_provider.operators.ingest",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "Outlit", "python-modules": ["outlit_provider.sensors.integrations"]}
        ],
        "triggers": [
            {"integration-name": "Outlit", "python-modules": ["outlit_provider.triggers.integrations"]}
        ],
        "transfers": [
            {
                "source-integration-name": "Common SQL",
                "target-integration-name": "Outlit",
                "python-module": "outlit_provider.transfers.sql_to_outlit",
            }
        ],
        "connection-types": [
            {
                "connection-type": "outlit",
                "hook-class-name": "outlit_provider.hooks.outlit.OutlitHook",
                "hook-name": "Outlit",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": UI_FIELD_BEHAVIOUR["hidden_fields"],
                    "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
                    "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
                },
            }
        ],
        "extra-links": [
            "outlit_provider.links.OutlitIntegrationsLink",
            "outlit_provider.links.OutlitConnectLink",
            "outlit_provider.links.OutlitTrackingSettingsLink",
        ],
    }
