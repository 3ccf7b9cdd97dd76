"""EventBridge stand-in: AWS-shaped model package events on an SQS FIFO queue, with a duplicate switch."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from sandbox.aws.pytest_fixtures import AwsClients
from tests.integration.sandbox_aws.conftest import unique

pytestmark = pytest.mark.integration


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message on the queue, deleting as it goes (FIFO hides a group's later messages until then)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def events_queue(aws_clients: AwsClients) -> str:
    name = unique("events") + ".fifo"
    url = aws_clients.sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    aws_clients.sandbox.set_events(queue=name)
    return str(url)


def test_create_update_delete_each_send_an_event(
    aws_clients: AwsClients, group: str, events_queue: str
) -> None:
    sm = aws_clients.sagemaker
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"},
        CustomerMetadataProperties={"k": "v"},
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sm.delete_model_package(ModelPackageName=arn)

    messages = _drain(aws_clients.sqs, events_queue)
    assert len(messages) == 3
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {group}
    assert len({m["Attributes"]["MessageDeduplicationId"] for m in messages}) == 3
    events = [json.loads(m["Body"]) for m in messages]
    created, updated, deleted = events
    for event in events:
        assert event["version"] == "0"
        assert event["detail-type"] == "SageMaker Model Package State Change"
        assert event["source"] == "aws.sagemaker"
        assert event["account"] == "123456789012"
        assert event["region"] == "us-east-1"
        assert event["resources"] == [arn]
        assert event["detail"]["ModelPackageArn"] == arn
        assert event["detail"]["ModelPackageGroupName"] == group
        assert event["detail"]["ModelPackageVersion"] == 1
        datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        datetime.fromisoformat(event["detail"]["LastModifiedTime"].replace("Z", "+00:00"))
    assert len({e["id"] for e in events}) == 3
    assert created["detail"]["ModelApprovalStatus"] == "PendingManualApproval"
    assert created["detail"]["ModelLifeCycle"] == {"Stage": "Development", "StageStatus": "InProgress"}
    assert created["detail"]["CustomerMetadataProperties"] == {"k": "v"}
    assert "UpdatedModelPackageFields" not in created["detail"]
    assert updated["detail"]["ModelApprovalStatus"] == "Approved"
    assert updated["detail"]["UpdatedModelPackageFields"] == ["ModelApprovalStatus"]
    assert deleted["detail"]["ModelPackageStatus"] == "Deleting"
    # the detail is the package as Describe returned it at the time
    assert updated["detail"]["CreationTime"] == created["detail"]["CreationTime"]
    counters = aws_clients.sandbox.counters()["events"]
    assert counters["emitted"] == counters["delivered"] == 3
    # the sandbox's own deliveries are not client requests
    assert "sqs:SendMessage" not in aws_clients.sandbox.counters()["requests"]


def test_no_event_for_a_repeated_update(aws_clients: AwsClients, group: str, events_queue: str) -> None:
    sm = aws_clients.sagemaker
    arn = sm.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ClientToken="t-1")
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ClientToken="t-1")
    assert len(_drain(aws_clients.sqs, events_queue)) == 2


def test_duplicate_switch_redelivers_the_same_event(
    aws_clients: AwsClients, group: str, events_queue: str
) -> None:
    sm = aws_clients.sagemaker
    aws_clients.sandbox.set_events(duplicate_rate=1.0)
    sm.create_model_package(ModelPackageGroupName=group)
    messages = _drain(aws_clients.sqs, events_queue)
    assert len(messages) == 2
    first, second = (json.loads(m["Body"]) for m in messages)
    assert first == second  # same event id and content: what an idempotent consumer must absorb
    assert (
        messages[0]["Attributes"]["MessageDeduplicationId"]
        != messages[1]["Attributes"]["MessageDeduplicationId"]
    )
    assert aws_clients.sandbox.counters()["events"]["duplicates"] == 1


def test_duplicate_rate_is_repeatable_with_a_seed(
    aws_clients: AwsClients, group: str, events_queue: str
) -> None:
    sm = aws_clients.sagemaker
    arn = sm.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]

    def run() -> list[int]:
        _drain(aws_clients.sqs, events_queue)
        aws_clients.sandbox.set_events(duplicate_rate=0.5, seed=7)
        for i in range(12):
            sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"i": str(i)})
        counts: dict[str, int] = {}
        for message in _drain(aws_clients.sqs, events_queue):
            event_id = json.loads(message["Body"])["id"]
            counts[event_id] = counts.get(event_id, 0) + 1
        return [counts[e] for e in sorted(counts, key=list(counts).index)]

    first, second = run(), run()
    assert first == second
    assert 1 in first
    assert 2 in first


def test_events_go_nowhere_without_a_queue_and_are_still_logged(aws_clients: AwsClients, group: str) -> None:
    aws_clients.sagemaker.create_model_package(ModelPackageGroupName=group)
    logged = aws_clients.sandbox.events()
    assert [e["detail"]["ModelPackageGroupName"] for e in logged] == [group]
    assert aws_clients.sandbox.counters()["events"]["delivered"] == 0


def test_missing_queue_drops_events_without_failing_the_call(aws_clients: AwsClients, group: str) -> None:
    name = unique("gone") + ".fifo"
    url = aws_clients.sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    aws_clients.sandbox.set_events(queue=name)
    aws_clients.sqs.delete_queue(QueueUrl=url)
    aws_clients.sagemaker.create_model_package(ModelPackageGroupName=group)
    assert aws_clients.sandbox.counters()["events"]["undeliverable"] == 1


def test_non_fifo_queue_is_refused(aws_clients: AwsClients) -> None:
    with pytest.raises(ValueError, match=r"must end in \.fifo"):
        aws_clients.sandbox.set_events(queue="plain-queue")


def test_event_detail_fields_are_describe_fields(aws_clients: AwsClients, group: str) -> None:
    import botocore.session

    sm = aws_clients.sagemaker
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelCard={"ModelCardContent": "{}", "ModelCardStatus": "Draft"},
        SourceUri="s3://b/m.tar.gz",
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelLifeCycle={"Stage": "Dev", "StageStatus": "Open"})
    output = (
        botocore.session.get_session().get_service_model("sagemaker").operation_model("DescribeModelPackage")
    )
    allowed = set(output.output_shape.members) | {"UpdatedModelPackageFields"}
    for event in aws_clients.sandbox.events():
        assert set(event["detail"]) <= allowed
        assert {"ModelLifeCycle", "ModelCard", "SourceUri"} & set(event["detail"])
