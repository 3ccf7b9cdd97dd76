"""A revalidation end to end through ``RevalidateModelOperator`` against the AWS and Jira sandboxes and a
real inventory: a Deployed model with a snapshot (taken by the implementation MLC's operator) and the
package's ``PRODUCTION_DATA`` is tested on the production data against the snapshot's baseline, the report
stored and the run recorded, the revalidation document rendered, stored and attached to the REVALIDATION
ticket; Done makes the approval valid for one interval (the clock moved on shows when it expires);
Rejected is recorded and the operators are told; production data changed between the pin and the run is
refused naming the asset."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.approvals import approval_marker
from model_governance.config import load_config
from model_governance.documents.review import verify_footer_hash
from model_governance.exceptions import PinnedDataChangedError
from model_governance.hooks.jira import JiraHook
from model_governance.operators.revalidation import RevalidateModelOperator
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.services import risk_test_runs
from model_governance.services.revalidation import RevalidationService, revalidation_key
from tests.integration.mlc.conftest import JIRA_CONN_ID, FakeTI, GovernedModel, make_model, parquet_bytes
from tests.unit.risk_tests.conftest import classification_table

__all__ = ["make_model"]

pytestmark = pytest.mark.integration

DAG, TASK = "model_revalidation", "revalidate"
PRODUCTION = parquet_bytes(classification_table(2_000, seed=14))


def _ready(model: GovernedModel) -> int:
    """The implementation MLC's snapshot, the model Deployed, and PRODUCTION_DATA in its metadata."""
    operator = CreateSnapshotOperator(task_id="create_snapshot", model_id=model.model_id)
    snapshot_id = int(operator.execute(model.context("create_snapshot"))["snapshot_id"])  # type: ignore[arg-type]
    for status in ("Validation Complete", "Awaiting Approval", "Approved for Deployment", "Deployed"):
        model.inventory.transition(model.model_id, status, source="governance", actor="test", reason="t")
    uri = model.put("churn/production.parquet", PRODUCTION)
    model.aws.sagemaker.update_model_package(
        ModelPackageArn=model.package_arn, CustomerMetadataProperties={"PRODUCTION_DATA": uri}
    )
    model.metadata["PRODUCTION_DATA"] = uri
    return snapshot_id


def _operator(model: GovernedModel) -> RevalidateModelOperator:
    return RevalidateModelOperator(
        task_id=TASK, model_id=str(model.model_id), jira_conn_id=JIRA_CONN_ID, poll_interval=5
    )


def _context(run_id: str) -> dict[str, Any]:
    return {"ti": FakeTI(run_id, TASK, dag_id=DAG)}


