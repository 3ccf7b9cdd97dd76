"""The governance inventory's repository: what the DAGs and the dashboard need, no raw sessions.

Every write is one transaction. Writes that a retried task may repeat (recording an approval, a snapshot,
a document, a risk test run) are keyed and return the existing record when called again. Status changes
go through ``transition`` (status.py), which validates against the life cycle graph, guards against
concurrent writers with a compare-and-swap on ``Model.status_version`` and appends a hash-chained
StatusEvent.

``Inventory`` is the one entry point, composed of one mixin per aggregate; each lives in its own module.
"""

from __future__ import annotations

from functools import cached_property

from model_governance.inventory.actions import GovernanceActions
from model_governance.inventory.approvals import Approvals
from model_governance.inventory.arns import (
    MODEL_PACKAGE_ARN,
    MODEL_PACKAGE_GROUP_ARN,
    PackageArn,
    parse_model_package_arn,
)
from model_governance.inventory.dashboard import DashboardQueries
from model_governance.inventory.evidence import Evidence
from model_governance.inventory.monitoring import Monitoring
from model_governance.inventory.status import ModelsAndStatus
from model_governance.inventory.sync_state import SyncState
from model_governance.inventory.use_cases import UseCases
from model_governance.inventory.verification import AuditVerification

__all__ = [
    "MODEL_PACKAGE_ARN",
    "MODEL_PACKAGE_GROUP_ARN",
    "Inventory",
    "PackageArn",
    "parse_model_package_arn",
]


class Inventory(
    GovernanceActions,
    UseCases,
    ModelsAndStatus,
    Approvals,
    Evidence,
    AuditVerification,
    SyncState,
    Monitoring,
):
    """The governance inventory's repository. One per task; cheap to create from an engine, and
    ``Inventory.from_url`` reuses the process's engine for the URL."""

    @cached_property
    def dashboard(self) -> DashboardQueries:
        """The dashboard's read models (bounded, paged queries) over this inventory."""
        return DashboardQueries(self.engine)
