"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from outlit_provider import __version__

    return {
        "package-name": "outlit-connector",
        "name": "Outlit",
        "description": "Outlit customer-intelligence platform: tools, SQL, integrations, platform actions, ingest.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Outlit",
                "external-doc-url": "https://docs.outlit.ai",
                "tags": ["service"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "outlit",
                "hook-class-name": "outlit_provider.hooks.outlit.OutlitHook",
            }
        ],
    }
