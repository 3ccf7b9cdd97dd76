"""The pure manifest functions (no server): canonical bytes, hashes, metadata checks, report keys."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from model_governance.exceptions import ConfigurationError, InvalidInputError
from model_governance.model_cards import (
    GOVERNANCE_EVALUATION,
    CardFacts,
    custom_details,
    governance_fills,
    governance_sections,
    merge_content,
)
from model_governance.registry import GovernanceLinks
from model_governance.snapshots import (
    ObjectDigest,
    S3Location,
    build_manifest,
    canonical_json,
    content_hash,
    parse_s3_uri,
    report_key,
    risk_test_plan,
    snapshot_inputs,
    threshold_overrides,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"


def _package(**metadata: str) -> dict[str, Any]:
    values = {
        "BASELINE_DATA": "s3://data-bucket/base.parquet",
        "COMPARATOR_DATA": "s3://data-bucket/comp.parquet",
        "RISK_TEST_SCHEMA": "s3://data-bucket/schema.json",
        "ENDPOINT_CONFIG": "churn-prod",
        **metadata,
    }
    return {
        "ModelPackageArn": ARN,
        "ModelPackageGroupName": "churn",
        "ModelPackageVersion": 3,
        "CreationTime": datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1))),
        "InferenceSpecification": {"Containers": [{"Image": "img:1", "Environment": {"API_KEY": "x"}}]},
        "CustomerMetadataProperties": {k: v for k, v in values.items() if v},
    }


def _manifest(
    package: dict[str, Any],
    *,
    version_id: str | None = None,
    card_fills: dict[tuple[str, str], Any] | None = None,
) -> dict[str, Any]:
    inputs = snapshot_inputs(package)
    digests = {
        role: ObjectDigest(
            location.uri,
            etag=f"etag-{role}",
            size=10,
            version_id=version_id,
            sha256=hashlib.sha256(role.encode()).hexdigest(),
        )
        for role, location in inputs.assets.items()
    }
    return build_manifest(
        package,
        inputs,
        assets=digests,
        model_data=[None],
        endpoint_config={"EndpointConfigName": "churn-prod", "ProductionVariants": []},
        use_case={"id": 1, "name": "churn", "risk_level": "Low"},
        suite_version="1.0.0",
        risk_level="Low",
        overrides={},
        thresholds={"risk_level": "Low", "bounds": {}},
        card_fills=card_fills,
    )


def test_canonical_bytes_do_not_depend_on_key_order() -> None:
    a, b = {"b": 1, "a": [1, {"y": 2, "x": "é"}]}, {"a": [1, {"x": "é", "y": 2}], "b": 1}
    assert canonical_json(a) == canonical_json(b) == '{"a":[1,{"x":"é","y":2}],"b":1}'.encode()
    assert content_hash(a) == content_hash(b) and len(content_hash(a)) == 64
    with pytest.raises(InvalidInputError, match="finite JSON"):
        canonical_json({"x": float("nan")})


def test_manifest_leaves_out_governance_keys_secrets_and_our_times() -> None:
    package = _package()
    manifest = _manifest(package)
    assert manifest["model_package"]["creation_time"] == "2026-03-01T12:00:00+00:00"
    assert "Environment" not in str(manifest) and "API_KEY" not in str(manifest)
    tagged = _package()
    tagged["CustomerMetadataProperties"]["governance:snapshot"] = "0" * 64
    assert content_hash(_manifest(tagged)) == content_hash(manifest), "our own link does not change the hash"
    changed = _package(COMPARATOR_DATA="s3://data-bucket/other.parquet")
    assert content_hash(_manifest(changed)) != content_hash(manifest)
    plan = risk_test_plan(manifest, snapshot="1")
    assert plan.comparator == S3Location("data-bucket", "comp.parquet") and plan.risk_level == "Low"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"BASELINE_DATA": ""}, "has no customer metadata key BASELINE_DATA"),
        ({"ENDPOINT_CONFIG": ""}, "has no customer metadata key ENDPOINT_CONFIG"),
        ({"ENDPOINT_CONFIG": "bad name"}, "not an endpoint configuration name"),
        ({"RISK_TEST_SCHEMA": "s3://data-bucket/"}, "does not name one S3 object"),
    ],
)
def test_metadata_errors_name_the_key(metadata: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        snapshot_inputs(_package(**metadata))


def test_keys_and_plans() -> None:
    assert parse_s3_uri("s3://b-1/a/b.parquet", what="x") == S3Location("b-1", "a/b.parquet")
    snapshot = "s3://gov/snapshots/churn/3/" + "a" * 64 + ".json"
    assert report_key(snapshot, "gov", "b" * 64) == f"snapshots/churn/3/{'a' * 64}/risk-tests/{'b' * 64}.json"
    with pytest.raises(ConfigurationError, match="governance bucket 'other'"):
        report_key(snapshot, "other", "b" * 64)
    with pytest.raises(ConfigurationError, match="manifest version"):
        risk_test_plan({"manifest_version": 99}, snapshot="7")
    assert threshold_overrides({"High": {"bias.ppr_disparity": (0.8, 1.2)}}, "High") == {
        "bias.ppr_disparity": [0.8, 1.2]
    }
    assert threshold_overrides({"High": {"performance.auc": 0.8}}, "Low") == {}
    assert ObjectDigest.from_head(S3Location("b-1", "k"), {"ETag": '"abc"', "ContentLength": 3}).etag == "abc"


def test_assets_are_pinned_by_version_and_sha256() -> None:
    manifest = _manifest(_package(), version_id="v-1")
    assert manifest["manifest_version"] == 3
    base = manifest["assets"]["BASELINE_DATA"]
    assert base == {
        "uri": "s3://data-bucket/base.parquet",
        "etag": "etag-BASELINE_DATA",
        "size": 10,
        "version_id": "v-1",
        "sha256": hashlib.sha256(b"BASELINE_DATA").hexdigest(),
    }
    plan = risk_test_plan(manifest, snapshot="1")
    pin = plan.pins["BASELINE_DATA"]
    assert (pin.uri, pin.version_id, pin.sha256) == (base["uri"], "v-1", base["sha256"])
    assert pin.describe() == f"version v-1, SHA-256 {base['sha256']}"
    unversioned = risk_test_plan(_manifest(_package()), snapshot="2").pins["COMPARATOR_DATA"]
    assert unversioned.version_id is None and unversioned.describe().endswith("(unversioned bucket)")
    head = {"ETag": '"e"', "ContentLength": 1, "VersionId": "null"}
    assert ObjectDigest.from_head(S3Location("b-1", "k"), head).version_id is None, "suspended: null"


def test_a_data_asset_without_its_sha256_is_refused() -> None:
    package = _package()
    inputs = snapshot_inputs(package)
    digests = {role: ObjectDigest(loc.uri, etag="e", size=1) for role, loc in inputs.assets.items()}
    with pytest.raises(InvalidInputError, match="needs the SHA-256 of every data asset"):
        build_manifest(
            package,
            inputs,
            assets=digests,
            model_data=[None],
            endpoint_config={},
            use_case={},
            suite_version="1.0.0",
            risk_level="Low",
            overrides={},
            thresholds={},
        )
    manifest = _manifest(package)
    del manifest["assets"]["RISK_TEST_SCHEMA"]["sha256"]
    with pytest.raises(ConfigurationError, match=r"RISK_TEST_SCHEMA .* without a SHA-256.*new snapshot"):
        risk_test_plan(manifest, snapshot="3")
    with pytest.raises(ConfigurationError, match="manifest version 1; this code reads versions 2 and 3"):
        risk_test_plan({**manifest, "manifest_version": 1}, snapshot="4")


def test_a_version_2_manifest_still_runs_the_risk_tests() -> None:
    manifest = _manifest(_package())
    older = {**manifest, "manifest_version": 2, "model_package": dict(manifest["model_package"])}
    del older["model_package"]["model_card"], older["model_package"]["model_metrics"]
    assert risk_test_plan(older, snapshot="5").pins == risk_test_plan(manifest, snapshot="6").pins


#: A card as SageMaker holds it after governance wrote into it: the data scientist's sections plus
#: governance's owned fields, evaluation entry, custom details and the legacy top-level key.
_DS_CARD = {
    "model_overview": {"model_creator": "ds-team"},
    "intended_uses": {"intended_uses": "batch scoring", "risk_rating": "Low"},
    "training_details": {"training_observations": "3 epochs"},
    "evaluation_details": [{"name": "holdout", "metric_groups": []}],
    "additional_information": {"custom_details": {"owner_team": "churn-ds"}},
}


def _governed(content: dict[str, Any], details: dict[str, str]) -> dict[str, Any]:
    card = json.loads(json.dumps(content))
    card["model_overview"]["model_artifact"] = ["s3://models/churn/3/model.tar.gz"]
    card["intended_uses"]["risk_rating"] = "High"
    card["intended_uses"]["explanations_for_risk_rating"] = "rated High in the inventory"
    card["evaluation_details"].append({"name": GOVERNANCE_EVALUATION, "metric_groups": []})
    card["additional_information"]["custom_details"].update(details)
    card["governance"] = {"old": "layout"}
    return card


def test_the_manifest_records_the_data_scientists_card_and_metrics_pointers() -> None:
    digest = "sha256:" + "ab" * 32
    package = _package()
    package["ModelCard"] = {"ModelCardContent": json.dumps(_DS_CARD), "ModelCardStatus": "Draft"}
    package["ModelMetrics"] = {
        "Bias": {"Report": {"ContentType": "application/json", "S3Uri": "s3://reports/bias.json"}},
        "ModelQuality": {
            "Statistics": {
                "ContentType": "application/json",
                "ContentDigest": digest,
                "S3Uri": "s3://reports/quality.json",
            }
        },
    }
    manifest = _manifest(package)
    recorded = manifest["model_package"]
    expected_card = json.loads(json.dumps(_DS_CARD))
    del expected_card["intended_uses"]["risk_rating"]  # governance owns the rating
    assert recorded["model_card"] == {"content": expected_card}
    assert recorded["model_metrics"] == [
        {
            "report": "ModelQuality.Statistics",
            "uri": "s3://reports/quality.json",
            "content_type": "application/json",
            "content_digest": digest,
        },
        {
            "report": "Bias.Report",
            "uri": "s3://reports/bias.json",
            "content_type": "application/json",
            "content_digest": None,
        },
    ]
    # What governance writes into the card (links, owned fields, its evaluation) does not change the hash.
    links = GovernanceLinks(1, 2, "Validation Complete", "ab" * 32, ("MLC-1",), "https://x/models/2")
    details = {
        **links.card_details(),
        **custom_details(
            CardFacts(
                ARN,
                "churn",
                "High",
                package_group="churn",
                package_version=3,
                snapshot="ab" * 32,
                risk_report_uri="s3://gov/r.json",
            )
        ),
        "review_approved_in": "MLC-9",
        "review_document:text/html": "cd" * 32,
    }
    written = _governed(_DS_CARD, details)
    governed = {**package, "ModelCard": {"ModelCardContent": json.dumps(written), "ModelCardStatus": "Draft"}}
    assert content_hash(_manifest(governed)) == content_hash(manifest)
    changed = json.loads(json.dumps(_DS_CARD))
    changed["training_details"]["training_observations"] = "5 epochs"
    edited = {**package, "ModelCard": {"ModelCardContent": json.dumps(changed), "ModelCardStatus": "Draft"}}
    assert content_hash(_manifest(edited)) != content_hash(manifest), "the data scientist's edit counts"


def test_a_package_without_card_or_metrics_records_none() -> None:
    recorded = _manifest(_package())["model_package"]
    assert recorded["model_card"] is None and recorded["model_metrics"] == []
    only_governance = _package()
    only_governance["ModelCard"] = {
        "ModelCardContent": json.dumps({"additional_information": {"custom_details": {"model_id": "2"}}}),
        "ModelCardStatus": "PendingReview",
    }
    assert _manifest(only_governance)["model_package"]["model_card"] == {"content": {}}


def test_a_snapshot_retaken_after_the_review_is_the_same_snapshot() -> None:
    """A cleared DAG run retakes the snapshot after governance filled the card at the review: the card's
    empty fields governance filled, and the status it moved to Approved, leave the hash as it was."""
    package = _package()
    package["ModelCard"] = {"ModelCardContent": json.dumps(_DS_CARD), "ModelCardStatus": "Draft"}
    facts = CardFacts(
        ARN,
        "churn",
        "Low",
        use_case_description="Predict churn",
        owner="owner@example.com",
        business_entity="retail-bank",
        package_description="churn model",
    )
    fills = governance_fills(facts)
    before = _manifest(package, card_fills=fills)
    filled = merge_content(_DS_CARD, governance_sections(facts))
    assert filled["business_details"]["line_of_business"] == "retail-bank"
    assert filled["intended_uses"]["purpose_of_model"] == "Predict churn"
    package["ModelCard"] = {"ModelCardContent": json.dumps(filled), "ModelCardStatus": "Approved"}
    assert content_hash(_manifest(package, card_fills=fills)) == content_hash(before)
    # The data scientist's own business details are theirs, and count.
    own = json.loads(json.dumps(filled))
    own["business_details"]["line_of_business"] = "cards"
    package["ModelCard"] = {"ModelCardContent": json.dumps(own), "ModelCardStatus": "Approved"}
    assert content_hash(_manifest(package, card_fills=fills)) != content_hash(before)
