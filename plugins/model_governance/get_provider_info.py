"""Read by Airflow's ProvidersManager through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from model_governance import __version__


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow: its name, versions and (as they land) connection types and hooks."""
    return {
        "package-name": "airflow-model-governance",
        "name": "Model Governance",
        "description": "AI model governance: SageMaker Model Registry life cycle with Jira approvals.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Model Governance",
                "external-doc-url": "https://github.com/airflow-model-governance/airflow-model-governance",
                "tags": ["ai", "governance"],
            }
        ],
        "connection-types": [
            {"connection-type": "jira", "hook-class-name": "model_governance.hooks.jira.JiraHook"},
        ],
    }
