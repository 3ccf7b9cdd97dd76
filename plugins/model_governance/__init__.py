"""Model governance for Apache Airflow: SageMaker Model Registry life cycle with Jira approvals.

The package is an Airflow provider (``get_provider_info``) found by the ``apache_airflow_provider``
entry point when pip-installed, or importable from a mounted ``plugins/`` folder.
"""

from __future__ import annotations

__version__ = "0.1.0"
