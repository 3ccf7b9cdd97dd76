"""The inventory on SQLite and on PostgreSQL: the same tests, both backends (``inventory_url`` fixture)."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from model_governance.exceptions import (
    ConflictError,
    DuplicateUseCaseError,
    IllegalTransitionError,
    InvalidArnError,
    InvalidInputError,
    NotFoundError,
    StatusConflictError,
    UnknownStatusError,
)
from model_governance.inventory import EventSource, Inventory, parse_model_package_arn
from model_governance.inventory.db import downgrade, include_name, make_engine, migrate
from model_governance.lifecycle import GovernanceStatus as S
from tests.integration.inventory.conftest import ACCOUNT, GROUP_ARN, PACKAGE_ARN


def test_migrations_match_the_models(inventory_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from model_governance.inventory.models import Base

    engine = make_engine(inventory_url)
    migrate(engine)
    migrate(engine)  # a second run is a no-op
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, Base.metadata) == []
    downgrade(engine)
    with engine.connect() as conn:
        tables = set(conn.dialect.get_table_names(conn))
    assert not {t for t in tables if t.startswith("mg_") and t != "mg_alembic_version"}
    engine.dispose()


def test_use_case_lifecycle(inventory: Inventory) -> None:
    use_case = inventory.create_use_case(
        business_entity="retail",
        name="fraud",
        risk_level="Medium",
        owner="o@example.com",
        description="Card fraud",
        data_science_email="ds@example.com",
    )
    assert use_case.status == "Proposed"
    assert inventory.find_use_case(business_entity="retail", name="fraud").id == use_case.id  # type: ignore[union-attr]
    assert inventory.find_use_case(business_entity="retail", name="nope") is None
    # a retried task gets the same use case back
    again = inventory.create_use_case(
        business_entity="retail", name="fraud", risk_level="Medium", owner="o@example.com", exist_ok=True
    )
    assert again.id == use_case.id
    with pytest.raises(DuplicateUseCaseError, match=r"'fraud'.*'retail'"):
        inventory.create_use_case(
            business_entity="retail", name="fraud", risk_level="Low", owner="x@example.com"
        )
    with pytest.raises(InvalidInputError, match="'Extreme'"):
        inventory.create_use_case(
            business_entity="retail", name="y", risk_level="Extreme", owner="o@example.com"
        )
    with pytest.raises(NotFoundError, match="'elsewhere'"):
        inventory.create_use_case(
            business_entity="elsewhere", name="y", risk_level="Low", owner="o@example.com"
        )
    assert inventory.set_use_case_status(use_case.id, "Approved").status == "Approved"
    assert inventory.set_use_case_status(use_case.id, "Approved").status == "Approved"
    with pytest.raises(ConflictError):
        inventory.set_use_case_status(use_case.id, "Rejected")


def test_same_name_in_another_entity_is_fine(inventory: Inventory) -> None:
    inventory.ensure_business_entity(
        name="insurance", account_id=ACCOUNT, region="eu-west-1", aws_conn_id="a"
    )
    inventory.create_use_case(
        business_entity="retail", name="pricing", risk_level="Low", owner="o@example.com"
    )
    inventory.create_use_case(
        business_entity="insurance", name="pricing", risk_level="Low", owner="o@example.com"
    )


def test_model_group_link_is_idempotent(inventory: Inventory, model_id: int) -> None:
    use_case = inventory.find_use_case(business_entity="retail", name="churn")
    assert use_case is not None
    group = inventory.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    assert inventory.find_model_group(GROUP_ARN.lower()).id == group.id  # type: ignore[union-attr]
    other = inventory.create_use_case(
        business_entity="retail", name="other", risk_level="Low", owner="o@x.io"
    )
    with pytest.raises(ConflictError, match="already linked"):
        inventory.link_model_group(use_case_id=other.id, name="Churn-Model", arn=GROUP_ARN)
    with pytest.raises(InvalidArnError, match="model-package-group/NAME"):
        inventory.link_model_group(use_case_id=other.id, name="x", arn="arn:aws:s3:::bucket")


def test_upsert_model(inventory: Inventory, model_id: int) -> None:
    model, created = inventory.upsert_model(
        package_arn=PACKAGE_ARN, status=S.DEPLOYED, actor="sync", reason="seen again"
    )
    assert not created and model.id == model_id
    assert model.status == "Development Complete"  # upsert never changes an existing status
    assert (model.sagemaker_stage, model.sagemaker_stage_status) == ("Development", "Complete")
    assert model.version == 1
    with pytest.raises(NotFoundError, match="not linked"):
        inventory.upsert_model(
            package_arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/unknown-group/3",
            status=S.PROPOSED,
            actor="sync",
            reason="r",
        )
    with pytest.raises(UnknownStatusError):
        inventory.upsert_model(
            package_arn=PACKAGE_ARN.replace("/1", "/2"), status="Shipped", actor="sync", reason="r"
        )


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "churn-model/1",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn-model",  # unversioned
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/churn-model",
        "arn:aws:sagemaker:us-east-1:1234:model-package/churn-model/1",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn_model/1",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn-model/0",
    ],
)
def test_wrong_arn_shape_is_named(arn: str) -> None:
    with pytest.raises(InvalidArnError) as raised:
        parse_model_package_arn(arn)
    assert repr(arn) in str(raised.value)


def test_arn_parts() -> None:
    parts = parse_model_package_arn(f"arn:aws-us-gov:sagemaker:us-gov-west-1:{ACCOUNT}:model-package/g-1/12")
    assert (parts.region, parts.account_id, parts.group_name, parts.version) == (
        "us-gov-west-1",
        ACCOUNT,
        "g-1",
        12,
    )
    assert parts.group_arn == f"arn:aws-us-gov:sagemaker:us-gov-west-1:{ACCOUNT}:model-package-group/g-1"


def _review_approved(inventory: Inventory, model_id: int) -> None:
    """The verified test results review that Validation Complete needs in the audit chain."""
    inventory.record_approval_requested(kind="TEST_RESULTS_REVIEW", jira_key="MLC-90", model_id=model_id)
    inventory.record_approval_decision(
        "MLC-90",
        approved=True,
        decided_by="reviewer",
        decided_at=datetime.now(UTC),
        decision_status="Approved",
    )


def test_transition_follows_the_graph_and_chains(inventory: Inventory, model_id: int) -> None:
    _review_approved(inventory, model_id)
    for target in (S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL):
        event = inventory.transition(model_id, target, source="governance", actor="dag:mlc", reason="step")
        assert event.to_status == target.value
    history = inventory.status_history(model_id)
    assert [e.seq for e in history] == [1, 2, 3, 4]
    assert [e.from_status for e in history] == [
        None,
        "Development Complete",
        "Pre Implementation Review",
        "Validation Complete",
    ]
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(history))
    model = inventory.get_model(PACKAGE_ARN)
    assert (model.status, model.status_version) == ("Awaiting Approval", 4)
    assert (model.sagemaker_stage, model.sagemaker_stage_status) == ("Deployment", "PendingApproval")
    assert inventory.verify_audit_trail(model_id).ok

    with pytest.raises(IllegalTransitionError, match="'Awaiting Approval' cannot move to 'Deployed'"):
        inventory.transition(model_id, S.DEPLOYED, source="sagemaker", actor="sync", reason="r")
    with pytest.raises(UnknownStatusError):
        inventory.transition(model_id, "Live", source="governance", actor="a", reason="r")
    with pytest.raises(ValueError, match="'robot'"):
        inventory.transition(model_id, S.REJECTED, source="robot", actor="a", reason="r")
    assert inventory.get_model(model_id).status_version == 4  # nothing written by the failures


def test_retried_transition_is_a_noop(inventory: Inventory, model_id: int) -> None:
    first = inventory.transition(
        model_id, S.PRE_IMPLEMENTATION_REVIEW, source="governance", actor="a", reason="r"
    )
    again = inventory.transition(
        model_id, S.PRE_IMPLEMENTATION_REVIEW, source="governance", actor="a", reason="r"
    )
    assert again.id == first.id
    assert inventory.get_model(model_id).status_version == 2
    with pytest.raises(IllegalTransitionError):
        inventory.transition(
            model_id,
            S.PRE_IMPLEMENTATION_REVIEW,
            source="governance",
            actor="a",
            reason="r",
            noop_if_current=False,
        )


def test_expected_from_detects_a_stale_decision(inventory: Inventory, model_id: int) -> None:
    inventory.transition(model_id, S.PRE_IMPLEMENTATION_REVIEW, source="governance", actor="a", reason="r")
    with pytest.raises(StatusConflictError, match="not 'Development Complete'"):
        inventory.transition(
            model_id,
            S.ON_HOLD_DEVELOPMENT,
            source="governance",
            actor="b",
            reason="r",
            expected_from=S.DEVELOPMENT_COMPLETE,
        )
    assert inventory.get_model(model_id).status == "Pre Implementation Review"


def test_status_events_are_append_only_in_the_database(inventory: Inventory, model_id: int) -> None:
    with pytest.raises(Exception, match="append-only"), inventory.engine.begin() as conn:
        conn.execute(text("UPDATE mg_status_event SET actor = 'mallory'"))
    with pytest.raises(Exception, match="append-only"), inventory.engine.begin() as conn:
        conn.execute(text("DELETE FROM mg_status_event"))
    assert inventory.verify_audit_trail(model_id).ok


def _drop_guards(inventory: Inventory) -> None:
    """What an attacker with DBA rights would do first."""
    with inventory.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER mg_status_event_no_update"))
            conn.execute(text("DROP TRIGGER mg_status_event_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER mg_status_event_append_only ON mg_status_event"))


def _three_changes(inventory: Inventory, model_id: int) -> None:
    for target in (S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL):
        inventory.transition(model_id, target, source="governance", actor="dag", reason="step")


def test_edited_event_is_detected(inventory: Inventory, model_id: int) -> None:
    _three_changes(inventory, model_id)
    _drop_guards(inventory)
    with inventory.engine.begin() as conn:
        conn.execute(text("UPDATE mg_status_event SET actor = 'mallory' WHERE seq = 2"))
    report = inventory.verify_audit_trail(model_id)
    assert not report.ok
    assert any("seq 2 was altered" in problem for problem in report.problems), report.problems


def test_edited_event_with_recomputed_hash_breaks_the_chain(inventory: Inventory, model_id: int) -> None:
    from model_governance.inventory.audit import recompute
    from model_governance.inventory.models import StatusEvent

    _three_changes(inventory, model_id)
    _drop_guards(inventory)
    # A careful forger recomputes the edited event's own hash; the next event's prev_hash still differs.
    event = next(e for e in inventory.status_history(model_id) if e.seq == 2)
    event.reason = "forged"
    forged_hash = recompute(event)
    with inventory.engine.begin() as conn:
        conn.execute(
            text("UPDATE mg_status_event SET reason = 'forged', hash = :h WHERE id = :id"),
            {"h": forged_hash, "id": event.id},
        )
    report = inventory.verify_audit_trail(model_id)
    assert any("seq 3 does not chain" in problem for problem in report.problems), report.problems
    assert StatusEvent.__tablename__ == "mg_status_event"


@pytest.mark.parametrize("deleted_seq", [2, 4])
def test_deleted_event_is_detected(inventory: Inventory, model_id: int, deleted_seq: int) -> None:
    _three_changes(inventory, model_id)
    _drop_guards(inventory)
    with inventory.engine.begin() as conn:
        conn.execute(text("DELETE FROM mg_status_event WHERE seq = :s"), {"s": deleted_seq})
    report = inventory.verify_audit_trail(model_id)
    assert not report.ok
    assert any("deleted" in p or "missing" in p for p in report.problems), report.problems


def test_edited_current_status_is_detected(inventory: Inventory, model_id: int) -> None:
    _three_changes(inventory, model_id)
    with inventory.engine.begin() as conn:
        conn.execute(text("UPDATE mg_model SET status = 'Approved for Deployment'"))
    report = inventory.verify_audit_trail(model_id)
    assert any("is not the last event's status" in p for p in report.problems), report.problems


def test_approvals_are_recorded_once_and_decided_once(inventory: Inventory, model_id: int) -> None:
    opened = inventory.record_approval_requested(
        kind="PIA",
        jira_key="MLC-1",
        model_id=model_id,
        requested_by="dag",
        dag_id="d",
        run_id="r",
        task_id="t",
    )
    assert (
        inventory.record_approval_requested(kind="PIA", jira_key="MLC-1", model_id=model_id).id == opened.id
    )
    decided_at = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    decided = inventory.record_approval_decision(
        "MLC-1",
        approved=True,
        decided_by="reviewer@example.com",
        decided_at=decided_at,
        decision_status="Done",
    )
    assert (decided.state, decided.decided_by, decided.decided_at) == (
        "APPROVED",
        "reviewer@example.com",
        decided_at,
    )
    inventory.record_approval_decision(
        "MLC-1",
        approved=True,
        decided_by="reviewer@example.com",
        decided_at=decided_at,
        decision_status="Done",
    )
    with pytest.raises(ConflictError, match="already decided"):
        inventory.record_approval_decision(
            "MLC-1",
            approved=False,
            decided_by="other@example.com",
            decided_at=decided_at,
            decision_status="Rejected",
        )
    with pytest.raises(InvalidInputError, match="'SIGNOFF'"):
        inventory.record_approval_requested(kind="SIGNOFF", jira_key="MLC-2", model_id=model_id)
    with pytest.raises(InvalidInputError, match="exactly one"):
        inventory.record_approval_requested(kind="PIA", jira_key="MLC-3")
    with pytest.raises(NotFoundError, match="'MLC-404'"):
        inventory.record_approval_decision(
            "MLC-404", approved=True, decided_by="r", decided_at=decided_at, decision_status="Done"
        )
    assert [a.jira_key for a in inventory.approvals(model_id=model_id)] == ["MLC-1"]


def test_snapshot_document_risk_run_and_metric(inventory: Inventory, model_id: int) -> None:
    digest = "a" * 64
    snapshot = inventory.record_snapshot(
        model_id, content_hash=digest, uri=f"s3://gov/snapshots/{digest}.json", manifest={"assets": []}
    )
    assert (
        inventory.record_snapshot(model_id, content_hash=digest, uri="s3://x", manifest={}).id == snapshot.id
    )
    assert inventory.latest_snapshot(model_id).id == snapshot.id  # type: ignore[union-attr]
    with pytest.raises(InvalidInputError, match="'abc'"):
        inventory.record_snapshot(model_id, content_hash="abc", uri="s3://x", manifest={})
    deployed = inventory.mark_snapshot_deployed(snapshot.id)
    assert deployed.deployed_at is not None
    assert inventory.mark_snapshot_deployed(snapshot.id).deployed_at == deployed.deployed_at

    run = inventory.start_risk_test_run(model_id, run_key="mlc/run-1/risk_tests", snapshot_id=snapshot.id)
    assert inventory.start_risk_test_run(model_id, run_key="mlc/run-1/risk_tests").id == run.id
    finished = inventory.finish_risk_test_run(
        "mlc/run-1/risk_tests", passed=False, report={"passed": False, "results": []}
    )
    assert (finished.state, finished.passed, finished.report) == (
        "SUCCEEDED",
        False,
        {"passed": False, "results": []},
    )
    errored = inventory.start_risk_test_run(model_id, run_key="mlc/run-1/risk_tests/2")
    assert inventory.finish_risk_test_run(errored.run_key, passed=None, error="no data").state == "FAILED"

    document = inventory.record_document(
        model_id,
        kind="review",
        media_type="text/html",
        sha256="b" * 64,
        uri="s3://gov/doc.html",
        snapshot_id=snapshot.id,
    )
    again = inventory.record_document(
        model_id, kind="review", media_type="text/html", sha256="b" * 64, uri="s3://gov/doc.html"
    )
    assert again.id == document.id

    at = datetime(2026, 11, 22, tzinfo=UTC)
    metric = inventory.record_metric(
        model_id, name="auc", value=0.81, recorded_at=at, source="monitor", threshold=0.7
    )
    assert (metric.value, metric.recorded_at) == (0.81, at)
    with pytest.raises(InvalidInputError, match="'auc'"):
        inventory.record_metric(model_id, name="auc", value=float("nan"), recorded_at=at, source="monitor")


def test_list_models_pages_by_id(inventory: Inventory, model_id: int) -> None:
    for version in range(2, 6):
        inventory.upsert_model(
            package_arn=PACKAGE_ARN.replace("/1", f"/{version}"),
            status=S.UNDER_DEVELOPMENT,
            actor="sync",
            reason="r",
            source=EventSource.SAGEMAKER,
        )
    first = inventory.list_models(limit=2)
    rest = inventory.list_models(limit=10, after_id=first[-1].id)
    assert [m.version for m in [*first, *rest]] == [1, 2, 3, 4, 5]
    assert [m.version for m in inventory.list_models(status=S.UNDER_DEVELOPMENT)] == [2, 3, 4, 5]


def _race(inventory: Inventory, model_id: int, targets: list[S]) -> list[object]:
    """Two workers read the same status and change it at once; collect what each got."""
    barrier = threading.Barrier(len(targets))
    outcomes: list[object] = [None] * len(targets)

    def work(index: int, target: S) -> None:
        barrier.wait()
        try:
            outcomes[index] = inventory.transition(
                model_id,
                target,
                source="governance",
                actor=f"worker-{index}",
                reason="race",
                expected_from=S.DEVELOPMENT_COMPLETE,
            )
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
def test_concurrent_status_changes_one_wins(postgres_database: str) -> None:
    """Two workers change one model at once on PostgreSQL: one wins, the other gets a conflict."""
    inventory = Inventory.from_url(postgres_database, upgrade_schema=True)
    inventory.ensure_business_entity(name="retail", account_id=ACCOUNT, region="us-east-1", aws_conn_id="a")
    use_case = inventory.create_use_case(business_entity="retail", name="c", risk_level="Low", owner="o@x.io")
    inventory.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    wins = conflicts = 0
    for version in range(1, 21):  # many rounds, so the interleavings vary
        arn = PACKAGE_ARN.replace("/1", f"/{version}")
        model, _ = inventory.upsert_model(
            package_arn=arn, status=S.DEVELOPMENT_COMPLETE, actor="s", reason="r"
        )
        outcomes = _race(inventory, model.id, [S.PRE_IMPLEMENTATION_REVIEW, S.ON_HOLD_DEVELOPMENT])
        errors = [o for o in outcomes if isinstance(o, Exception)]
        assert all(isinstance(e, StatusConflictError) for e in errors), errors
        assert len(errors) == 1, outcomes
        winner = next(o for o in outcomes if not isinstance(o, Exception))
        current = inventory.get_model(model.id)
        assert current.status == winner.to_status  # type: ignore[attr-defined]
        assert current.status_version == 2
        assert len(inventory.status_history(model.id)) == 2
        assert inventory.verify_audit_trail(model.id).ok
        wins += 1
        conflicts += len(errors)
    assert (wins, conflicts) == (20, 20)
    inventory.engine.dispose()
