"""Model governance for Apache Airflow: SageMaker Model Registry life cycle with Jira approvals.

The package is an Airflow provider (``get_provider_info``) found by the ``apache_airflow_provider``
entry point when pip-installed, or importable from a mounted ``plugins/`` folder.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ProvidersManager (connection types, hooks, notifiers)."""
    return {
        "package-name": "airflow-model-governance",
        "name": "Model Governance",
        "description": "AI model governance: SageMaker Model Registry life cycle with Jira approvals.",
        "versions": [__version__],
        "connection-types": [],
        "integrations": [
            {
                "integration-name": "Model Governance",
                "external-doc-url": "https://github.com/airflow-model-governance/airflow-model-governance",
                "tags": ["ai", "governance"],
            }
        ],
    }
