"""MonitoringService with fakes of the inventory and the Jira port: the threshold's direction, one finding
per breach, a comment per new breach count (once each), clearing closes the ticket (through close_via
when the workflow has no direct move), the owner told once each way, and the breach policy per risk
level applied once (model_change moves a Deployed model through the status mover once; finding only)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from model_governance.config import load_config
from model_governance.lifecycle import GovernanceStatus
from model_governance.services.monitoring import (
    CarryResult,
    Evaluation,
    MonitoringService,
    breached,
    finding_marker,
)
from tests.unit.services.fakes import T0, FakeInventory, FakeJira, FakeModel


class Harness:
    def __init__(self, settings: dict[str, Any] | None = None, jira: FakeJira | None = None) -> None:
        self.inventory = FakeInventory()
        self.jira = jira or FakeJira()
        self.mail: list[tuple[str, str, str]] = []
        self.moves: list[tuple[int, GovernanceStatus, str]] = []
        self.config = load_config(variable_text=json.dumps(settings or {}), environ={})

    def move(self, model: Any, status: GovernanceStatus, reason: str) -> None:
        self.moves.append((model.id, status, reason))
        self.inventory.models[model.id].status = status.value

    def service(self) -> MonitoringService:
        return MonitoringService(
            inventory=self.inventory,  # type: ignore[arg-type]
            config=self.config,
            jira=self.jira,
            notify_owner=lambda to, subject, body: self.mail.append((to, subject, body)),
            move_model=self.move,
            dashboard_url="https://airflow.example.com/model-governance",
        )

    def push(
        self,
        model: FakeModel,
        value: float,
        *,
        minutes: float = 0,
        metric: str = "auc",
        threshold: float = 0.75,
        direction: str = "higher_is_better",
    ) -> Any:
        _, evaluation = self.service().record(
            model.id,
            metric=metric,
            value=value,
            threshold=threshold,
            direction=direction,
            source="model-monitor",
            at=T0 + timedelta(minutes=minutes),
        )
        return evaluation


@pytest.fixture
def h() -> Harness:
    return Harness()


# -- the threshold ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "threshold", "direction", "expected"),
    [
        (0.74, 0.75, "higher_is_better", True),  # below a floor
        (0.75, 0.75, "higher_is_better", False),  # at the floor passes
        (0.9, 0.75, "higher_is_better", False),
        (0.21, 0.2, "lower_is_better", True),  # above a ceiling
        (0.2, 0.2, "lower_is_better", False),  # at the ceiling passes
        (0.1, 0.2, "lower_is_better", False),
        (0.1, None, None, None),  # no threshold: not judged
    ],
)
def test_breached_follows_the_direction(
    value: float, threshold: float | None, direction: str | None, expected: bool | None
) -> None:
    assert breached(value, threshold, direction) is expected


def test_an_unknown_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="sideways"):
        breached(1.0, 0.5, "sideways")


def test_lower_is_better_opens_above_and_clears_below(h: Harness) -> None:
    model = h.inventory.add_model()
    psi = {"metric": "data_drift.psi", "threshold": 0.2, "direction": "lower_is_better"}
    assert h.push(model, 0.1, **psi).breached is False  # within: nothing to clear, no finding
    assert h.inventory.findings_ == []
    opened = h.push(model, 0.3, minutes=1, **psi)
    assert (opened.breached, opened.opened) == (True, True)
    cleared = h.push(model, 0.15, minutes=2, **psi)
    assert (cleared.breached, cleared.cleared, cleared.finding_id) == (False, True, opened.finding_id)
    assert [m["breached"] for m in h.inventory.metrics] == [False, True, False], "every value is stored"


def test_a_value_without_threshold_is_stored_and_judges_nothing(h: Harness) -> None:
    model = h.inventory.add_model()
    _, evaluation = h.service().record(
        model.id, metric="auc", value=0.1, threshold=None, direction=None, source="m", at=T0
    )
    assert evaluation.to_dict() == {"breached": None, "finding_id": None, "opened": False, "cleared": False}
    assert len(h.inventory.metrics) == 1 and h.inventory.findings_ == []


def test_record_opens_one_finding_per_model_and_kind(h: Harness) -> None:
    model, other = h.inventory.add_model(), h.inventory.add_model()
    service = h.service()

    def evaluate(m: FakeModel, metric: str, value: float, minutes: int) -> Any:
        return service.record(
            m.id,
            metric=metric,
            value=value,
            threshold=0.75,
            direction="higher_is_better",
            source="s",
            at=T0 + timedelta(minutes=minutes),
        )[1]

    first = [evaluate(model, "auc", 0.7, i) for i in range(3)]
    assert [e.opened for e in first] == [True, False, False] and len({e.finding_id for e in first}) == 1
    assert evaluate(model, "accuracy", 0.5, 4).opened, "another breach kind is another finding"
    assert evaluate(other, "auc", 0.5, 5).opened, "another model is another finding"
    assert [f.breaches for f in h.inventory.findings_] == [3, 1, 1]
    # A passing value older than the last breach does not clear it.
    assert evaluate(model, "auc", 0.9, 1).cleared is False


# -- carrying into Jira -------------------------------------------------------------------------------


def test_repeated_breaches_comment_once_each(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="Medium")
    for i in range(3):
        h.push(model, 0.7, minutes=i)
    first = h.service().carry()
    (key,) = first.opened
    (finding,) = h.inventory.findings_
    assert h.jira.tickets[key]["marker"] == finding_marker(model.id, "auc", finding.id)
    latest = (T0 + timedelta(minutes=2)).isoformat()
    assert h.jira.bodies(key) == [
        f"Still breaching: 3 breaching value(s) of auc so far; latest 0.7 at {latest} from model-monitor "
        "(passes when >= 0.75)."
    ]
    assert h.service().carry().to_dict()["opened"] == [], "nothing behind: nothing done"
    for n in range(4, 7):  # each new breach: one comment, however often the DAG runs
        h.push(model, 0.6, minutes=10 + n)
        assert h.service().carry().updated == [key]
        assert h.service().carry().updated == []
    counts = [b.split(": ", 1)[1].split(" ", 1)[0] for b in h.jira.bodies(key)]
    assert counts == ["3", "4", "5", "6"] and h.jira.creates == 1


def test_a_comment_whose_record_was_lost_is_not_added_twice(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="Low")
    h.push(model, 0.7)
    h.service().carry()
    h.push(model, 0.6, minutes=1)
    h.inventory.fail_update_once.add("jira_breaches")
    result = h.service().carry()
    assert list(result.failed) == [1] and "went away" in result.failed[1]
    h.service().carry()  # the next run: the marked comment is found, not added again
    (key,) = h.jira.tickets
    assert sum("2 breaching value(s)" in b for b in h.jira.bodies(key)) == 1
    assert h.inventory.findings_[0].jira_breaches == 2


def test_clear_closes_the_ticket_and_tells_the_owner(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="Low")
    h.push(model, 0.7)
    (key,) = h.service().carry().opened
    assert [(to, subject.split(":")[0]) for to, subject, _ in h.mail] == [
        (f"owner-{model.id}@example.com", f"Monitoring finding {key}")
    ]
    h.push(model, 0.8, minutes=5)
    closed = h.service().carry()
    assert closed.closed == [key] and h.jira.tickets[key]["status"] == "Done"
    assert h.jira.bodies(key)[-1].startswith("Cleared: auc was 0.8")
    assert h.inventory.findings_[0].jira_closed is True
    assert len(h.mail) == 2 and "closed" in h.mail[1][1]
    assert h.service().carry().closed == [] and len(h.mail) == 2
    # The breach comes back: a new finding with a new ticket.
    h.push(model, 0.5, minutes=10)
    again = h.service().carry().opened
    assert len(again) == 1 and again != [key]


def test_close_goes_through_close_via_when_done_is_not_a_direct_move() -> None:
    h = Harness(jira=FakeJira(direct_to_done=False))
    model = h.inventory.add_model(risk_level="Low")
    h.push(model, 0.7)
    (key,) = h.service().carry().opened
    h.push(model, 0.9, minutes=1)
    assert h.service().carry().closed == [key]
    assert h.jira.tickets[key]["status"] == "Done"


def test_owner_not_notified_when_switched_off() -> None:
    h = Harness({"monitoring": {"notify_owner": False}})
    model = h.inventory.add_model(risk_level="Low")
    h.push(model, 0.7)
    h.service().carry()
    h.push(model, 0.9, minutes=1)
    h.service().carry()
    assert h.mail == [] and h.inventory.findings_[0].jira_closed


def test_one_findings_failure_does_not_stop_the_others() -> None:
    h = Harness(jira=FakeJira(fail_create=1))
    first, second = h.inventory.add_model(risk_level="Low"), h.inventory.add_model(risk_level="Low")
    h.push(first, 0.7)
    h.push(second, 0.7)
    result = h.service().carry()
    assert list(result.failed) == [1] and "503" in result.failed[1] and len(result.opened) == 1
    assert len(h.service().carry().opened) == 1, "the next run carries the one that failed"
    assert len(h.jira.tickets) == 2


# -- the breach policy per risk level -----------------------------------------------------------------


def test_high_moves_a_deployed_model_to_model_change_once(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="High")
    h.push(model, 0.7)
    result = h.service().carry()
    (key,) = result.opened
    assert result.model_changes == [model.id]
    ((moved, status, reason),) = h.moves
    assert (moved, status) == (model.id, GovernanceStatus.MODEL_CHANGE_IN_PROGRESS)
    assert key in reason and "risk level High policy model_change" in reason
    assert h.inventory.findings_[0].action == "model_change"
    assert any("moved to Model Change in Progress" in b for b in h.jira.bodies(key))
    # More breaches, more runs: the model is moved once.
    for i in range(1, 4):
        h.push(model, 0.6, minutes=i)
        assert h.service().carry().model_changes == []
    assert len(h.moves) == 1


def test_a_second_finding_of_a_model_already_in_change_does_not_move_it_again(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="High")
    h.push(model, 0.7)
    h.service().carry()
    h.push(model, 0.1, metric="accuracy", threshold=0.8)
    assert h.service().carry().model_changes == []
    assert len(h.moves) == 1
    assert h.inventory.findings_[1].action == "model_change (already in progress)"


def test_high_leaves_a_model_that_is_not_deployed_and_says_why(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="High", status="Validation Complete")
    h.push(model, 0.7)
    h.service().carry()
    assert h.moves == []
    assert h.inventory.findings_[0].action == (
        "model_change not applied: the model is Validation Complete, not Deployed"
    )


@pytest.mark.parametrize("risk_level", ["Medium", "Low"])
def test_medium_and_low_open_a_finding_only(h: Harness, risk_level: str) -> None:
    model = h.inventory.add_model(risk_level=risk_level)
    h.push(model, 0.7)
    result = h.service().carry()
    assert len(result.opened) == 1 and result.model_changes == [] and h.moves == []
    assert h.inventory.findings_[0].action == "finding"
    assert h.inventory.models[model.id].status == "Deployed"


def test_the_policy_is_per_risk_level_from_the_settings() -> None:
    h = Harness({"monitoring": {"on_breach": {"Low": "model_change", "High": "finding"}}})
    low, high = h.inventory.add_model(risk_level="Low"), h.inventory.add_model(risk_level="High")
    h.push(low, 0.7)
    h.push(high, 0.7)
    assert h.service().carry().model_changes == [low.id]
    assert [m[0] for m in h.moves] == [low.id]


def test_an_unknown_policy_is_refused_with_the_settings_path() -> None:
    from model_governance.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="on_breach"):
        Harness({"monitoring": {"on_breach": {"High": "page_someone"}}})


def test_the_marker_is_a_jira_label() -> None:
    marker = finding_marker(7, "Data Drift / PSI (income)", 12)
    assert marker == "mg-finding-7-data-drift-psi-income-12"
    assert len(finding_marker(7, "x" * 500, 12)) == 200


def test_carry_needs_settings_and_jira() -> None:
    service = MonitoringService(inventory=FakeInventory())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="settings"):
        service.carry()


def test_results_as_dicts_name_every_field() -> None:
    assert Evaluation(True, 7, opened=True).to_dict() == {
        "breached": True,
        "finding_id": 7,
        "opened": True,
        "cleared": False,
    }
    result = CarryResult(opened=["MLC-1"], updated=["MLC-2"], closed=["MLC-3"], model_changes=[5])
    result.failed[9] = "JiraError: 503"
    assert json.loads(json.dumps(result.to_dict())) == {
        "opened": ["MLC-1"],
        "updated": ["MLC-2"],
        "closed": ["MLC-3"],
        "model_changes": [5],
        "failed": {"9": "JiraError: 503"},
    }
