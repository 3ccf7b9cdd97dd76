"""Follow an approval's outcome: one set of tasks when approved, another when rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseBranchOperator

from model_governance.exceptions import InvalidInputError

if TYPE_CHECKING:
    from airflow.sdk import Context


class ApprovalOutcomeBranchOperator(BaseBranchOperator):
    """Branch on the decision an approval task returned (``raise_on_reject=False``).

    :param approval_task_id: the JiraApprovalOperator/Sensor whose return value is the decision.
    :param approved: task ids to follow when approved; :param rejected: when rejected.
    """

    def __init__(
        self, *, approval_task_id: str, approved: Sequence[str], rejected: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.approval_task_id = approval_task_id
        self.approved = list(approved)
        self.rejected = list(rejected)

    def choose_branch(self, context: Context) -> list[str]:
        decision = context["ti"].xcom_pull(task_ids=self.approval_task_id)
        outcome = decision.get("outcome") if isinstance(decision, dict) else None
        if outcome == "approved":
            return self.approved
        if outcome == "rejected":
            return self.rejected
        raise InvalidInputError(
            f"Task {self.approval_task_id!r} returned no approval decision ({decision!r}); it must be a Jira "
            "approval task with raise_on_reject=False."
        )