def _defer(model: GovernedModel, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        _operator(model).execute(context)  # type: ignore[arg-type]
    return deferred.value


def _resume(model: GovernedModel, context: dict[str, Any], deferred: TaskDeferred) -> Any:
    kwargs = deferred.kwargs or {}
    event = {"status": "decided", "issue_key": kwargs["issue_key"]}
    return _operator(model).execute_complete(context, event, **kwargs)  # type: ignore[arg-type]


def _stored(model: GovernedModel, uri: str) -> bytes:
    assert uri.startswith(f"s3://{model.governance_bucket}/"), uri
    key = uri.split("/", 3)[3]
    return bytes(model.aws.s3.get_object(Bucket=model.governance_bucket, Key=key)["Body"].read())


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What the operators were told (the operator's mail to them)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "model_governance.notifications.email.notify_operators",
        lambda subject, body, config=None: sent.append((subject, body)),
    )
    return sent


def test_a_revalidation_runs_end_to_end_and_done_is_valid_one_interval(
    make_model: Callable[..., GovernedModel], told: list[tuple[str, str]]
) -> None:
    model = make_model()
    snapshot_id = _ready(model)
    inventory = model.inventory
    snapshot = inventory.get_snapshot(snapshot_id)
    context = _context("scheduled__2026-03-01")
    run_key = revalidation_key(DAG, "scheduled__2026-03-01", TASK)

    deferred = _defer(model, context)
    key = (deferred.kwargs or {})["issue_key"]

    # The tests ran on the production data, pinned by its SHA-256, against the snapshot's baseline.
    (revalidation,) = inventory.revalidations(model.model_id)
    assert revalidation.run_key == run_key and revalidation.state == "RUNNING"
    assert revalidation.risk_test_run_key == f"{run_key}/revalidation" and revalidation.passed is True
    (run,) = inventory.risk_test_runs(model.model_id, run_key_prefix=revalidation.risk_test_run_key)
    assert (run.state, run.passed, run.snapshot_id) == ("SUCCEEDED", True, snapshot_id)
    body = _stored(model, run.report_uri)
    assert run.report_uri.endswith(f"/risk-tests/{hashlib.sha256(body).hexdigest()}.json")
    report = json.loads(body)
    comparator, baseline = report["inputs"]["comparator"], report["inputs"]["baseline"]
    assert comparator["source"] == model.metadata["PRODUCTION_DATA"]
    assert comparator["sha256"] == hashlib.sha256(PRODUCTION).hexdigest()
    assert baseline["source"] == model.metadata["BASELINE_DATA"]
    assert report["inputs"]["snapshot"]["content_hash"] == snapshot.content_hash

    # The revalidation document, as the review document: HTML (recorded as the revalidation's), Markdown
    # and the PDF made from the HTML, each stored beside the snapshot under its hash and recorded.
    assert revalidation.document_uri and revalidation.document_uri.endswith(".html")
    prefix = snapshot.uri[: -len(".json")] + "/documents/revalidation/"
    recorded = {
        d.media_type.split(";")[0]: d for d in inventory.documents(model.model_id) if d.kind == "revalidation"
    }
    assert sorted(recorded) == ["application/pdf", "text/html", "text/markdown"]
    files = {}
    for media_type, row in recorded.items():
        content = _stored(model, row.uri)
        assert row.uri.startswith(prefix) and row.sha256 == hashlib.sha256(content).hexdigest()
        assert row.snapshot_id == snapshot_id
        files[media_type] = content
    assert recorded["text/html"].uri == revalidation.document_uri
    production_sha = hashlib.sha256(PRODUCTION).hexdigest()
    for text in (files["text/html"].decode(), files["text/markdown"].decode()):
        assert "Model revalidation" in text and model.metadata["PRODUCTION_DATA"] in text
        assert production_sha in text
        assert verify_footer_hash(text.encode())
    assert files["application/pdf"].startswith(b"%PDF")

    # The REVALIDATION ticket, opened with the three files attached.
    hook = JiraHook(JIRA_CONN_ID)
    attached = {a["filename"]: a["size"] for a in hook.issue(key)["fields"]["attachment"]}
    stem = f"model-revalidation-{model.group}-v1"
    assert attached == {
        f"{stem}.html": len(files["text/html"]),
        f"{stem}.md": len(files["text/markdown"]),
        f"{stem}.pdf": len(files["application/pdf"]),
    }
    marker = approval_marker(dag_id=DAG, run_id="scheduled__2026-03-01", task_id=TASK, kind="REVALIDATION")
    assert hook.search_keys(f'project = "MLC" AND labels = "{marker}"') == [key]

    # A retry of the task before the decision: nothing twice.
    puts = model.aws.sandbox.request_count("s3:PutObject")
    again = _defer(model, _context("scheduled__2026-03-01"))
    assert (again.kwargs or {})["issue_key"] == key
    assert model.aws.sandbox.request_count("s3:PutObject") == puts
    assert len(inventory.revalidations(model.model_id)) == 1

    # Done: revalidated, valid for one interval (High: 90 days), due again then.
    model.jira.transition_as(key, "Done", "reviewer@example.com")
    result = _resume(model, context, deferred)
    assert result["revalidation"]["outcome"] == "APPROVED"
    (revalidation,) = inventory.revalidations(model.model_id)
    assert revalidation.state == "APPROVED" and revalidation.jira_key == key
    decided = revalidation.decided_at
    assert decided is not None and revalidation.valid_until == decided + timedelta(days=90)
    row = inventory.revalidation_schedule(model.model_id)
    assert row.last_revalidated_at == decided and row.due_at == decided + timedelta(days=90)
    assert row.approval_jira_key == key
    assert not told

    # The clock moved on: not due within the approval's interval, picked up 14 days early, then expired.
    config = load_config()
    clock = {"now": decided + timedelta(days=60)}

    def service() -> RevalidationService:
        return RevalidationService(inventory=inventory, config=config, clock=lambda: clock["now"])

    assert service().due() == []
    clock["now"] = decided + timedelta(days=77)
    (due,) = service().due()
    assert due.model_id == model.model_id and not due.overdue
    clock["now"] = decided + timedelta(days=91)
    (due,) = service().due()
    assert due.overdue and due.due_at == decided + timedelta(days=90)
    urgent = inventory.dashboard.urgent_issues(approval_sla_hours=72, now=clock["now"])
    assert urgent.counts["revalidation_overdue"] == 1


def test_rejected_is_recorded_and_the_operators_are_told(
    make_model: Callable[..., GovernedModel], told: list[tuple[str, str]]
) -> None:
    model = make_model()
    _ready(model)
    inventory = model.inventory
    before = inventory.revalidation_schedule(model.model_id)
    context = _context("scheduled__2026-06-01")
    deferred = _defer(model, context)
    key = (deferred.kwargs or {})["issue_key"]
    due_at = inventory.revalidation_schedule(model.model_id).due_at
    assert before is None or before.due_at == due_at

    model.jira.transition_as(key, "Rejected", "risk-officer@example.com")
    result = _resume(model, context, deferred)
    assert result["revalidation"] == {"outcome": "REJECTED"}
    (revalidation,) = inventory.revalidations(model.model_id)
    assert revalidation.state == "REJECTED" and revalidation.jira_key == key
    assert revalidation.valid_until is None
    row = inventory.revalidation_schedule(model.model_id)
    assert row.due_at == due_at and row.last_revalidated_at is None, "still due: nothing moved on"
    ((subject, body),) = told
    assert key in subject and model.package_arn in subject and "stays due" in body

    # Rejected is not running: the model is picked up again by the next daily run once due.
    config = load_config()
    at = due_at + timedelta(days=1)
    (due,) = RevalidationService(inventory=inventory, config=config, clock=lambda: at).due()
    assert due.model_id == model.model_id and due.overdue


def test_production_data_changed_between_pin_and_run_is_refused_naming_the_asset(
    make_model: Callable[..., GovernedModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model()
    _ready(model)
    drifted = parquet_bytes(classification_table(2_000, seed=15, shift=1.5))
    original = risk_test_runs.run_in_worker

    def overwritten_first(*args: Any, **kwargs: Any) -> Any:
        model.put("churn/production.parquet", drifted)  # after the pin, before the run reads it
        return original(*args, **kwargs)

    monkeypatch.setattr(risk_test_runs, "run_in_worker", overwritten_first)
    context = _context("scheduled__2026-09-01")
    with pytest.raises(PinnedDataChangedError) as refused:
        _operator(model).execute(context)  # type: ignore[arg-type]
    message = str(refused.value)
    assert f"PRODUCTION_DATA {model.metadata['PRODUCTION_DATA']}" in message
    assert hashlib.sha256(PRODUCTION).hexdigest() in message and "COMPARATOR_DATA" not in message

    inventory = model.inventory
    (revalidation,) = inventory.revalidations(model.model_id)
    assert revalidation.document_uri is None and revalidation.jira_key is None
    assert revalidation.state == "FAILED", "no longer running: the next daily run picks the model up"
    assert model.model_id not in inventory.revalidations_in_flight()
    (run,) = inventory.risk_test_runs(model.model_id, run_key_prefix=f"{revalidation.run_key}/revalidation")
    assert run.state == "FAILED" and run.passed is None and run.report_uri is None
    assert str(run.error).startswith("PinnedDataChangedError: PRODUCTION_DATA")
    hook = JiraHook(JIRA_CONN_ID)
    marker = approval_marker(dag_id=DAG, run_id="scheduled__2026-09-01", task_id=TASK, kind="REVALIDATION")
    assert hook.search_keys(f'project = "MLC" AND labels = "{marker}"') == [], "no ticket without tests"
