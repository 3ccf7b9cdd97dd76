from __future__ import annotations

import pytest

from model_governance.exceptions import InvalidInputError
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.registry import (
    GOVERNANCE_METADATA_PREFIX,
    STAGE_NAME,
    GovernanceLinks,
    MetadataKey,
    check_metadata,
    client_token,
    lifecycle_update,
)


def test_metadata_within_limits_passes() -> None:
    check_metadata({"governance:model_id": "42", "governance:jira": "MLC-12 MLC-13", "x": "s3://b/k=v+w@x:y"})


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({"": "v"}, "1-128"),
        ({"k" * 129: "v"}, "1-128"),
        ({"k": ""}, "1-256"),
        ({"k": "v" * 257}, "1-256"),
        ({"k": "https://bucket.s3.amazonaws.com/doc?X-Amz-Signature=abc&x=1"}, "presigned"),
        ({"k#1": "v"}, "'k#1'"),
        ({"k": "line\nbreak"}, "refuses"),
    ],
)
def test_metadata_aws_would_refuse_is_named(properties: dict[str, str], fragment: str) -> None:
    with pytest.raises(InvalidInputError, match="metadata") as raised:
        check_metadata(properties)
    assert fragment in str(raised.value)


def test_metadata_cap_counts_the_merged_result() -> None:
    existing = {f"k{i}": "v" for i in range(45)}
    check_metadata({f"k{i}": "new" for i in range(45)}, existing=existing)  # overwrites, still 45
    with pytest.raises(InvalidInputError, match="51 entries"):
        check_metadata({f"n{i}": "v" for i in range(6)}, existing=existing)


def test_client_token_is_stable_bounded_and_distinct() -> None:
    token = client_token("dag", "run", "task", "Deployed")
    assert token == client_token("dag", "run", "task", "Deployed")
    assert 1 <= len(token) <= 36
    assert token != client_token("dag", "run", "task", "Rejected")
    assert client_token("a", "bc") != client_token("ab", "c")  # parts are separated, not concatenated
    with pytest.raises(InvalidInputError):
        client_token("dag", "")


def test_lifecycle_update_body() -> None:
    body = lifecycle_update(S.APPROVED_FOR_DEPLOYMENT, description="Production approval MLC-9")
    assert body == {
        "ModelLifeCycle": {
            "Stage": "Deployment",
            "StageStatus": "Approved",
            "StageDescription": "Production approval MLC-9",
        },
        "ModelApprovalStatus": "Approved",
        "ApprovalDescription": "Production approval MLC-9",
    }
    assert lifecycle_update(S.UNDER_DEVELOPMENT, include_approval=False) == {
        "ModelLifeCycle": {"Stage": "Development", "StageStatus": "InProgress"}
    }
    assert STAGE_NAME.match(body["ModelLifeCycle"]["Stage"])


def test_governance_keys_are_spelled_once_and_fit_sagemaker() -> None:
    for key in MetadataKey:
        assert key.value.startswith(GOVERNANCE_METADATA_PREFIX)
        assert key.card_field == key.value.removeprefix(GOVERNANCE_METADATA_PREFIX)
        check_metadata({key.value: "1"})
    links = GovernanceLinks.from_inventory(
        {"use_case_id": 7, "model_id": 42, "status": "Deployed", "snapshot": None, "jira_keys": ["MLC-1"]},
        "https://airflow.example.com/mg/",
    )
    assert links.metadata() == {
        "governance:use_case_id": "7",
        "governance:model_id": "42",
        "governance:status": "Deployed",
        "governance:jira": "MLC-1",
        "governance:dashboard": "https://airflow.example.com/mg/models/42",
    }
    assert set(links.metadata()) <= {k.value for k in MetadataKey}
    assert links.card_details()["dashboard"] == "https://airflow.example.com/mg/models/42"
