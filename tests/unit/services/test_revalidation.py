"""RevalidationService with fakes of the inventory and the clock: due dates per risk level (interval after
deployment or the last approved revalidation) and lead time, overdue first and within max_per_run, a
running revalidation not picked twice, Done valid one interval then expired, Rejected still due, and the
production data named by the package's metadata."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from model_governance.approvals import Decision, Outcome, Person
from model_governance.config import load_config
from model_governance.exceptions import ConfigurationError, PinnedDataChangedError
from model_governance.services.revalidation import (
    RevalidationService,
    _production_data_refusal,
    revalidation_key,
)
from tests.unit.services.fakes import T0, Clock, FakeInventory


class Harness:
    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.inventory = FakeInventory()
        self.clock = Clock(T0)
        self.config = load_config(variable_text=json.dumps(settings or {}), environ={})
        self.packages: dict[str, dict[str, Any]] = {}

    def service(self) -> RevalidationService:
        registry = SimpleNamespace(describe_model_package=lambda arn: self.packages.get(arn, {}))
        return RevalidationService(
            inventory=self.inventory,  # type: ignore[arg-type]
            config=self.config,
            clock=self.clock,
            registry=registry,
        )

    def due(self) -> list[tuple[int, int, bool]]:
        """(model id, days after T0 it is due, overdue)."""
        return [(d.model_id, (d.due_at - T0).days, d.overdue) for d in self.service().due()]


def _decision(outcome: Outcome, at: Any, key: str = "MLC-9") -> Decision:
    status = "Done" if outcome is Outcome.APPROVED else "Rejected"
    return Decision(key, outcome, status, Person(account_id="acc-reviewer"), at)


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_due_dates_follow_the_risk_level_and_the_lead_time(h: Harness) -> None:
    high = h.inventory.add_model(risk_level="High").id
    medium = h.inventory.add_model(risk_level="Medium").id
    low = h.inventory.add_model(risk_level="Low").id
    h.clock.now = T0 + timedelta(days=75)
    assert h.due() == [], "High is due at 90 days, picked up 14 days early: day 76"
    assert {m: s.due_at - T0 for m, s in h.inventory.schedules.items()} == {
        high: timedelta(days=90),
        medium: timedelta(days=180),
        low: timedelta(days=365),
    }
    h.clock.now = T0 + timedelta(days=76)
    assert h.due() == [(high, 90, False)]
    h.clock.now = T0 + timedelta(days=170)
    assert h.due() == [(high, 90, True), (medium, 180, False)], "overdue first"
    h.clock.now = T0 + timedelta(days=400)
    assert h.due() == [(high, 90, True), (medium, 180, True), (low, 365, True)]


def test_the_intervals_and_lead_time_come_from_the_settings() -> None:
    h = Harness({"revalidation": {"interval_days": {"High": 30}, "lead_days": 0}})
    high = h.inventory.add_model(risk_level="High").id
    medium = h.inventory.add_model(risk_level="Medium").id
    h.clock.now = T0 + timedelta(days=29)
    assert h.due() == []
    h.clock.now = T0 + timedelta(days=30)
    assert h.due() == [(high, 30, True)], "due at the moment: overdue, and no lead time"
    h.clock.now = T0 + timedelta(days=180)
    assert [d[0] for d in h.due()] == [high, medium], "a level left out keeps its default"


def test_only_deployed_models_are_due(h: Harness) -> None:
    h.inventory.add_model(status="Model Change in Progress")
    h.inventory.add_model(status="Validation Complete")
    h.clock.now = T0 + timedelta(days=1000)
    assert h.due() == []


def test_the_due_date_runs_from_the_last_deployment(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="High")
    h.inventory.history[model.id] += [
        SimpleNamespace(to_status="Model Change in Progress", created_at=T0 + timedelta(days=10)),
        SimpleNamespace(to_status="Deployed", created_at=T0 + timedelta(days=20)),
    ]
    h.clock.now = T0 + timedelta(days=200)
    assert h.due() == [(model.id, 110, True)]


def test_max_per_run_takes_the_most_overdue() -> None:
    h = Harness({"revalidation": {"max_per_run": 2}})
    ids = [h.inventory.add_model(deployed_at=T0 + timedelta(days=n)).id for n in (3, 1, 2)]
    h.clock.now = T0 + timedelta(days=200)
    assert [d[0] for d in h.due()] == [ids[1], ids[2]]


def test_a_running_revalidation_is_not_picked_twice(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="High")
    h.clock.now = T0 + timedelta(days=80)
    assert [d[0] for d in h.due()] == [model.id]
    key = revalidation_key("model_revalidation", "scheduled__day80", "revalidate", 0)
    assert key == "model_revalidation/scheduled__day80/revalidate/0"
    first = h.service().start(model, key)
    assert h.service().start(model, key) is first, "a retry gets its revalidation back"
    for day in (81, 95, 300):  # the next daily runs, even once overdue
        h.clock.now = T0 + timedelta(days=day)
        assert h.due() == []
    assert len(h.inventory.revalidations(model.id)) == 1


def test_a_failed_revalidation_is_picked_again(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="High")
    h.clock.now = T0 + timedelta(days=91)
    key = revalidation_key("model_revalidation", "scheduled__day91", "revalidate", None)
    assert key == "model_revalidation/scheduled__day91/revalidate"
    h.service().start(model, key)
    h.inventory.update_revalidation(key, state="FAILED")
    assert [d[0] for d in h.due()] == [model.id], "a task that failed for good does not hold the model"
    assert h.service().start(model, key).state == "RUNNING", "its retry runs again"
    assert h.due() == []


def test_done_is_valid_one_interval_then_expires(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="Medium")
    h.clock.now = T0 + timedelta(days=170)
    key = "model_revalidation/r1/revalidate/0"
    h.service().start(model, key)
    decided_at = T0 + timedelta(days=172)
    result = h.service().decided(model, key, _decision(Outcome.APPROVED, decided_at))
    valid_until = decided_at + timedelta(days=180)
    assert result == {"outcome": "APPROVED", "valid_until": valid_until.isoformat()}
    (row,) = h.inventory.revalidations_
    assert (row.state, row.decided_at, row.valid_until, row.jira_key) == (
        "APPROVED",
        decided_at,
        valid_until,
        "MLC-9",
    )
    schedule = h.inventory.schedules[model.id]
    assert (schedule.due_at, schedule.last_revalidated_at, schedule.approval_jira_key) == (
        valid_until,
        decided_at,
        "MLC-9",
    )
    # Valid for the interval; picked up lead_days early; overdue once the approval has expired.
    h.clock.now = decided_at + timedelta(days=165)
    assert h.due() == []
    h.clock.now = decided_at + timedelta(days=166)
    assert [(d.model_id, d.due_at, d.overdue) for d in h.service().due()] == [(model.id, valid_until, False)]
    h.clock.now = valid_until
    assert [d.overdue for d in h.service().due()] == [True]


def test_the_due_date_keeps_in_step_with_a_changed_risk_level(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="Low")
    h.service().start(model, "k")
    h.service().decided(model, "k", _decision(Outcome.APPROVED, T0 + timedelta(days=360)))
    assert h.inventory.schedules[model.id].due_at == T0 + timedelta(days=725)
    h.inventory.use_cases[model.model_group_id].risk_level = "High"
    h.clock.now = T0 + timedelta(days=440)
    assert h.due() == [(model.id, 450, False)], "last revalidation + the new interval"
    assert h.inventory.schedules[model.id].interval_days == 90


def test_rejected_is_recorded_and_the_model_stays_due(h: Harness) -> None:
    model = h.inventory.add_model(risk_level="High")
    h.clock.now = T0 + timedelta(days=85)
    key = "model_revalidation/r1/revalidate/0"
    h.service().start(model, key)
    result = h.service().decided(model, key, _decision(Outcome.REJECTED, T0 + timedelta(days=86)))
    assert result == {"outcome": "REJECTED"}
    (row,) = h.inventory.revalidations_
    assert (row.state, row.valid_until, row.jira_key) == ("REJECTED", None, "MLC-9")
    schedule = h.inventory.schedules[model.id]
    assert schedule.due_at == T0 + timedelta(days=90) and schedule.last_revalidated_at is None
    assert h.due() == [(model.id, 90, False)], "picked up again by the next daily run"
    h.clock.now = T0 + timedelta(days=91)
    assert h.due() == [(model.id, 90, True)]


def test_production_data_comes_from_the_packages_metadata(h: Harness) -> None:
    model = h.inventory.add_model()
    with pytest.raises(ConfigurationError, match="PRODUCTION_DATA") as missing:
        h.service().production_data(model)  # type: ignore[arg-type]
    assert model.package_arn in str(missing.value) and "s3://" in str(missing.value)
    h.packages[model.package_arn] = {"CustomerMetadataProperties": {"PRODUCTION_DATA": "s3://b/prod.parquet"}}
    assert h.service().production_data(model) == "s3://b/prod.parquet"  # type: ignore[arg-type]


def test_the_production_data_key_is_a_setting() -> None:
    h = Harness({"revalidation": {"production_data_key": "LATEST_SAMPLE"}})
    model = h.inventory.add_model()
    h.packages[model.package_arn] = {"CustomerMetadataProperties": {"LATEST_SAMPLE": "s3://b/s.csv"}}
    assert h.service().production_data(model) == "s3://b/s.csv"  # type: ignore[arg-type]


def test_a_snapshot_is_required(h: Harness) -> None:
    from model_governance.exceptions import InvalidInputError

    model = h.inventory.add_model()
    h.inventory.approved_snapshot = lambda m: None  # type: ignore[attr-defined]
    h.inventory.latest_snapshot = lambda m: None  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError, match="no snapshot"):
        h.service().snapshot(model)  # type: ignore[arg-type]


def test_changed_production_data_is_refused_as_such() -> None:
    uri = "s3://data/prod.parquet"
    pinned = PinnedDataChangedError(
        f"PRODUCTION_DATA {uri} changed since the snapshot was taken: expected SHA-256 {'a' * 64} "
        f"(unversioned bucket), found SHA-256 {'b' * 64} (10 bytes). The risk tests run only on ..."
    )
    refusal = _production_data_refusal(pinned, "PRODUCTION_DATA", uri)
    assert isinstance(refusal, PinnedDataChangedError)
    message = str(refusal)
    assert message.startswith(f"PRODUCTION_DATA {uri} changed while the revalidation read it")
    assert "a" * 64 in message and "b" * 64 in message and "snapshot" not in message
    # Anything else (the snapshot's baseline changed, an S3 error) is passed on as it is.
    baseline = PinnedDataChangedError("BASELINE_DATA s3://data/base.parquet changed since the snapshot ...")
    assert _production_data_refusal(baseline, "PRODUCTION_DATA", uri) is baseline
    other = RuntimeError("S3 is down")
    assert _production_data_refusal(other, "PRODUCTION_DATA", uri) is other


def test_the_processing_job_of_a_revalidation_is_named_from_its_key_and_attempt() -> None:
    import hashlib
    import re

    from model_governance.services.revalidation import revalidation_job_name
    from model_governance.workloads import risk_test_job_name

    key = revalidation_key("model_revalidation", "scheduled__2026-03-01T00:00:00+00:00", "revalidate", 3)
    name = revalidation_job_name(key, 1)
    assert name == revalidation_job_name(key, 1), "a retried try reconnects to the same job"
    assert re.match(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", name) and name.startswith("mg-revalidation-")
    others = {
        revalidation_job_name(key, 2),
        revalidation_job_name(key[:-1] + "4", 1),  # another mapped model of the same run
        revalidation_job_name(key.replace("03-01", "03-02"), 1),
    }
    assert name not in others and len(others) == 3
    # The MLC's names are what they were before the naming was shared.
    digest = hashlib.sha256(b"d\nr\nt").hexdigest()[:24]
    assert risk_test_job_name("d", "r", "t", 2) == f"mg-risk-tests-{digest}-2"


def test_what_a_processing_job_was_given_is_read_back_from_its_arguments() -> None:
    from model_governance.pinned_data import DataPin
    from model_governance.services.risk_test_runs import container_refusal, job_pin
    from model_governance.snapshots import S3Location
    from model_governance.workloads import ProcessingSettings, risk_test_job_request

    pin = DataPin("PRODUCTION_DATA", "s3://data/prod.parquet", "c" * 64, "v7")
    request = risk_test_job_request(
        job_name="mg-revalidation-x-1",
        settings=ProcessingSettings(image_uri="img", role_arn="arn:aws:iam::1:role/r"),
        baseline=S3Location("data", "base.parquet"),
        comparator=S3Location("data", "prod.parquet"),
        schema=S3Location("data", "schema.json"),
        risk_level="High",
        output_bucket="gov",
        pins={"comparator": pin},
    )
    assert job_pin(request, "comparator", "PRODUCTION_DATA") == pin
    assert job_pin(request, "baseline", "BASELINE_DATA") is None, "downloaded by SageMaker, not pinned"
    assert job_pin({}, "comparator", "PRODUCTION_DATA") is None

    reason = (
        "SageMaker Processing job j ended Failed: AlgorithmError: PinnedDataChangedError: COMPARATOR_DATA "
        "s3://data/prod.parquet changed since the snapshot was taken: expected x, found y., exit code: 4 "
        "(the job's logs are in CloudWatch)"
    )
    refused = container_refusal(reason)
    assert isinstance(refused, PinnedDataChangedError)
    assert str(refused) == (
        "COMPARATOR_DATA s3://data/prod.parquet changed since the snapshot was taken: expected x, found y."
    )
    assert container_refusal("SageMaker Processing job j ended Failed: CapacityError") is None
    # Said as the production data it is, though the container names it COMPARATOR_DATA.
    said = _production_data_refusal(
        refused, "PRODUCTION_DATA", "s3://data/prod.parquet", role="COMPARATOR_DATA"
    )
    assert str(said).startswith(
        "PRODUCTION_DATA s3://data/prod.parquet changed while the revalidation read it"
    )
