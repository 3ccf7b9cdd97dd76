"""The pure parts of the SageMaker modes: deterministic job and endpoint names, the Processing job request,
what to do with an endpoint, the settings that switch the modes on, and the wait trigger's verdicts."""

from __future__ import annotations

import re

import pytest

from model_governance.config import parse_config
from model_governance.exceptions import ConfigurationError, RegistryError
from model_governance.snapshots import S3Location
from model_governance.triggers.sagemaker import ENDPOINT, PROCESSING_JOB, SageMakerWaitTrigger
from model_governance.workloads import (
    CREATE,
    DONE,
    UPDATE,
    WAIT,
    ProcessingSettings,
    endpoint_name,
    endpoint_step,
    job_failure,
    risk_test_job_name,
    risk_test_job_request,
)

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def test_job_names_are_stable_per_attempt_and_fit_sagemaker() -> None:
    name = risk_test_job_name("sagemaker_model_implementation", "manual__2026-11-30T09:00:00+00:00", "t", 1)
    assert name == risk_test_job_name(
        "sagemaker_model_implementation", "manual__2026-11-30T09:00:00+00:00", "t", 1
    )
    assert SAGEMAKER_NAME.match(name) and name.endswith("-1")
    others = {
        risk_test_job_name("sagemaker_model_implementation", "manual__2026-11-30T09:00:00+00:00", "t", 2),
        risk_test_job_name("sagemaker_model_implementation", "other-run", "t", 1),
        risk_test_job_name("sagemaker_model_implementation", "manual__2026-11-30T09:00:00+00:00", "u", 1),
    }
    assert name not in others and len(others) == 3
    long = risk_test_job_name("d" * 250, "r" * 250, "t" * 250, 99)
    assert SAGEMAKER_NAME.match(long) and len(long) <= 63
    with pytest.raises(ValueError, match="attempt"):
        risk_test_job_name("d", "r", "t", 0)


def test_the_job_request_maps_every_input_to_a_cli_argument() -> None:
    request = risk_test_job_request(
        job_name="mg-risk-tests-abc-1",
        settings=ProcessingSettings(image_uri="img:1", role_arn="arn:aws:iam::123456789012:role/r"),
        baseline=S3Location("data", "uc/baseline.parquet"),
        comparator=S3Location("data", "uc/comparator.csv"),
        schema=S3Location("data", "uc/schema.json"),
        risk_level="Medium",
        output_bucket="governance",
        tags={"governance:model_id": "7"},
    )
    app = request["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "model_governance.risk_tests"]
    assert app["ContainerArguments"] == [
        "--baseline",
        "/opt/ml/processing/input/baseline/baseline.parquet",
        "--comparator",
        "/opt/ml/processing/input/comparator/comparator.csv",
        "--schema",
        "/opt/ml/processing/input/schema/schema.json",
        "--out",
        "/opt/ml/processing/output/report.json",
        "--risk-level",
        "Medium",
    ]
    assert [i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]] == [
        "s3://data/uc/baseline.parquet",
        "s3://data/uc/comparator.csv",
        "s3://data/uc/schema.json",
    ]
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == "s3://governance/risk-tests/jobs/mg-risk-tests-abc-1"
    assert request["Tags"] == [{"Key": "governance:model_id", "Value": "7"}]


def test_a_failed_job_says_why_and_where_its_logs_are() -> None:
    text = job_failure(
        {"ProcessingJobName": "j-1", "ProcessingJobStatus": "Failed", "FailureReason": "AlgorithmError: x"}
    )
    assert "j-1 ended Failed: AlgorithmError: x" in text and "/aws/sagemaker/ProcessingJobs" in text


def test_endpoint_names_come_from_the_template() -> None:
    fields = {"group_name": "uc-3-churn", "version": 2, "model_id": 9, "use_case_id": 3}
    assert endpoint_name("{group_name}", **fields) == "uc-3-churn"
    assert endpoint_name("churn-v{version}-m{model_id}", **fields) == "churn-v2-m9"
    with pytest.raises(ConfigurationError, match="not a SageMaker endpoint name"):
        endpoint_name("{group_name}_prod", **fields)


@pytest.mark.parametrize(
    ("described", "step"),
    [
        (None, CREATE),
        ({"EndpointStatus": "Creating", "EndpointConfigName": "a"}, WAIT),
        ({"EndpointStatus": "Updating", "EndpointConfigName": "old"}, WAIT),
        ({"EndpointStatus": "InService", "EndpointConfigName": "a"}, DONE),
        ({"EndpointStatus": "InService", "EndpointConfigName": "old"}, UPDATE),
    ],
)
def test_endpoint_step_creates_nothing_twice(described: dict[str, str] | None, step: str) -> None:
    assert endpoint_step(described, "a") == step


def test_a_failed_endpoint_is_an_error_naming_the_fix() -> None:
    with pytest.raises(RegistryError, match=r"ep is Failed \(image not found\).*clear this task"):
        endpoint_step(
            {"EndpointName": "ep", "EndpointStatus": "Failed", "FailureReason": "image not found"}, "a"
        )


def test_settings_switch_the_modes_on_and_refuse_half_a_processing_setup() -> None:
    default = parse_config({})
    assert default.deployment.deploy_endpoint is False and default.risk_tests.runner == "worker"
    with pytest.raises(ConfigurationError, match=r"risk_tests: .*needs image_uri and role_arn"):
        parse_config({"risk_tests": {"runner": "processing"}})
    with pytest.raises(ConfigurationError, match=r"unknown placeholder\(s\) \['stage'\]"):
        parse_config({"deployment": {"endpoint_name": "{group_name}-{stage}"}})
    on = parse_config(
        {
            "deployment": {"deploy_endpoint": True, "endpoint_name": "{group_name}-prod"},
            "risk_tests": {
                "runner": "processing",
                "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mg:1",
                "role_arn": "arn:aws:iam::123456789012:role/risk-tests",
            },
        }
    )
    assert (
        on.deployment.endpoint_name == "{group_name}-prod" and on.risk_tests.instance_type == "ml.m5.xlarge"
    )


def test_the_wait_trigger_reports_end_states_only() -> None:
    job = SageMakerWaitTrigger(resource=PROCESSING_JOB, name="j", aws_conn_id="aws")
    assert job.settled({"ProcessingJobStatus": "InProgress"}) is None
    assert job.settled({"ProcessingJobStatus": "Stopping"}) is None
    done = job.settled({"ProcessingJobStatus": "Completed"})
    assert done is not None and done.payload["status"] == "success"
    failed = job.settled({"ProcessingJobStatus": "Failed", "FailureReason": "AlgorithmError: x"})
    assert failed is not None and failed.payload["failure_reason"] == "AlgorithmError: x"
    assert failed.payload["status"] == "failed"
    gone = job.settled(None)
    assert gone is not None and gone.payload["status"] == "not_found"
    endpoint = SageMakerWaitTrigger(resource=ENDPOINT, name="e", aws_conn_id="aws")
    assert endpoint.settled({"EndpointStatus": "Updating"}) is None
    ready = endpoint.settled({"EndpointStatus": "InService"})
    assert ready is not None and ready.payload["status"] == "success"
    with pytest.raises(ValueError, match="resource"):
        SageMakerWaitTrigger(resource="training_job", name="t", aws_conn_id="aws")
