"""The dashboard's read models over the governance inventory (no Airflow import): ``Inventory.dashboard``.

Every list is bounded: the model list pages by keyset on ``mg_model.id`` (newest first, ``before_id``),
compliance is computed for the models of one page only (three ``IN (...)`` queries, each on an indexed
``model_id``), and the urgent-issue lists are limited per kind with an exact count beside them. Counts are
``GROUP BY`` queries on indexed columns (``ix_mg_model_status_group``, ``ix_mg_model_stage``). So the
overview costs the same number of queries for ten models as for ten thousand.
"""

from __future__ import annotations

from model_governance.inventory.dashboard.model_page import ModelPageQueries
from model_governance.inventory.dashboard.overview import OverviewQueries
from model_governance.inventory.dashboard.read_models import (
    MAX_PAGE_SIZE,
    REQUIRED_APPROVALS,
    URGENT_KINDS,
    URGENT_LABELS,
    Compliance,
    Counts,
    Filters,
    MetricSeries,
    ModelDetail,
    ModelPage,
    ModelRow,
    UrgentIssue,
    UrgentIssues,
    UseCaseOption,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "REQUIRED_APPROVALS",
    "URGENT_KINDS",
    "URGENT_LABELS",
    "Compliance",
    "Counts",
    "DashboardQueries",
    "Filters",
    "MetricSeries",
    "ModelDetail",
    "ModelPage",
    "ModelRow",
    "UrgentIssue",
    "UrgentIssues",
    "UseCaseOption",
]


class DashboardQueries(OverviewQueries, ModelPageQueries):
    """Read-only queries for the dashboard pages, over the inventory's engine."""
