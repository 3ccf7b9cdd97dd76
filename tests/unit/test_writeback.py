"""The one governance write-back: what differs goes in one UpdateModelPackage with a ClientToken; nothing
when all is in place; the lifecycle is left alone where governance does not originate it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from model_governance.exceptions import InvalidInputError
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.registry import GovernanceLinks, client_token
from model_governance.services.writeback import (
    GovernanceWriteBack,
    card_with_custom_details,
    governance_changes,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
LINKS = GovernanceLinks(7, 42, "Development Complete", None, ("MLC-1",), None)


class FakeRegistry:
    """Applies updates the way SageMaker does (replace lifecycle/approval, merge metadata, keep tokens)."""

    def __init__(self, package: dict[str, Any]) -> None:
        self.package = package
        self.calls: list[tuple[dict[str, Any], str]] = []
        self.tokens: set[str] = set()

    def describe_model_package(self, arn: str) -> dict[str, Any]:
        assert arn == self.package["ModelPackageArn"]
        return json.loads(json.dumps(self.package))

    def update_model_package(
        self, arn: str, body: Mapping[str, Any], *, token_parts: Sequence[str]
    ) -> dict[str, Any]:
        token = client_token(arn, *token_parts)
        self.calls.append((dict(body), token))
        if token in self.tokens:
            return {"ModelPackageArn": arn}
        self.tokens.add(token)
        for key in ("ModelLifeCycle", "ModelApprovalStatus", "ModelCard"):
            if key in body:
                self.package[key] = body[key]
        if "CustomerMetadataProperties" in body:
            self.package.setdefault("CustomerMetadataProperties", {}).update(
                body["CustomerMetadataProperties"]
            )
        return {"ModelPackageArn": arn}


def _registered_as_deployed() -> dict[str, Any]:
    return {
        "ModelPackageArn": ARN,
        "ModelLifeCycle": {"Stage": "Deployment", "StageStatus": "Complete"},
        "ModelApprovalStatus": "Approved",
        "CustomerMetadataProperties": {"BASELINE_DATA": "s3://data/baseline.parquet"},
    }


def test_everything_that_differs_goes_in_one_update_and_then_nothing_is_written() -> None:
    registry = FakeRegistry(_registered_as_deployed())
    writeback = GovernanceWriteBack(registry)
    result = writeback.write(
        S.DEVELOPMENT_COMPLETE, arn=ARN, links=LINKS, token_parts=("sync", "t1"), description="reverted"
    )
    assert result.written and len(registry.calls) == 1
    body = registry.calls[0][0]
    assert body["ModelLifeCycle"] == {
        "Stage": "Development",
        "StageStatus": "Complete",
        "StageDescription": "reverted",
    }
    assert (body["ModelApprovalStatus"], body["ApprovalDescription"]) == ("PendingManualApproval", "reverted")
    assert body["CustomerMetadataProperties"]["governance:model_id"] == "42"
    details = json.loads(body["ModelCard"]["ModelCardContent"])["additional_information"]["custom_details"]
    assert details["model_id"] == "42" and details["jira"] == "MLC-1"
    assert result.describe() == (
        "ModelLifeCycle Deployment/Complete -> Development/Complete, "
        "ModelApprovalStatus Approved -> PendingManualApproval"
    )
    assert registry.package["CustomerMetadataProperties"]["BASELINE_DATA"] == "s3://data/baseline.parquet"
    again = writeback.write(S.DEVELOPMENT_COMPLETE, arn=ARN, links=LINKS, token_parts=("sync", "t1"))
    assert not again.written and len(registry.calls) == 1, "all in place: no call at all"


def test_a_retry_repeats_the_token_and_a_different_change_gets_another() -> None:
    first = FakeRegistry(_registered_as_deployed())
    GovernanceWriteBack(first).write(S.DEVELOPMENT_COMPLETE, arn=ARN, token_parts=("dag", "run", "task"))
    retried = FakeRegistry(_registered_as_deployed())  # the same state seen again by a retried task
    GovernanceWriteBack(retried).write(S.DEVELOPMENT_COMPLETE, arn=ARN, token_parts=("dag", "run", "task"))
    assert first.calls[0][1] == retried.calls[0][1]
    other = FakeRegistry(_registered_as_deployed())
    GovernanceWriteBack(other).write(S.REJECTED, arn=ARN, token_parts=("dag", "run", "task"))
    assert other.calls[0][1] != first.calls[0][1]


def test_the_lifecycle_is_left_alone_where_governance_does_not_originate_it() -> None:
    package = {
        "ModelPackageArn": ARN,
        "ModelLifeCycle": {"Stage": "Deployment", "StageStatus": "Approved"},
        "ModelApprovalStatus": "Approved",
    }
    # the MLC records Deployed (SageMaker's to say): the approval stays, the lifecycle is not written
    assert governance_changes(package, S.DEPLOYED, write_lifecycle=False).body == {}
    moved = governance_changes(package, S.MODEL_CHANGE_IN_PROGRESS)
    assert moved.body == {
        "ModelLifeCycle": {"Stage": "BackinDevelopment", "StageStatus": "InProgress"},
        "ModelApprovalStatus": "PendingManualApproval",
    }


def test_card_custom_details_merge_and_an_archived_card_is_left_alone() -> None:
    card = {
        "ModelCardStatus": "PendingReview",
        "ModelCardContent": json.dumps(
            {
                "model_overview": {"model_description": "churn"},
                "additional_information": {"custom_details": {"a": "1"}},
            }
        ),
    }
    merged = card_with_custom_details(ARN, card, {"model_id": "42"})
    assert merged is not None and merged["ModelCardStatus"] == "PendingReview"
    content = json.loads(merged["ModelCardContent"])
    assert content["model_overview"] == {"model_description": "churn"}
    assert content["additional_information"]["custom_details"] == {"a": "1", "model_id": "42"}
    assert card_with_custom_details(ARN, merged, {"model_id": "42"}) is None
    assert card_with_custom_details(ARN, {**card, "ModelCardStatus": "Archived"}, {"model_id": "42"}) is None


def test_write_needs_the_package_or_its_arn() -> None:
    with pytest.raises(InvalidInputError, match="package or its arn"):
        GovernanceWriteBack(FakeRegistry(_registered_as_deployed())).write(S.PROPOSED, token_parts=("x",))
