"""The dashboard's governance action buttons against the real Airflow api-server of the shared stack.

A user logs in to Airflow (the simple auth manager: ``POST /auth/token``, the ``_token`` cookie the login
page sets), opens a model's page in the dashboard the api-server serves, fills in the reason of a button's
form and submits it, then the confirmation form, exactly as a browser does (the page's CSRF token, the
``Origin`` and ``Sec-Fetch-Site`` headers a browser adds). The dashboard triggers the
``model_governance_action`` DAG through Airflow's REST API with that user's token; the real scheduler runs
it. Checked: the run (its triggering user), the inventory (status, audit trail with who and why), SageMaker's
ModelLifeCycle (the mapping table's stage/status, the model card archived); and the refusals: no or a wrong
CSRF token, no reason, a cross-site post, a user whose role may not trigger DAG runs (``auditor``, role
viewer; Airflow's own API refuses that user too). Plain HTTP (httpx), no browser: the forms have no
JavaScript.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import lxml.html
import pytest

from model_governance.inventory import EventSource
from model_governance.inventory.models import ActionState
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.lifecycle import to_sagemaker
from model_governance.ui.actions import ACTION_DAG, csrf_token
from tests.e2e.conftest import Stack, stack_password

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"
PREFIX = "/model-governance"


@dataclass
class Browser:
    """One logged-in user's browser: the ``_token`` cookie Airflow's login page sets, and the headers a
    browser adds to a form it posts to the page's own origin."""

    user: str
    token: str
    client: httpx.Client

    def page(self, model_id: int) -> Any:
        answer = self.client.get(f"{PREFIX}/models/{model_id}")
        assert answer.status_code == 200, answer.text[:2000]
        return lxml.html.fromstring(answer.text)

    def post(self, model_id: int, fields: dict[str, str], **headers: str) -> httpx.Response:
        return self.client.post(
            f"{PREFIX}/models/{model_id}/actions",
            content=urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": str(self.client.base_url).rstrip("/"),
                "Sec-Fetch-Site": "same-origin",
                **headers,
            },
        )


def form_fields(doc: Any, form_id: str) -> dict[str, str]:
    """What the form sends: its inputs and textareas by name."""
    (form,) = doc.xpath(f"//form[@id='{form_id}']")
    return dict(form.form_values())


def text_of(html: str, element_id: str) -> str:
    return str(lxml.html.fromstring(html).get_element_by_id(element_id).text_content())


