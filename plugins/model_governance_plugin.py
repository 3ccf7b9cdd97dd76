"""The model governance dashboard as an Airflow plugin (served by the api-server, behind Airflow's login).

Thin on purpose: Airflow imports every ``.py`` under ``plugins/`` as a top-level module, so this file only
exposes the plugin; the code is in the package, ``model_governance.ui`` (see FACTS.md and .airflowignore).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from model_governance.ui.plugin import PLUGIN_NAME, external_views, fastapi_apps


class ModelGovernancePlugin(AirflowPlugin):
    name = PLUGIN_NAME
    fastapi_apps = fastapi_apps()
    external_views = external_views()
