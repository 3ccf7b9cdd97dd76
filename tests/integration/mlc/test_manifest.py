"""The pure manifest functions (no server): canonical bytes, hashes, metadata checks, report keys."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from model_governance.exceptions import ConfigurationError, InvalidInputError
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


def _manifest(package: dict[str, Any], *, version_id: str | None = None) -> dict[str, Any]:
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
    assert manifest["manifest_version"] == 2
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
    with pytest.raises(ConfigurationError, match="manifest version 1; this code reads version 2"):
        risk_test_plan({**manifest, "manifest_version": 1}, snapshot="4")
