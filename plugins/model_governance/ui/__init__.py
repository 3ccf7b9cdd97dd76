"""The governance dashboard served by the Airflow api-server (issue 9).

- ``queries``: the dashboard's read queries, kept importable here; they live in the inventory
  (``model_governance.inventory.dashboard``, ``Inventory.dashboard``).
- ``monitoring``: the monitoring push API's input model and pass/fail rule (pure pydantic).
- ``charts``: small inline SVG charts for the pages.
- ``app``: the FastAPI app (pages, document download, monitoring API) built from injected services, so
  it runs under a test client without Airflow.
- ``airflow_services``: the Airflow wiring: Airflow's login (JWT cookie or bearer token), the settings,
  the inventory hook, S3 through the Amazon provider, the Jira base URL.

``plugins/model_governance_plugin.py`` exposes it as an AirflowPlugin (``fastapi_apps`` +
``external_views``).
"""
