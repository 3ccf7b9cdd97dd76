"""The governance inventory: the system of record for use cases, models, statuses, approvals and evidence.

Pure SQLAlchemy (no Airflow import). ``Inventory.from_url(url)`` opens it on the process's engine for the URL
and checks the schema is at this package's revision; ``model-governance db upgrade`` (``python -m
model_governance.inventory upgrade``) migrates it, run once by airflow-init.
"""

from __future__ import annotations

from model_governance.inventory.audit import AuditTrailReport
from model_governance.inventory.db import check_schema, make_engine, migrate, shared_engine, upgrade
from model_governance.inventory.models import (
    Approval,
    ApprovalState,
    BusinessEntity,
    Document,
    EventSource,
    FindingState,
    Metric,
    Model,
    ModelGroup,
    MonitoringFinding,
    Revalidation,
    RevalidationSchedule,
    RevalidationState,
    RiskTestRun,
    RiskTestRunState,
    Snapshot,
    StatusEvent,
    SyncFailure,
    SyncIssue,
    SyncIssueKind,
    SyncWatermark,
    UseCase,
    UseCaseStatus,
)
from model_governance.inventory.repository import Inventory, PackageArn, parse_model_package_arn

__all__ = [
    "Approval",
    "ApprovalState",
    "AuditTrailReport",
    "BusinessEntity",
    "Document",
    "EventSource",
    "FindingState",
    "Inventory",
    "Metric",
    "Model",
    "ModelGroup",
    "MonitoringFinding",
    "PackageArn",
    "Revalidation",
    "RevalidationSchedule",
    "RevalidationState",
    "RiskTestRun",
    "RiskTestRunState",
    "Snapshot",
    "StatusEvent",
    "SyncFailure",
    "SyncIssue",
    "SyncIssueKind",
    "SyncWatermark",
    "UseCase",
    "UseCaseStatus",
    "check_schema",
    "make_engine",
    "migrate",
    "parse_model_package_arn",
    "shared_engine",
    "upgrade",
]
