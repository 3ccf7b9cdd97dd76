"""Fault switches through boto3: throttling (with and without client retries), latency, targeting."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.pytest_fixtures import AwsClients
from tests.integration.sandbox_aws.conftest import unique

pytestmark = pytest.mark.integration

NO_RETRIES = {"mode": "standard", "total_max_attempts": 1}


def test_throttling_without_retries_surfaces_throttling_exception(
    aws_clients: AwsClients, group: str
) -> None:
    sandbox = aws_clients.sandbox
    sandbox.set_faults(throttle_rate=1.0)
    sm = sandbox.client("sagemaker", retries=NO_RETRIES)
    with pytest.raises(ClientError) as excinfo:
        sm.describe_model_package_group(ModelPackageGroupName=group)
    error = excinfo.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    counters = sandbox.counters()
    assert counters["requests"]["sagemaker:DescribeModelPackageGroup"] == 1
    assert counters["throttled"]["sagemaker:DescribeModelPackageGroup"] == 1


def test_throttling_with_standard_retries_eventually_succeeds(aws_clients: AwsClients, group: str) -> None:
    sandbox = aws_clients.sandbox
    # A low rate keeps consecutive throttles (and so botocore's exponential backoff sleeps) short.
    sandbox.set_faults(throttle_rate=0.25, seed=3)
    sm = sandbox.client("sagemaker", retries={"mode": "standard", "total_max_attempts": 10})
    for _ in range(8):
        sm.describe_model_package_group(ModelPackageGroupName=group)
    counters = sandbox.counters()
    requests = counters["requests"]["sagemaker:DescribeModelPackageGroup"]
    throttled = counters["throttled"].get("sagemaker:DescribeModelPackageGroup", 0)
    assert throttled > 0
    assert requests == 8 + throttled  # every throttled attempt was retried, and counted


def test_throttle_decisions_repeat_with_the_same_seed(aws_clients: AwsClients, group: str) -> None:
    sandbox = aws_clients.sandbox
    sm = sandbox.client("sagemaker", retries=NO_RETRIES)

    def pattern() -> list[bool]:
        sandbox.set_faults(throttle_rate=0.4, seed=11)
        outcome = []
        for _ in range(15):
            try:
                sm.describe_model_package_group(ModelPackageGroupName=group)
                outcome.append(False)
            except ClientError:
                outcome.append(True)
        return outcome

    first, second = pattern(), pattern()
    assert first == second
    assert True in first
    assert False in first


def test_faults_can_target_actions(aws_clients: AwsClients, group: str) -> None:
    sandbox = aws_clients.sandbox
    sandbox.set_faults(throttle_rate=1.0, actions=["sagemaker:CreateModelPackage"])
    sm = sandbox.client("sagemaker", retries=NO_RETRIES)
    sm.describe_model_package_group(ModelPackageGroupName=group)  # not targeted
    with pytest.raises(ClientError):
        sm.create_model_package(ModelPackageGroupName=group)
    assert sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"] == []


def test_s3_throttling_is_slowdown_503(aws_clients: AwsClients) -> None:
    sandbox = aws_clients.sandbox
    bucket = unique("bucket")
    aws_clients.s3.create_bucket(Bucket=bucket)
    sandbox.set_faults(throttle_rate=1.0, actions=["s3:PutObject"])
    s3 = sandbox.client("s3", retries=NO_RETRIES)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    assert excinfo.value.response["Error"]["Code"] == "SlowDown"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    sandbox.set_faults(throttle_rate=0.0)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"x"
    assert sandbox.counters()["throttled"] == {"s3:PutObject": 1}


def test_sqs_throttling_is_request_throttled(aws_clients: AwsClients) -> None:
    sandbox = aws_clients.sandbox
    url = aws_clients.sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    sandbox.set_faults(throttle_rate=1.0, actions=["sqs:*"])
    sqs = sandbox.client("sqs", retries=NO_RETRIES)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="hi")
    assert excinfo.value.response["Error"]["Code"] == "RequestThrottled"
    assert sandbox.counters()["throttled"] == {"sqs:SendMessage": 1}


def test_latency_switch_is_applied_and_counted(aws_clients: AwsClients, group: str) -> None:
    sandbox = aws_clients.sandbox
    sandbox.set_faults(latency_ms=20, actions=["sagemaker:DescribeModelPackageGroup"])
    for _ in range(3):
        aws_clients.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    aws_clients.sagemaker.list_model_package_groups()
    assert sandbox.counters()["injected_latency_ms"] == pytest.approx(60.0)


def test_bad_fault_settings_are_refused_and_change_nothing(aws_clients: AwsClients) -> None:
    sandbox = aws_clients.sandbox
    with pytest.raises(ValueError, match=r"throttle_rate 2 must be a number in \[0.0, 1.0\]"):
        sandbox.set_faults(throttle_rate=2, latency_ms=5)
    with pytest.raises(ValueError, match="unknown fault switch"):
        sandbox.set_faults(throtle_rate=0.1)
    with pytest.raises(ValueError, match="service:Action"):
        sandbox.set_faults(actions=["CreateModelPackage"])
    assert sandbox.config()["faults"]["latency_ms"] == 0


def test_counters_reset(aws_clients: AwsClients) -> None:
    aws_clients.sagemaker.list_model_package_groups()
    assert aws_clients.sandbox.request_count("sagemaker:ListModelPackageGroups") == 1
    aws_clients.sandbox.reset()
    assert aws_clients.sandbox.counters()["requests"] == {}


def test_a_server_error_is_a_500_internal_failure_that_did_nothing(aws_clients: AwsClients) -> None:
    sandbox = aws_clients.sandbox
    sandbox.set_faults(server_error_rate=1.0, actions=["sagemaker:CreateModelPackageGroup"])
    sm = sandbox.client("sagemaker", retries=NO_RETRIES)
    name = unique("grp")
    with pytest.raises(ClientError) as excinfo:
        sm.create_model_package_group(ModelPackageGroupName=name)
    assert excinfo.value.response["Error"]["Code"] == "InternalFailure"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    sandbox.set_faults(server_error_rate=0.0)
    with pytest.raises(ClientError, match=r"does not exist|not found"):
        sm.describe_model_package_group(ModelPackageGroupName=name)
    assert sandbox.counters()["server_errors"] == {"sagemaker:CreateModelPackageGroup": 1}


def test_a_lost_response_applies_the_write_then_answers_500(aws_clients: AwsClients) -> None:
    sandbox = aws_clients.sandbox
    bucket = unique("bucket")
    aws_clients.s3.create_bucket(Bucket=bucket)
    sandbox.set_faults(lost_response_rate=1.0, actions=["s3:PutObject", "sagemaker:CreateModelPackageGroup"])
    s3 = sandbox.client("s3", retries=NO_RETRIES)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    assert excinfo.value.response["Error"]["Code"] == "InternalError"
    name = unique("grp")
    with pytest.raises(ClientError, match="InternalFailure"):
        sandbox.client("sagemaker", retries=NO_RETRIES).create_model_package_group(ModelPackageGroupName=name)
    sandbox.set_faults(lost_response_rate=0.0)
    assert aws_clients.s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"x"
    assert (
        aws_clients.sagemaker.describe_model_package_group(ModelPackageGroupName=name)[
            "ModelPackageGroupName"
        ]
        == name
    )
    assert sandbox.counters()["lost_responses"] == {"s3:PutObject": 1, "sagemaker:CreateModelPackageGroup": 1}


def test_fault_rates_together_may_not_exceed_one(aws_clients: AwsClients) -> None:
    with pytest.raises(ValueError, match=r"must not exceed 1\.0"):
        aws_clients.sandbox.set_faults(throttle_rate=0.5, lost_response_rate=0.6)
    with pytest.raises(ValueError, match=r"server_error_rate 2 must be a number in \[0.0, 1.0\]"):
        aws_clients.sandbox.set_faults(server_error_rate=2)
    assert aws_clients.sandbox.set_faults()["lost_response_rate"] == 0.0
