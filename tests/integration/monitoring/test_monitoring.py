"""Monitoring that acts, through the push API against the Jira and AWS sandboxes and a real inventory: a
breach pushed three times opens exactly one finding ticket, which is updated while the breach lasts,
moves a High-risk Deployed model to Model Change in Progress, and is closed when a passing value comes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from model_governance.hooks.jira import JiraHook, jql_string
from model_governance.operators.monitoring import CarryMonitoringFindingsOperator
from model_governance.services.monitoring import finding_marker


def _body(governed: Any, value: float, at: datetime) -> dict[str, Any]:
    return {
        "model_package_arn": governed.package_arn,
        "metric": "auc",
        "value": value,
        "recorded_at": at.isoformat(),
        "source": "sagemaker-model-monitor",
        "threshold": 0.75,
        "direction": "higher_is_better",
    }


def _deployed(governed: Any) -> None:
    """Take the version along the life cycle to Deployed (as the implementation MLC does)."""
    for status in (
        "Pre Implementation Review",
        "Validation Complete",
        "Awaiting Approval",
        "Approved for Deployment",
        "Deployed",
    ):
        governed.inventory.transition(
            governed.model_id, status, source="governance", actor="test", reason="t"
        )


def _carry(jira: Any, run: str) -> dict[str, Any]:
    from tests.integration.monitoring.conftest import FakeTI

    operator = CarryMonitoringFindingsOperator(task_id="carry_findings", jira_conn_id=jira.conn_id)
    ti = FakeTI(run_id=run, task_id="carry_findings", dag_id="model_monitoring")
    return operator.execute({"ti": ti})  # type: ignore[typeddict-item]


def test_a_breach_pushed_three_times_opens_one_finding_ticket(
    jira: Any, make_governed: Any, dashboard_over: Any
) -> None:
    governed = make_governed(risk_level="High")
    _deployed(governed)
    dashboard = dashboard_over(governed.inventory)
    start = datetime.now(UTC) - timedelta(hours=3)

    answers = [
        dashboard.push(_body(governed, 0.70 - i / 100, start + timedelta(minutes=i))) for i in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert [a.json()["finding"]["opened"] for a in answers] == [True, False, False]
    assert len({a.json()["finding"]["finding_id"] for a in answers}) == 1
    (finding,) = governed.inventory.findings(model=governed.model_id)
    assert finding.breaches == 3 and finding.state == "open"

    first = _carry(jira, "scheduled__1")
    again = _carry(jira, "scheduled__2")  # an overlapping or later run finds the same ticket
    assert len(first["opened"]) == 1 and not again["opened"] and not first["failed"]
    hook = JiraHook(jira.conn_id)
    marker = finding_marker(governed.model_id, "auc", finding.id)
    keys = hook.search_keys(f"project = MLC AND labels = {jql_string(marker)}")
    assert keys == first["opened"]
    key = keys[0]

    # The policy of a High-risk model: Model Change in Progress, in the inventory and in SageMaker.
    assert governed.inventory.get_model(governed.model_id).status == "Model Change in Progress"
    assert first["model_changes"] == [governed.model_id]
    package = governed.aws.client("sagemaker").describe_model_package(ModelPackageName=governed.package_arn)
    assert package["ModelLifeCycle"]["Stage"] == "BackinDevelopment"

    # A fourth breach updates the same ticket with one comment; carrying twice adds none twice.
    dashboard.push(_body(governed, 0.6, start + timedelta(minutes=10)))
    _carry(jira, "scheduled__3")
    _carry(jira, "scheduled__4")
    bodies = [c.body for c in hook.comments(key)]
    assert sum("4 breaching value(s)" in b for b in bodies) == 1
    assert hook.search_keys(f"project = MLC AND labels = {jql_string(marker)}") == [key]

    # A passing value clears the finding; the ticket is moved to Done.
    cleared = dashboard.push(_body(governed, 0.8, start + timedelta(minutes=20)))
    assert cleared.json()["finding"]["cleared"] is True
    closed = _carry(jira, "scheduled__5")
    assert closed["closed"] == [key]
    assert hook.status_of(key) == hook.settings.done_status
    assert governed.inventory.findings(model=governed.model_id)[0].jira_closed is True
    assert not _carry(jira, "scheduled__6")["closed"]
