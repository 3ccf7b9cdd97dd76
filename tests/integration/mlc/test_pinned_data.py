"""Pinned data against the AWS sandbox (boto3 through the operators' S3 connection): the risk tests read
exactly the object versions the snapshot pinned, in the worker and in the SageMaker Processing job; an
object overwritten on a versioned bucket changes nothing in the result; changed data on an unversioned
bucket (or a deleted version) is refused naming the asset, what was expected and found, and the fix, with
no report, no pass and no failure ticket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from model_governance.approvals import approval_marker
from model_governance.hooks.jira import JiraHook
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.workloads import risk_test_job_name
from tests.integration.mlc.conftest import JIRA_CONN_ID, GovernedModel, parquet_bytes
from tests.unit.risk_tests.conftest import classification_schema, classification_table

pytestmark = pytest.mark.integration

TASK = "run_risk_tests"
ROLES = ("BASELINE_DATA", "COMPARATOR_DATA", "RISK_TEST_SCHEMA")
DRIFTED = parquet_bytes(classification_table(2_000, seed=13, shift=1.5))


@pytest.fixture
def processing(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in (
        ("RUNNER", "processing"),
        ("IMAGE_URI", "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-governance:1"),
        ("ROLE_ARN", "arn:aws:iam::123456789012:role/risk-tests"),
        ("POLL_INTERVAL_SECONDS", "1"),
    ):
        monkeypatch.setenv(f"MODEL_GOVERNANCE__RISK_TESTS__{key}", value)


def _versioned(model: GovernedModel) -> dict[str, str]:
    """Turn versioning on for the data bucket and store the data again: each asset gets a VersionId."""
    s3 = model.aws.s3
    s3.put_bucket_versioning(Bucket=model.data_bucket, VersioningConfiguration={"Status": "Enabled"})
    versions = {}
    for role in ROLES:
        key = _key(model, role)
        body = s3.get_object(Bucket=model.data_bucket, Key=key)["Body"].read()
        versions[role] = s3.put_object(Bucket=model.data_bucket, Key=key, Body=body)["VersionId"]
    return versions


def _key(model: GovernedModel, role: str) -> str:
    return model.metadata[role].split("/", 3)[3]


def _snapshot(model: GovernedModel) -> int:
    operator = CreateSnapshotOperator(task_id="create_snapshot", model_id=model.model_id)
    return int(operator.execute(model.context("create_snapshot"))["snapshot_id"])  # type: ignore[arg-type]


def _operator(model: GovernedModel, snapshot_id: int) -> RunRiskTestsOperator:
    return RunRiskTestsOperator(
        task_id=TASK, model_id=str(model.model_id), snapshot_id=str(snapshot_id), poll_interval=5
    )


def _report(model: GovernedModel, uri: str) -> dict[str, Any]:
    key = uri.split("/", 3)[3]
    return dict(json.loads(model.aws.s3.get_object(Bucket=model.governance_bucket, Key=key)["Body"].read()))


def _verdicts(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (r["test"], r.get("feature"), r.get("group"), r["status"], r.get("value")) for r in report["results"]
    ]


def _tickets(context: dict[str, Any]) -> list[str]:
    ti = context["ti"]
    marker = approval_marker(
        dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, kind="RISK_TEST_FAILURE-1"
    )
    return JiraHook(JIRA_CONN_ID).search_keys(f'project = "MLC" AND labels = "{marker}"')


def _run_job(model: GovernedModel, snapshot_id: int, context: dict[str, Any]) -> dict[str, Any]:
    """Submit the Processing job, wait for it as the triggerer would, and resume the task."""
    with pytest.raises(TaskDeferred) as deferred:
        _operator(model, snapshot_id).execute(context)  # type: ignore[arg-type]
    trigger = deferred.value.trigger

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    event = asyncio.run(asyncio.wait_for(first(), 180))
    kwargs = deferred.value.kwargs or {}
    return dict(_operator(model, snapshot_id).execute_complete(context, event, **kwargs))  # type: ignore[arg-type]


def test_an_overwritten_object_on_a_versioned_bucket_is_read_at_its_pinned_version(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    versions = _versioned(model)
    snapshot_id = _snapshot(model)
    before = _operator(model, snapshot_id).execute(model.context(TASK))  # type: ignore[arg-type]

    model.put(_key(model, "COMPARATOR_DATA"), DRIFTED)  # a new latest version, badly drifted
    after = _operator(model, snapshot_id).execute(model.context(TASK))  # type: ignore[arg-type]
    assert after["passed"] is before["passed"] is True and after["failed_tests"] == []
    first, second = _report(model, before["report_uri"]), _report(model, after["report_uri"])
    assert _verdicts(second) == _verdicts(first), "the same pinned bytes give the same result"
    manifest = model.inventory.get_snapshot(snapshot_id).manifest
    for role, name in (("BASELINE_DATA", "baseline"), ("COMPARATOR_DATA", "comparator")):
        tested = second["inputs"][name]
        assert tested["version_id"] == versions[role] == manifest["assets"][role]["version_id"]
        assert tested["sha256"] == manifest["assets"][role]["sha256"] and tested["matches_snapshot"] is True
    assert second["inputs"]["risk_test_schema"]["version_id"] == versions["RISK_TEST_SCHEMA"]


def test_changed_data_on_an_unversioned_bucket_is_refused_naming_the_asset(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    pinned = model.inventory.get_snapshot(snapshot_id).manifest["assets"]["COMPARATOR_DATA"]["sha256"]
    original = model.aws.s3.get_object(Bucket=model.data_bucket, Key=_key(model, "COMPARATOR_DATA"))
    original_bytes = original["Body"].read()
    model.put(_key(model, "COMPARATOR_DATA"), DRIFTED)
    context = model.context(TASK)
    puts = model.aws.sandbox.request_count("s3:PutObject")
    with pytest.raises(AirflowFailException) as refused:
        _operator(model, snapshot_id).execute(context)  # type: ignore[arg-type]
    message = str(refused.value)
    assert f"COMPARATOR_DATA {model.metadata['COMPARATOR_DATA']} changed since the snapshot" in message
    assert f"expected SHA-256 {pinned} (unversioned bucket)" in message and "found SHA-256 " in message
    assert "register a new model version" in message and "new run of the implementation DAG" in message
    (run,) = model.inventory.risk_test_runs(model.model_id, run_key_prefix=f"{context['ti'].dag_id}/")
    assert (run.state, run.passed, run.report_uri) == ("FAILED", None, None), "nothing reported as a pass"
    assert str(run.error).startswith("PinnedDataChangedError: COMPARATOR_DATA")
    assert model.aws.sandbox.request_count("s3:PutObject") == puts, "no report is stored"
    assert _tickets(context) == [] and model.inventory.approvals(model_id=model.model_id) == [], (
        "a data change is not a failure to run: no ticket whose Done would re-run on the same pins"
    )

    # The pinned bytes restored, the cleared task checks again and runs on them.
    model.put(_key(model, "COMPARATOR_DATA"), original_bytes)
    result = _operator(model, snapshot_id).execute(model.context(TASK, context["ti"].run_id))  # type: ignore[arg-type]
    assert result["passed"] is True and result["attempt"] == 1


def test_a_deleted_pinned_version_is_refused(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    versions = _versioned(model)
    snapshot_id = _snapshot(model)
    model.put(_key(model, "RISK_TEST_SCHEMA"), json.dumps(classification_schema()).encode())
    model.aws.s3.delete_object(
        Bucket=model.data_bucket, Key=_key(model, "RISK_TEST_SCHEMA"), VersionId=versions["RISK_TEST_SCHEMA"]
    )
    with pytest.raises(AirflowFailException) as refused:
        _operator(model, snapshot_id).execute(model.context(TASK))  # type: ignore[arg-type]
    message = str(refused.value)
    assert f"RISK_TEST_SCHEMA {model.metadata['RISK_TEST_SCHEMA']} changed since the snapshot" in message
    assert f"expected version {versions['RISK_TEST_SCHEMA']}, SHA-256 " in message
    assert f"found no version {versions['RISK_TEST_SCHEMA']} (NoSuchVersion" in message


@pytest.mark.usefixtures("processing")
def test_the_processing_job_reads_the_pinned_versions(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    versions = _versioned(model)
    snapshot_id = _snapshot(model)
    worker = _snapshot_report_in_worker(model, snapshot_id)

    model.put(_key(model, "COMPARATOR_DATA"), DRIFTED)
    model.put(_key(model, "BASELINE_DATA"), DRIFTED)
    context = model.context(TASK)
    result = _run_job(model, snapshot_id, context)
    assert result["passed"] is True
    report = _report(model, result["report_uri"])
    assert _verdicts(report) == _verdicts(worker), "the job tests the same pinned bytes as the worker"
    for role, name in (("BASELINE_DATA", "baseline"), ("COMPARATOR_DATA", "comparator")):
        assert report["inputs"][name]["version_id"] == versions[role]
        assert report["inputs"][name]["source"] == model.metadata[role]
    ti = context["ti"]
    job = model.aws.sagemaker.describe_processing_job(
        ProcessingJobName=risk_test_job_name(ti.dag_id, ti.run_id, TASK, 1)
    )
    assert [i["InputName"] for i in job.get("ProcessingInputs", [])] in ([], ["thresholds"]), (
        "pinned data is not a ProcessingInput (which would read the latest version)"
    )
    args = job["AppSpecification"]["ContainerArguments"]
    for flag, role in (("--baseline", "BASELINE_DATA"), ("--comparator", "COMPARATOR_DATA")):
        assert args[args.index(flag) + 1] == model.metadata[role]
        assert args[args.index(f"{flag}-version-id") + 1] == versions[role]
    assert "--schema-sha256" in args


def _snapshot_report_in_worker(model: GovernedModel, snapshot_id: int) -> dict[str, Any]:
    """The same snapshot's tests in the worker, for comparison (risk_tests.runner 'worker')."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_GOVERNANCE__RISK_TESTS__RUNNER", "worker")
        result = _operator(model, snapshot_id).execute(model.context(TASK))  # type: ignore[arg-type]
    return _report(model, result["report_uri"])


@pytest.mark.usefixtures("processing")
def test_processing_mode_refuses_changed_data_before_submitting_a_job(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    model.put(_key(model, "BASELINE_DATA"), DRIFTED)
    jobs = model.aws.sandbox.request_count("sagemaker:CreateProcessingJob")
    context = model.context(TASK)
    with pytest.raises(AirflowFailException, match=r"BASELINE_DATA s3://\S+ changed since the snapshot"):
        _operator(model, snapshot_id).execute(context)  # type: ignore[arg-type]
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == jobs
    assert _tickets(context) == []
