"""Read by Airflow's ProvidersManager through the ``apache_airflow_provider`` entry point.

The Jira connection type is ``model_governance_jira``, not ``jira``: ``jira`` belongs to the official
``apache-airflow-providers-atlassian-jira``, whose hook (``atlassian-python-api``, basic auth, a
``verify`` field only, Extra hidden in the form) is a different class. Two providers registering one type
make ProvidersManager keep the first and drop the other with a warning, so one package's form and hook
would silently win. A connection of either type works with this package's hook: it reads host, login,
password and ``verify`` the same way (docs/jira-setup.md).

Connection form fields are declared here (Airflow 3.2+ reads them without importing the hook).
"""

from __future__ import annotations

from typing import Any

from model_governance import __version__

JIRA_CONN_TYPE = "model_governance_jira"


def _text(label: str, default: str | None = None, description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"]}
    if default is not None:
        schema["default"] = default
    field: dict[str, Any] = {"label": label, "schema": schema}
    if description:
        field["description"] = description
    return field


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow: its name, versions, connection type and the hooks."""
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
            {
                "connection-type": JIRA_CONN_TYPE,
                "hook-class-name": "model_governance.hooks.jira.JiraHook",
                "hook-name": "Jira (model governance)",
                "conn-fields": {
                    "flavor": {
                        "label": "Jira flavor",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "cloud",
                            "enum": ["cloud", "datacenter"],
                        },
                        "description": "cloud (Atlassian Cloud) or datacenter (Data Center / Server)",
                    },
                    "auth": {
                        "label": "Authentication",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "basic",
                            "enum": ["basic", "bearer"],
                        },
                        "description": "basic: login + API token or password; "
                        "bearer: a personal access token in the password field",
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                    "project_key": _text(
                        "Project key", description="when set, used instead of the settings' jira.project_key"
                    ),
                    "done_status": _text("Approved status", "Done"),
                    "rejected_status": _text("Rejected status", "Rejected"),
                    "reopen_status": _text("Reopen status", "To Do"),
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {
                        "host": "Jira base URL",
                        "login": "Email or username",
                        "password": "API token",
                    },
                    "placeholders": {
                        "host": "https://example.atlassian.net",
                        "extra": '{"verify": true}',
                    },
                },
            },
        ],
    }
