"""What the AirflowPlugin exposes: the dashboard app mounted in the api-server, and its menu entry.

Building the app is cheap (no connection, no query): every Airflow process imports plugins, and only the
api-server serves it.
"""

from __future__ import annotations

from typing import Any

from model_governance.ui.app import URL_PREFIX, create_app

PLUGIN_NAME = "model_governance"


def fastapi_apps() -> list[dict[str, Any]]:
    from model_governance.ui.airflow_services import AirflowDashboardServices

    return [
        {
            "app": create_app(AirflowDashboardServices(), url_prefix=URL_PREFIX),
            "url_prefix": URL_PREFIX,
            "name": "Model governance dashboard",
        }
    ]


def external_views() -> list[dict[str, Any]]:
    """A top-level entry in the Airflow UI's navigation that shows the dashboard inside the UI."""
    return [
        {
            "name": "Governance",
            "href": f"{URL_PREFIX}/",
            "url_route": "model-governance",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
