"""RunRiskTestsOperator as an adapter of RiskTestsService (a fake here): it returns, waits on the job or
the failure ticket, or fails without retries, as the service says; and the service's bookkeeping with fakes
of its collaborators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest.mock import MagicMock

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from model_governance.approvals import Decision, Outcome, Person
from model_governance.exceptions import (
    ApprovalRejectedError,
    InvalidInputError,
    JiraError,
    NotFoundError,
    PinnedDataChangedError,
    RegistryError,
    RiskTestJobError,
)
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.services.risk_tests import AwaitJob, AwaitTicket, Finished, Refused, RiskTestsService
from model_governance.triggers.jira import JiraApprovalTrigger
from model_governance.triggers.sagemaker import PROCESSING_JOB, SageMakerWaitTrigger
from tests.unit.operators.fakes import CONN_ID, REGION, FakeTI, Hooks, context, inventory, wire


class FakeService:
    def __init__(self, step: Any) -> None:
        self.step = step
        self.decisions: list[tuple[int, str, Decision]] = []

    def start(self) -> Any:
        return self.step

    def job_ended(self, event: Any, attempt: Any, job_name: str) -> Any:
        return self.step

    def decided(self, attempt: int, issue_key: str, decision: Decision) -> Any:
        self.decisions.append((attempt, issue_key, decision))
        return self.step

    def failure_request(self, attempt: int) -> str:
        return f"request-{attempt}"


def _decision(outcome: Outcome = Outcome.APPROVED) -> Decision:
    who = Person(account_id="acc-1", display_name="Rita", email="rita@example.com")
    return Decision("MLC-3", outcome, "Done", who, datetime(2026, 3, 1, tzinfo=UTC))


def _operator(step: Any, approvals: Any = None) -> tuple[RunRiskTestsOperator, FakeService]:
    operator = wire(
        RunRiskTestsOperator(task_id="run_risk_tests", model_id=7, snapshot_id=5, poll_interval=5),
        inventory=inventory(),
        hooks=Hooks(),
    )
    service = FakeService(step)
    operator.__dict__["service"] = lambda context: service
    hook = MagicMock(jira_conn_id="jira_mlc")
    hook.settings.done_status, hook.settings.rejected_status = "Done", "Rejected"
    operator.__dict__.update(hook=hook, approvals=approvals or MagicMock())
    return operator, service


def test_a_finished_run_is_the_result() -> None:
    operator, _ = _operator(Finished({"run_key": "k", "passed": True}))
    assert operator.execute(context()) == {"run_key": "k", "passed": True}


def test_a_processing_job_is_waited_for_on_the_entitys_connection() -> None:
    operator, _ = _operator(AwaitJob("mg-job", 1))
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, SageMakerWaitTrigger) and trigger.resource == PROCESSING_JOB
    assert (trigger.name, trigger.aws_conn_id, trigger.region_name) == ("mg-job", CONN_ID, REGION)
    assert deferred.value.kwargs == {"attempt": 1, "job_name": "mg-job"}


def test_a_failure_ticket_is_waited_for_a_year_and_its_decision_followed() -> None:
    approvals = MagicMock()
    operator, service = _operator(AwaitTicket("MLC-3", 1), approvals)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context())
    assert (
        isinstance(deferred.value.trigger, JiraApprovalTrigger)
        and deferred.value.trigger.issue_key == "MLC-3"
    )
    assert deferred.value.kwargs == {"attempt": 1, "issue_key": "MLC-3"}
    assert deferred.value.timeout is not None and deferred.value.timeout.days == 365

    approvals.verified_decision.return_value = None  # refused: the wait goes on
    with pytest.raises(TaskDeferred):
        operator.execute_complete(context(), {"status": "decided"}, attempt=1, issue_key="MLC-3")
    service.step = Finished({"attempt": 2})
    approvals.verified_decision.return_value = decision = _decision()
    result = operator.execute_complete(context(), {"status": "decided"}, attempt=1, issue_key="MLC-3")
    assert result == {"attempt": 2} and service.decisions == [(1, "MLC-3", decision)]
    approvals.verified_decision.assert_called_with("request-1", "MLC-3")


def test_a_bad_resume_and_a_deleted_ticket_say_what_to_do() -> None:
    operator, _ = _operator(Finished({}))
    with pytest.raises(JiraError, match="Unexpected resume"):
        operator.execute_complete(context(), {"status": "decided"}, attempt=True, issue_key="MLC-3")
    with pytest.raises(JiraError, match="Unexpected resume"):
        operator.execute_complete(context(), None, attempt=1, issue_key="MLC-3")
    with pytest.raises(NotFoundError, match="Risk test failure ticket MLC-3 was deleted"):
        operator.execute_complete(context(), {"status": "deleted"}, attempt=1, issue_key="MLC-3")


def test_changed_pinned_data_fails_without_retries() -> None:
    error = PinnedDataChangedError("BASELINE_DATA changed")
    operator, _ = _operator(Refused("refused: BASELINE_DATA changed", error))
    with pytest.raises(AirflowFailException, match="refused: BASELINE_DATA changed"):
        operator.execute(context())


# -- the service ------------------------------------------------------------------------------------------


def _service(**changes: Any) -> tuple[RiskTestsService, Any, Hooks]:
    from tests.unit.operators.fakes import config

    hooks, inv = Hooks(), inventory()
    status: list[tuple[Any, str]] = []
    arguments: dict[str, Any] = {
        "config": config(),
        "inventory": inv,
        "model": inv.get_model.return_value,
        "snapshot_id": 5,
        "ti": FakeTI("run_risk_tests"),
        "entity": MagicMock(),
        "evidence": MagicMock(),
        "approvals": MagicMock(),
        "jira": MagicMock(),
        "set_status": lambda s, reason: status.append((s, reason)),
        "notify": MagicMock(),
        "log": MagicMock(),
        **changes,
    }
    service = RiskTestsService(**arguments)
    service.__dict__["status"] = status
    return service, inv, hooks


def _run(state: str, attempt: int = 1, error: str | None = None) -> Any:
    run = MagicMock(state=state, error=error, passed=True, report_uri="s3://r", report=None)
    run.run_key = f"mlc/manual__1/run_risk_tests/attempt-{attempt}"
    return run


def test_max_reruns_must_be_a_whole_number() -> None:
    service, _, _ = _service(max_reruns=-1)
    with pytest.raises(InvalidInputError, match="max_reruns of task 'run_risk_tests' is -1"):
        service.start()


def test_a_recorded_attempt_is_returned_as_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    service, inv, _ = _service()
    monkeypatch.setattr(service, "_prepare", lambda: (MagicMock(), MagicMock()))
    inv.risk_test_runs.return_value = [_run("FAILED", 1, "x"), _run("SUCCEEDED", 2)]
    step = service.start()
    assert step == Finished(
        {
            "run_key": "mlc/manual__1/run_risk_tests/attempt-2",
            "attempt": 2,
            "passed": True,
            "report_uri": "s3://r",
            "failed_tests": [],
        }
    )
    assert not inv.start_risk_test_run.called


def test_a_rejected_failure_ticket_rejects_the_model() -> None:
    service, _, _ = _service()
    with pytest.raises(ApprovalRejectedError, match="not run again"):
        service.decided(1, "MLC-3", _decision(Outcome.REJECTED))
    ((status, reason),) = service.__dict__["status"]
    assert status.value == "Rejected" and reason.startswith("risk test failure ticket MLC-3 rejected by Rita")


def test_done_with_no_rerun_left_fails() -> None:
    service, _, _ = _service(max_reruns=0)
    with pytest.raises(RiskTestJobError, match="uses up max_reruns=0"):
        service.decided(1, "MLC-3", _decision())


def test_a_job_resume_must_be_this_attempts_job() -> None:
    service, _, _ = _service()
    with pytest.raises(RegistryError, match="Unexpected resume"):
        service.job_ended({"name": "other"}, 1, "mg-job")
    with pytest.raises(RegistryError, match="is not attempt 1"):
        service.job_ended({"name": "mg-job", "status": "success"}, 1, "mg-job")
