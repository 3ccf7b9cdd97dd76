"""An approval gate of the model life cycle in one call: the Jira approval, the branch on its outcome and
the rejection step, wired ``approval >> branch >> reject``.

The MLC has three such gates (PIA, test results review, production); each was the same three operators::

    pia = model_approval_gate(
        approval_task_id="pia_approval", name="pia", approval_kind="PIA", model_id=MODEL_ID,
        then="create_snapshot",
    )
    start_review >> pia.approval
    pia.branch >> snapshot

Task ids are ``approval_task_id``, ``follow_<name>`` and ``reject_after_<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from model_governance.operators.branching import ApprovalOutcomeBranchOperator
from model_governance.operators.jira import JiraApprovalOperator
from model_governance.operators.model_lifecycle import RejectModelOperator


@dataclass(frozen=True)
class ApprovalGate:
    approval: JiraApprovalOperator
    branch: ApprovalOutcomeBranchOperator
    reject: RejectModelOperator


def decision_of(task_id: str) -> str:
    """The template that renders (natively) to the decision the approval task ``task_id`` returned."""
    return "{{ ti.xcom_pull(task_ids='" + task_id + "') }}"


def model_approval_gate(
    *,
    approval_task_id: str,
    name: str,
    approval_kind: str,
    model_id: str,
    then: str,
    **approval_kwargs: Any,
) -> ApprovalGate:
    """Build the gate; ``then`` is the task id followed on approval (wire it after ``gate.branch``).

    ``approval_kwargs`` go to ``JiraApprovalOperator`` (e.g. ``attachment_uris``); the approval does not
    raise on rejection, the branch sends it to ``reject_after_<name>``, which records the model Rejected.
    """
    approval = JiraApprovalOperator(
        task_id=approval_task_id,
        approval_kind=approval_kind,
        model_id=model_id,
        raise_on_reject=False,
        **approval_kwargs,
    )
    reject_task_id = f"reject_after_{name}"
    branch = ApprovalOutcomeBranchOperator(
        task_id=f"follow_{name}",
        approval_task_id=approval_task_id,
        approved=[then],
        rejected=[reject_task_id],
    )
    reject = RejectModelOperator(
        task_id=reject_task_id, model_id=model_id, decision=decision_of(approval_task_id)
    )
    approval >> branch >> reject
    return ApprovalGate(approval, branch, reject)
