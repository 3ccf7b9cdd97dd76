"""Champion and challenger: the one rule that links a model change's challenger (docs/after-go-live.md).

``start_change`` moves a Deployed version (the champion) to Model Change in Progress. The group's next
version, when it is onboarded (``sync.LifecycleSync`` or the implementation run's ``OnboardModelOperator``)
while a lower version of its group is in Model Change in Progress, is that change's challenger:
``Inventory.link_challenger`` records it once, and ``Inventory.champion_of`` answers it afterwards (the
review document compares the two). Calling it again, or for a version that is no challenger, changes nothing.

The comparison is on the same comparator data: the challenger's comparator data (``COMPARATOR_DATA``)
carries the champion's scores for the same rows in one column, ``champion_score`` unless the challenger's
customer metadata key ``CHAMPION_SCORE_COLUMN`` names another (``champion_score_column``, read from the
snapshot, so the column tested is the one pinned). The challenger's risk test step computes the champion's
performance from it (``services.risk_tests``, ``risk_tests.champion``). No Airflow here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model_governance.inventory.models import Model
from model_governance.lifecycle import GovernanceStatus

if TYPE_CHECKING:
    from model_governance.inventory import Inventory
    from model_governance.inventory.models import GovernanceAction

log = logging.getLogger(__name__)


def _champion_in_change(inventory: Inventory, model: Model) -> bool:
    """Whether a lower version of ``model``'s group is in Model Change in Progress (one indexed query:
    ``ix_mg_model_status_group``)."""
    query = (
        select(Model.id)
        .where(
            Model.status == GovernanceStatus.MODEL_CHANGE_IN_PROGRESS.value,
            Model.model_group_id == model.model_group_id,
            Model.version < model.version,
        )
        .limit(1)
    )
    with Session(inventory.engine) as session:
        return session.scalar(query) is not None


def link_if_challenger(inventory: Inventory, model: Model) -> GovernanceAction | None:
    """Link ``model`` (just onboarded) as the challenger of its group's champion in Model Change in
    Progress; the change it belongs to, or None when it is no challenger."""
    if model.version < 2 or not _champion_in_change(inventory, model):
        return None
    change = inventory.link_challenger(model)
    if change is not None:
        log.info(
            "Model %s is the challenger of model %s (model change %s)",
            model.package_arn,
            change.model_id,
            change.id,
        )
    return change


def champion_score_column(manifest: Mapping[str, Any] | None) -> str:
    """The comparator data's column holding the champion's scores, as the challenger's snapshot recorded
    its customer metadata: ``CHAMPION_SCORE_COLUMN``, else ``champion_score``."""
    from model_governance.risk_tests.champion import (
        CHAMPION_SCORE_COLUMN_KEY,
        DEFAULT_CHAMPION_SCORE_COLUMN,
    )

    package = (manifest or {}).get("model_package") or {}
    metadata = package.get("customer_metadata") or {}
    value = metadata.get(CHAMPION_SCORE_COLUMN_KEY) if isinstance(metadata, Mapping) else None
    text = str(value).strip() if value is not None else ""
    return text or DEFAULT_CHAMPION_SCORE_COLUMN


__all__ = ["champion_score_column", "link_if_challenger"]
