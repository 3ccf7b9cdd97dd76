"""A failed MLC step is said on the model's open approval tickets, once per failed try."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model_governance.approvals import approval_marker
from model_governance.config import load_config
from model_governance.hooks.jira import JiraHook
from model_governance.inventory import Inventory
from model_governance.notifications.email import comment_on_open_tickets
from sandbox.jira.pytest_fixtures import JiraSandboxProcess
from tests.integration.approvals.conftest import connect


class FakeTI:
    dag_id, run_id, task_id, try_number = "sagemaker_model_implementation", "r1", "create_snapshot", 1

    def __init__(self, model_id: int | None) -> None:
        self.model_id = model_id

    def xcom_pull(self, task_ids: str) -> Any:
        assert task_ids == "onboard_model"
        return None if self.model_id is None else {"model_id": self.model_id}


def test_open_tickets_of_the_model_get_one_comment_per_failed_try(
    jira_sandbox: JiraSandboxProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conn_id = connect(jira_sandbox, monkeypatch, "jira_failures")
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    config = load_config(json.dumps({"inventory": {"url": url}, "jira": {"conn_id": conn_id}}), environ={})
    inventory = Inventory.from_url(url, upgrade_schema=True)
    inventory.ensure_business_entity(name="b", account_id="123456789012", region="us-east-1", aws_conn_id="a")
    use_case = inventory.create_use_case(business_entity="b", name="u", risk_level="Low", owner="o@x.io")
    inventory.link_model_group(
        use_case_id=use_case.id,
        name="g",
        arn="arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g",
    )
    model, _ = inventory.upsert_model(
        package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        status="Development Complete",
        actor="t",
        reason="t",
    )
    hook = JiraHook(conn_id)
    open_key = hook.create_ticket(
        marker=approval_marker(dag_id="d", run_id="r1", task_id="pia", kind="PIA"),
        project_key="MLC",
        summary="s",
        description="d",
    ).key
    inventory.record_approval_requested(kind="PIA", jira_key=open_key, model_id=model.id)

    for _ in range(2):  # the callback of one failed try may run twice: one comment
        assert comment_on_open_tickets(FakeTI(model.id), "create_snapshot failed: X", config=config) == [
            open_key
        ]
    comments = hook._rest("get", f"2/issue/{open_key}/comment", idempotent=True)["comments"]
    assert [c["body"].splitlines()[0] for c in comments] == ["create_snapshot failed: X"]
    assert comment_on_open_tickets(FakeTI(None), "no model yet", config=config) == []
