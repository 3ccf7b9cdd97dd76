"""The server process: command line flags, ready line, clean SIGTERM stop, admin API, moto pass-through."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.pytest_fixtures import REPO_ROOT, AwsClients, start_sandbox
from tests.integration.sandbox_aws.conftest import unique

pytestmark = pytest.mark.integration


def test_start_flags_ready_line_and_sigterm() -> None:
    sandbox = start_sandbox(
        "--seed",
        "5",
        "--throttle-rate",
        "0.25",
        "--latency-ms",
        "3",
        "--fault-actions",
        "sagemaker:*,sqs:SendMessage",
        "--events-queue",
        "governance-events.fifo",
        "--duplicate-rate",
        "0.1",
        region="eu-west-1",
        account_id="210987654321",
    )
    try:
        assert sandbox.endpoint_url.startswith("http://127.0.0.1:")
        config = sandbox.config()
        assert config == {
            "account_id": "210987654321",
            "region": "eu-west-1",
            "faults": {
                "throttle_rate": 0.25,
                "server_error_rate": 0.0,
                "lost_response_rate": 0.0,
                "latency_ms": 3.0,
                "actions": ["sagemaker:*", "sqs:SendMessage"],
                "regions": None,
                "seed": 5,
            },
            "events": {"queue": "governance-events.fifo", "duplicate_rate": 0.1},
            "events_by_region": {"eu-west-1": {"queue": "governance-events.fifo", "duplicate_rate": 0.1}},
        }
        sandbox.set_faults(throttle_rate=0.0)
        # the events queue exists from the start, in the configured account and region
        url = sandbox.client("sqs").get_queue_url(QueueName="governance-events.fifo")["QueueUrl"]
        assert "210987654321" in url
        sm = sandbox.client("sagemaker")
        arn = sm.create_model_package_group(ModelPackageGroupName="g")["ModelPackageGroupArn"]
        assert arn == "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/g"
    finally:
        code = sandbox.stop()
    assert code == 0
    assert sandbox.output[-1] == "sandbox.aws stopped"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--throttle-rate", "1.5"], "is not a rate"),
        (["--events-queue", "plain"], "must name a FIFO queue"),
        (["--latency-ms", "-1"], "must be >= 0"),
    ],
)
def test_bad_flags_are_explained(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.aws", "--port", "0", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_admin_api_errors(aws_clients: AwsClients) -> None:
    base = aws_clients.sandbox.endpoint_url
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(f"{base}/_sandbox/nope", timeout=10)
    assert excinfo.value.code == 404
    assert "POST faults|events|reset" in json.loads(excinfo.value.read())["error"]
    request = urllib.request.Request(f"{base}/_sandbox/faults", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)
    assert excinfo.value.code == 400
    assert "not JSON" in json.loads(excinfo.value.read())["error"]
    with urllib.request.urlopen(f"{base}/_sandbox/health", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}
    # admin calls are not counted as AWS requests
    assert aws_clients.sandbox.counters()["requests"] == {}


def test_s3_and_sqs_pass_through_to_moto(aws_clients: AwsClients) -> None:
    bucket = unique("artifacts")
    aws_clients.s3.create_bucket(Bucket=bucket)
    aws_clients.s3.put_object(Bucket=bucket, Key="models/m.tar.gz", Body=b"model")
    head = aws_clients.s3.head_object(Bucket=bucket, Key="models/m.tar.gz")
    assert head["ContentLength"] == 5
    listed = aws_clients.s3.list_objects_v2(Bucket=bucket, Prefix="models/")
    assert [o["Key"] for o in listed["Contents"]] == ["models/m.tar.gz"]
    url = aws_clients.sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    aws_clients.sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert aws_clients.sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"
    requests = aws_clients.sandbox.counters()["requests"]
    for key in (
        "s3:CreateBucket",
        "s3:PutObject",
        "s3:HeadObject",
        "s3:ListObjectsV2",
        "sqs:CreateQueue",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
    ):
        assert requests[key] == 1, key


def test_reset_state_clears_registry_and_moto() -> None:
    sandbox = start_sandbox("--events-queue", "ev.fifo")
    try:
        sm = sandbox.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName="kept-until-reset")
        sandbox.client("s3").create_bucket(Bucket="bucket-until-reset")
        sandbox.reset(state=True)
        with pytest.raises(ClientError):
            sm.describe_model_package_group(ModelPackageGroupName="kept-until-reset")
        assert sandbox.client("s3").list_buckets()["Buckets"] == []
        # the configured events queue is recreated
        sandbox.client("sqs").get_queue_url(QueueName="ev.fifo")
    finally:
        assert sandbox.stop() == 0