def login(stack: Stack, user: str) -> Browser:
    answer = httpx.post(
        f"{stack.airflow.url}/auth/token",
        json={"username": user, "password": stack_password(stack, user)},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    token = str(answer.json()["access_token"])
    client = httpx.Client(
        base_url=stack.airflow.url, headers={"Cookie": f"_token={token}"}, timeout=60, follow_redirects=False
    )
    return Browser(user, token, client)


@dataclass
class ActionsStack:
    stack: Stack
    group: str
    operator: Browser
    auditor: Browser

    def model(self, status: S, *, card: bool = False) -> int:
        """A version of the group, in SageMaker at ``status``'s stage/status and in the inventory at it."""
        pair = to_sagemaker(status)
        deployed = status is S.DEPLOYED
        extra: dict[str, Any] = {}
        if card:
            extra["ModelCard"] = {"ModelCardContent": "{}", "ModelCardStatus": "Approved"}
        arn = str(
            self.stack.aws.client("sagemaker").create_model_package(
                ModelPackageGroupName=self.group,
                ModelPackageDescription="churn model",
                InferenceSpecification={
                    "Containers": [{"Image": IMAGE}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                ModelApprovalStatus="Approved" if deployed else "PendingManualApproval",
                ModelLifeCycle={"Stage": pair.stage, "StageStatus": pair.stage_status},
                **extra,
            )["ModelPackageArn"]
        )
        model, _ = self.stack.inventory.upsert_model(
            package_arn=arn,
            status=status,
            actor="e2e",
            reason="dashboard actions e2e",
            source=EventSource.SAGEMAKER,
            approval_status="Approved" if deployed else "PendingManualApproval",
        )
        return int(model.id)

    def lifecycle(self, model_id: int) -> tuple[str, str]:
        arn = self.stack.inventory.get_model(model_id).package_arn
        found = self.stack.aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
        return found["ModelLifeCycle"]["Stage"], found["ModelLifeCycle"]["StageStatus"]

    def runs_of(self, model_id: int) -> list[dict[str, Any]]:
        """The action DAG's runs the dashboard triggered for the model (its run ids name the model)."""
        return [r for r in self.stack.airflow.dag_runs(ACTION_DAG) if f"__model-{model_id}__" in r["run_id"]]


@pytest.fixture(scope="module")
def actions_stack(stack: Stack) -> Iterator[ActionsStack]:
    stack.airflow.wait_for_dag(ACTION_DAG)
    entity = stack.settings["business_entities"][0]
    stack.inventory.ensure_business_entity(
        name=stack.entity,
        account_id=entity["account_id"],
        region=entity["region"],
        aws_conn_id=entity["aws_conn_id"],
    )
    use_case = stack.inventory.create_use_case(
        business_entity=stack.entity,
        name=f"Churn (dashboard actions e2e {uuid.uuid4().hex[:6]})",
        risk_level="Medium",
        owner="owner@example.com",
    )
    group = f"churn-da-{uuid.uuid4().hex[:6]}"
    arn = stack.aws.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)[
        "ModelPackageGroupArn"
    ]
    stack.inventory.link_model_group(use_case_id=use_case.id, name=group, arn=arn)
    operator, auditor = login(stack, "operator"), login(stack, "auditor")
    try:
        yield ActionsStack(stack, group, operator, auditor)
    finally:
        operator.client.close()
        auditor.client.close()


def _request(browser: Browser, model_id: int, action: str, reason: str) -> tuple[str, dict[str, str], Any]:
    """Fill in the button's reason, submit, confirm: the DAG run id the result page names, the confirmation
    form sent, and the result page."""
    fields = form_fields(browser.page(model_id), f"action-{action}")
    assert fields["csrf"] and fields["action"] == action
    asked = browser.post(model_id, {**fields, "reason": reason})
    assert asked.status_code == 200, asked.text[:2000]
    confirm = form_fields(lxml.html.fromstring(asked.text), "confirm-form")
    assert confirm["confirm"] == "yes" and confirm["reason"] == reason
    assert browser.user in text_of(asked.text, "confirm")  # "Requested by" is the login, not a field
    done = browser.post(model_id, confirm)
    assert done.status_code == 200, done.text[:2000]
    assert text_of(done.text, "action-result").count("Action requested") == 1, done.text[:2000]
    result = lxml.html.fromstring(done.text)
    run_id = result.get_element_by_id("run-id").text_content().strip()
    # The link to the run works inside the Airflow UI's sandboxed iframe too: no target="_top"/"_blank".
    (link,) = result.xpath("//a[@id='run-link']")
    assert link.get("href") == f"/dags/{ACTION_DAG}/runs/{run_id}" and link.get("target") is None
    return run_id, confirm, result


def _wait(actions: ActionsStack, run_id: str, timeout: float = 180) -> None:
    """Until the run finishes (polled every half second: a one-task run takes a few seconds)."""
    airflow = actions.stack.airflow
    deadline = time.monotonic() + timeout
    while (state := airflow.run_state(ACTION_DAG, run_id)) not in ("success", "failed"):
        assert time.monotonic() < deadline, f"{run_id}: {airflow.task_states(ACTION_DAG, run_id)}"
        time.sleep(0.5)
    log = airflow.task_log(ACTION_DAG, run_id, "perform_action")[-3000:] if state != "success" else ""
    assert state == "success", (airflow.task_states(ACTION_DAG, run_id), log)


def test_buttons_run_the_action_dag_as_the_logged_in_user(actions_stack: ActionsStack) -> None:
    actions, operator = actions_stack, actions_stack.operator
    stack, inventory = actions.stack, actions.stack.inventory
    developing = actions.model(S.UNDER_DEVELOPMENT)
    deployed = actions.model(S.DEPLOYED, card=True)
    started = time.monotonic()

    # Both requests first (two runs side by side), then wait for them.
    hold_reason = f"data licence under review {uuid.uuid4().hex[:6]}"
    hold_run, hold_confirm, held = _request(operator, developing, "hold", hold_reason)
    retire_reason = f"replaced by the new churn model {uuid.uuid4().hex[:6]}"
    retire_run, _, _ = _request(operator, deployed, "decommission", retire_reason)
    assert hold_run.startswith(f"dashboard__hold__model-{developing}__")
    assert not held.xpath("//*[@id='action-warning']")  # the DAG is not paused

    # Confirming again (a double click, a reload) reaches the same run: Airflow answers 409.
    again = operator.post(developing, hold_confirm)
    assert again.status_code == 200, again.text[:2000]
    assert "Already requested" in text_of(again.text, "action-result")
    assert text_of(again.text, "run-id").strip() == hold_run
    _wait(actions, hold_run)
    _wait(actions, retire_run)
    print(f"hold + decommission through the dashboard: {time.monotonic() - started:.1f}s")

    # The runs were made by the api-server as the operator, with the reason in their conf.
    for run_id, reason in ((hold_run, hold_reason), (retire_run, retire_reason)):
        run = stack.airflow.api("GET", f"dags/{ACTION_DAG}/dagRuns/{run_id}")
        assert run["triggering_user_name"] == "operator", run
        assert run["conf"]["requested_by"] == "operator" and run["conf"]["reason"] == reason
    assert [r["run_id"] for r in actions.runs_of(developing)] == [hold_run]

    # Hold: the inventory's status and audit trail (who, why), the action record, SageMaker's stage/status.
    model = inventory.get_model(developing)
    assert model.status == S.ON_HOLD_DEVELOPMENT.value
    last = inventory.status_history(model)[-1]
    assert (last.from_status, last.to_status) == (S.UNDER_DEVELOPMENT.value, S.ON_HOLD_DEVELOPMENT.value)
    assert last.actor == "operator" and last.source == EventSource.GOVERNANCE.value
    assert last.reason == f"hold: {hold_reason}"
    (record,) = inventory.governance_actions(model_id=developing)
    assert (record.action, record.requested_by, record.reason, record.state) == (
        "hold",
        "operator",
        hold_reason,
        ActionState.DONE.value,
    )
    assert (record.dag_id, record.run_id) == (ACTION_DAG, hold_run)
    assert actions.lifecycle(developing) == ("Development", "OnHold")

    # Decommission: through Decommissioning to Decommissioned, each written to SageMaker; card archived.
    model = inventory.get_model(deployed)
    assert model.status == S.DECOMMISSIONED.value
    moves = [(e.to_status, e.actor, e.reason) for e in inventory.status_history(model)[-2:]]
    assert moves == [
        (S.DECOMMISSIONING.value, "operator", f"decommission: {retire_reason}"),
        (S.DECOMMISSIONED.value, "operator", f"decommission: {retire_reason}"),
    ]
    assert actions.lifecycle(deployed) == ("Archived", "Complete")
    described = stack.aws.client("sagemaker").describe_model_package(ModelPackageName=model.package_arn)
    assert described["ModelCard"]["ModelCardStatus"] == "Archived"

    # The model page shows the new status, who and why (audit chain verified), and now offers resume.
    doc = operator.page(developing)
    assert "Audit trail verified" in doc.get_element_by_id("audit-result").text_content()
    timeline = doc.get_element_by_id("timeline").text_content()
    assert S.ON_HOLD_DEVELOPMENT.value in timeline and "operator" in timeline and hold_reason in timeline
    assert not doc.xpath("//form[@id='action-hold']")
    resume_reason = f"licence confirmed {uuid.uuid4().hex[:6]}"
    resume_run, _, _ = _request(operator, developing, "resume", resume_reason)
    _wait(actions, resume_run)
    model = inventory.get_model(developing)
    assert model.status == S.UNDER_DEVELOPMENT.value
    last = inventory.status_history(model)[-1]
    assert (last.actor, last.reason) == ("operator", f"resume: {resume_reason}")
    assert actions.lifecycle(developing) == ("Development", "InProgress")
    print(f"hold, decommission, resume through the dashboard: {time.monotonic() - started:.1f}s")


def test_refusals_against_the_real_server(actions_stack: ActionsStack) -> None:
    actions, operator, auditor = actions_stack, actions_stack.operator, actions_stack.auditor
    model_id = actions.model(S.UNDER_DEVELOPMENT)
    before = actions.lifecycle(model_id)
    fields = form_fields(operator.page(model_id), "action-hold")
    reason = "should never run"

    def refused(answer: httpx.Response, status: int, title: str) -> None:
        assert answer.status_code == status, answer.text[:2000]
        assert title in text_of(answer.text, "action-result"), answer.text[:2000]

    # The confirmation step: nothing is triggered before it.
    asked = operator.post(model_id, {**fields, "reason": reason})
    assert asked.status_code == 200 and actions.runs_of(model_id) == []
    confirm = form_fields(lxml.html.fromstring(asked.text), "confirm-form")

    # CSRF: missing, wrong, another user's, another model's; at either step.
    for step in ({**fields, "reason": reason}, confirm):
        without = {k: v for k, v in step.items() if k != "csrf"}
        refused(operator.post(model_id, without), 403, "Form expired")
        refused(operator.post(model_id, {**step, "csrf": "0" * 64}), 403, "Form expired")
        refused(
            operator.post(model_id, {**step, "csrf": csrf_token(auditor.token, model_id)}),
            403,
            "Form expired",
        )
        refused(
            operator.post(model_id, {**step, "csrf": csrf_token(operator.token, model_id + 1)}),
            403,
            "Form expired",
        )
    # A cross-site post, even with the right token.
    refused(
        operator.post(model_id, confirm, Origin="https://evil.example.com"), 403, "Cross-site request refused"
    )
    refused(operator.post(model_id, confirm, **{"Sec-Fetch-Site": "cross-site"}), 403, "Cross-site")
    # Behind a reverse proxy that rewrites Host, the browser's Origin is Airflow's public [api] base_url:
    # accepted (the first step: nothing is triggered).
    proxied = operator.post(model_id, {**fields, "reason": reason}, Host="airflow-api.internal:8080")
    assert proxied.status_code == 200 and "confirm-form" in proxied.text, proxied.text[:2000]
    # No reason (or only blanks), at either step.
    for blank in ("", "   ", "x"):
        refused(operator.post(model_id, {**fields, "reason": blank}), 400, "Reason required")
        refused(operator.post(model_id, {**confirm, "reason": blank}), 400, "Reason required")
    # Not a form.
    answer = operator.client.post(
        f"{PREFIX}/models/{model_id}/actions",
        content=json.dumps(confirm).encode(),
        headers={"Content-Type": "application/json"},
    )
    refused(answer, 400, "Not a form")
    # Anonymous, or a forged session: to the login page.
    for cookie in ("", "_token=not-a-jwt"):
        answer = httpx.post(
            f"{actions.stack.airflow.url}{PREFIX}/models/{model_id}/actions",
            data=confirm,
            headers={"Cookie": cookie} if cookie else {},
            timeout=30,
        )
        assert answer.status_code == 302 and "/auth/login" in answer.headers["location"]

    # A viewer may read the page but is offered no button, and is refused with a form made by hand
    # (its own valid CSRF token), at either step.
    doc = auditor.page(model_id)
    assert not doc.xpath("//form[contains(@class, 'action-form')]")
    assert "may not trigger" in doc.get_element_by_id("actions-not-allowed").text_content()
    own = csrf_token(auditor.token, model_id)
    refused(auditor.post(model_id, {**fields, "csrf": own, "reason": reason}), 403, "Not allowed")
    refused(auditor.post(model_id, {**confirm, "csrf": own}), 403, "Not allowed")
    # Airflow's own API refuses the viewer as well: its permissions decide, not the dashboard's buttons.
    direct = httpx.post(
        f"{actions.stack.airflow.url}/api/v2/dags/{ACTION_DAG}/dagRuns",
        json={"dag_run_id": f"forged__model-{model_id}__x", "logical_date": None, "conf": {}},
        headers={"Authorization": f"Bearer {auditor.token}"},
        timeout=30,
    )
    assert direct.status_code == 403, direct.text

    # Nothing ran, nothing was recorded or written.
    assert actions.runs_of(model_id) == []
    assert actions.stack.inventory.get_model(model_id).status == S.UNDER_DEVELOPMENT.value
    assert list(actions.stack.inventory.governance_actions(model_id=model_id)) == []
    assert actions.lifecycle(model_id) == before


def test_a_run_of_the_paused_action_dag_is_said_to_wait(actions_stack: ActionsStack) -> None:
    """Airflow creates a run of a paused DAG but leaves it queued: the result page says so, instead of
    'the model's status changes when the run has done it'."""
    actions, airflow = actions_stack, actions_stack.stack.airflow
    model_id = actions.model(S.UNDER_DEVELOPMENT)
    airflow.api("PATCH", f"dags/{ACTION_DAG}", {"is_paused": True})
    run_id = None
    try:
        run_id, _, result = _request(actions.operator, model_id, "hold", "paused DAG check")
        assert "is paused" in result.get_element_by_id("action-warning").text_content()
        assert airflow.run_state(ACTION_DAG, run_id) == "queued"
    finally:
        if run_id is not None:
            airflow.fail_run(ACTION_DAG, run_id, note="e2e: the paused DAG's run, not to run")
        airflow.api("PATCH", f"dags/{ACTION_DAG}", {"is_paused": False})
    assert actions.stack.inventory.get_model(model_id).status == S.UNDER_DEVELOPMENT.value
