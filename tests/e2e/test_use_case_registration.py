"""use_case_registration through real Airflow processes, the AWS and Jira sandboxes and the SMTP sink:
approved (model group created, tagged, linked, team emailed) and rejected (recorded, requester told);
re-running every task of a finished run creates nothing twice."""

from __future__ import annotations

import json
import time
import uuid

from model_governance.approvals import approval_marker
from tests.e2e.conftest import Stack

DAG_ID = "use_case_registration"


def _nodes(node: dict) -> list[dict]:
    children = [child for item in node.get("content", []) for child in _nodes(item)]
    return [{k: v for k, v in node.items() if k != "content"}, *children]


def _form(name: str) -> dict[str, str]:
    return {
        "name": name,
        "description": "Predict which retail customers will churn <script>alert(1)</script>",
        "business_entity": "retail-bank",
        "risk_level": "High",
        "owner": "owner@example.com",
        "data_science_email": "ds-team@example.com",
        "model_type": "SAGEMAKER",
    }


def _ticket(stack: Stack, run_id: str) -> str:
    marker = approval_marker(dag_id=DAG_ID, run_id=run_id, task_id="use_case_approval", kind="USE_CASE")
    client = stack.jira.client()
    try:
        for _ in range(60):
            found = client.enhanced_search_issues(f'labels = "{marker}"')
            if found:
                return str(found[0].key)
            time.sleep(1)
    finally:
        client.close()
    raise TimeoutError(f"no USE_CASE ticket for {run_id}")


def _start(stack: Stack, name: str) -> tuple[str, str]:
    run_id = f"uc-{uuid.uuid4().hex[:8]}"
    stack.airflow.trigger(DAG_ID, run_id, conf=_form(name))
    stack.airflow.wait_for_task_state(DAG_ID, run_id, "use_case_approval", {"deferred"}, timeout=240)
    return run_id, _ticket(stack, run_id)


def test_approved_use_case_gets_a_tagged_model_group_and_the_team_an_email(stack: Stack) -> None:
    name = f"Churn prediction {uuid.uuid4().hex[:6]}"
    run_id, key = _start(stack, name)
    client = stack.jira.client()
    ticket = client._session.get(f"{stack.jira.url}/rest/api/3/issue/{key}").json()  # v3: ADF as stored
    client.close()
    assert name in ticket["fields"]["summary"]
    description = ticket["fields"]["description"]
    # Cloud gets an ADF document: user text travels only as literal text nodes, never as markup.
    assert description["type"] == "doc"
    assert "<script>" not in json.dumps([n for n in _nodes(description) if n.get("type") != "text"])

    stack.jira.transition_as(key, "Done", "reviewer@example.com")
    assert stack.airflow.wait_for_run(DAG_ID, run_id) == "success", stack.airflow.task_states(DAG_ID, run_id)
    states = stack.airflow.task_states(DAG_ID, run_id)
    assert states["record_rejection"] == "skipped" and states["email_data_science_team"] == "success"

    use_case = stack.inventory.find_use_case(business_entity="retail-bank", name=name)
    assert use_case is not None and use_case.status == "Approved"
    group = stack.inventory.model_group_of_use_case(use_case.id)
    assert group is not None and group.name.startswith(f"uc-{use_case.id}-churn-prediction")
    sagemaker = stack.aws.client("sagemaker")
    described = sagemaker.describe_model_package_group(ModelPackageGroupName=group.name)
    tags = {
        t["Key"]: t["Value"]
        for t in sagemaker.list_tags(ResourceArn=described["ModelPackageGroupArn"])["Tags"]
    }
    assert tags["governance:use_case_id"] == str(use_case.id)
    [approval] = stack.inventory.approvals(use_case_id=use_case.id)
    assert (approval.jira_key, approval.state) == (key, "APPROVED")

    mails = [m for m in stack.smtp.wait_for(1) if group.name in str(m["Subject"])]
    assert len(mails) == 1 and mails[0]["To"] == "ds-team@example.com"

    # Clear every task of the finished run and run it again: nothing is created twice.
    creates = stack.aws.request_count("sagemaker:CreateModelPackageGroup")
    stack.airflow.clear_run(DAG_ID, run_id)  # this run only: the stack is shared
    assert stack.airflow.wait_for_run(DAG_ID, run_id) == "success"
    assert stack.aws.request_count("sagemaker:CreateModelPackageGroup") == creates
    client = stack.jira.client()
    marker = approval_marker(dag_id=DAG_ID, run_id=run_id, task_id="use_case_approval", kind="USE_CASE")
    assert len(client.enhanced_search_issues(f'labels = "{marker}"')) == 1
    assert len(stack.inventory.approvals(use_case_id=use_case.id)) == 1


def test_rejected_use_case_is_recorded_and_the_requester_told(stack: Stack) -> None:
    name = f"Credit limit {uuid.uuid4().hex[:6]}"
    run_id, key = _start(stack, name)
    stack.jira.transition_as(key, "Rejected", "reviewer@example.com")
    assert stack.airflow.wait_for_run(DAG_ID, run_id) == "success"
    states = stack.airflow.task_states(DAG_ID, run_id)
    assert states["create_model_group"] == "skipped" and states["record_rejection"] == "success"
    use_case = stack.inventory.find_use_case(business_entity="retail-bank", name=name)
    assert use_case is not None and use_case.status == "Rejected"
    assert stack.inventory.model_group_of_use_case(use_case.id) is None
    mails = [m for m in stack.smtp.messages() if name in str(m["Subject"])]
    assert len(mails) == 1 and mails[0]["To"] == "owner@example.com"
