"""CreateSnapshotOperator against the AWS sandbox and a SQLite inventory: the manifest pins real S3 objects
and a real endpoint configuration, is stored once under its hash, and bad metadata fails before any write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model_governance.exceptions import InvalidInputError
from model_governance.inventory import Snapshot
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.risk_tests import ENGINE_VERSION
from tests.integration.mlc.conftest import GovernedModel

pytestmark = pytest.mark.integration


def _snapshot(model: GovernedModel, run_id: str | None = None) -> dict[str, object]:
    operator = CreateSnapshotOperator(task_id="create_snapshot", model_id=model.model_id)
    return operator.execute(model.context("create_snapshot", run_id))  # type: ignore[arg-type]


def _snapshot_rows(model: GovernedModel) -> int:
    with Session(model.inventory.engine) as session:
        return int(session.scalar(select(func.count()).select_from(Snapshot)) or 0)


def test_snapshot_pins_package_data_and_endpoint_config(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    s3, sagemaker = model.aws.s3, model.aws.sagemaker
    result = _snapshot(model)

    digest = str(result["content_hash"])
    uri = f"s3://{model.governance_bucket}/snapshots/{model.group}/1/{digest}.json"
    assert result["uri"] == uri
    stored = s3.get_object(Bucket=model.governance_bucket, Key=uri.split("/", 3)[3])["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == digest, "the object's bytes hash to its name"
    manifest = json.loads(stored)
    assert stored == json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode(), "canonical JSON"

    for role in ("BASELINE_DATA", "COMPARATOR_DATA", "RISK_TEST_SCHEMA"):
        bucket, key = model.metadata[role][len("s3://") :].split("/", 1)
        head = s3.head_object(Bucket=bucket, Key=key)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert manifest["assets"][role] == {
            "uri": model.metadata[role],
            "etag": head["ETag"].strip('"'),
            "size": head["ContentLength"],
            "version_id": None,
            "sha256": hashlib.sha256(body).hexdigest(),
        }, "an unversioned bucket: pinned by the bytes' SHA-256"
    package = manifest["model_package"]
    assert (package["arn"], package["group"], package["version"]) == (model.package_arn, model.group, 1)
    assert package["description"] == "churn classifier v1" and package["creation_time"].endswith("+00:00")
    container = package["inference_containers"][0]
    assert container["image"].endswith("/churn:1")
    assert container["model_data"]["size"] == len(b"model weights")
    assert manifest["endpoint_config_name"] == model.endpoint_config
    assert manifest["endpoint_config"]["arn"].endswith(f"endpoint-config/{model.endpoint_config}")
    assert manifest["endpoint_config"]["production_variants"][0]["InstanceType"] == "ml.m5.large"
    assert manifest["risk_test_suite_version"] == ENGINE_VERSION
    risk = manifest["risk_tests"]
    assert risk["risk_level"] == "High" and risk["threshold_overrides"] == {
        "bias.ppr_disparity": [0.5, 2.0],
        "performance.auc": 0.6,
    }
    assert risk["thresholds"]["bounds"]["performance.auc"]["low"] == 0.6, "the configured override applies"
    assert manifest["use_case"]["risk_level"] == "High"

    record = model.inventory.get_snapshot(int(str(result["snapshot_id"])))
    assert (record.content_hash, record.uri, record.manifest) == (digest, uri, manifest)
    described = sagemaker.describe_model_package(ModelPackageName=model.package_arn)
    assert described["CustomerMetadataProperties"]["governance:snapshot"] == digest
    assert described["CustomerMetadataProperties"]["team"] == "data-science", "other metadata is kept"
    assert "governance:snapshot" not in package["customer_metadata"]


def test_rerun_and_retry_create_nothing_new(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    sandbox = model.aws.sandbox
    first = _snapshot(model, run_id="run-1")
    puts, updates = (
        sandbox.request_count("s3:PutObject"),
        sandbox.request_count("sagemaker:UpdateModelPackage"),
    )
    retried = _snapshot(model, run_id="run-1")
    rerun = _snapshot(model, run_id="run-2")
    assert first == retried == rerun, "same model, same data: same snapshot"
    assert sandbox.request_count("s3:PutObject") == puts, "the manifest is put once"
    assert sandbox.request_count("sagemaker:UpdateModelPackage") == updates == 1, "metadata written once"
    versions = model.aws.s3.list_object_versions(Bucket=model.governance_bucket).get("Versions", [])
    assert len(versions) == 1 and _snapshot_rows(model) == 1


def test_changed_data_is_a_new_snapshot(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    first = _snapshot(model)
    model.put("churn/baseline.parquet", b"PAR1 a different baseline")
    second = _snapshot(model)
    assert second["content_hash"] != first["content_hash"] and second["snapshot_id"] != first["snapshot_id"]
    metadata = model.aws.sagemaker.describe_model_package(ModelPackageName=model.package_arn)
    assert metadata["CustomerMetadataProperties"]["governance:snapshot"] == second["content_hash"]
    assert len(model.governance_objects()) == 2 and _snapshot_rows(model) == 2


def _assert_nothing_written(model: GovernedModel) -> None:
    assert model.governance_objects() == [] and _snapshot_rows(model) == 0
    metadata = model.aws.sagemaker.describe_model_package(ModelPackageName=model.package_arn)
    assert "governance:snapshot" not in metadata["CustomerMetadataProperties"]


def test_missing_baseline_key_is_named(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model(metadata={"BASELINE_DATA": None})
    with pytest.raises(
        InvalidInputError, match=r"has no customer metadata key BASELINE_DATA; set BASELINE_DATA"
    ):
        _snapshot(model)
    _assert_nothing_written(model)


def test_missing_comparator_object_names_key_and_uri(make_model: Callable[..., GovernedModel]) -> None:
    probe = make_model()
    absent = f"s3://{probe.data_bucket}/churn/absent.parquet"
    model = make_model(metadata={"COMPARATOR_DATA": absent})
    with pytest.raises(InvalidInputError) as error:
        _snapshot(model)
    assert "COMPARATOR_DATA" in str(error.value) and absent in str(error.value)
    assert "does not exist" in str(error.value)
    _assert_nothing_written(model)


def test_metadata_that_is_not_an_s3_uri_is_refused(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model(metadata={"RISK_TEST_SCHEMA": "https://example.com/schema.json"})
    with pytest.raises(
        InvalidInputError, match=r"RISK_TEST_SCHEMA of model package .* not an s3://bucket/key URI"
    ):
        _snapshot(model)
    _assert_nothing_written(model)


def test_missing_endpoint_config_is_named(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model(endpoint_config=False)
    with pytest.raises(InvalidInputError) as error:
        _snapshot(model)
    message = str(error.value)
    assert "ENDPOINT_CONFIG" in message and repr(model.endpoint_config) in message
    assert "does not exist in SageMaker" in message
    _assert_nothing_written(model)


def test_snapshot_pins_version_ids_on_a_versioned_bucket(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    s3 = model.aws.s3
    s3.put_bucket_versioning(Bucket=model.data_bucket, VersioningConfiguration={"Status": "Enabled"})
    versions = {}
    for role in ("BASELINE_DATA", "COMPARATOR_DATA", "RISK_TEST_SCHEMA"):
        key = model.metadata[role].split("/", 3)[3]
        body = s3.get_object(Bucket=model.data_bucket, Key=key)["Body"].read()
        versions[role] = (s3.put_object(Bucket=model.data_bucket, Key=key, Body=body)["VersionId"], body)
    manifest = model.inventory.get_snapshot(int(str(_snapshot(model)["snapshot_id"]))).manifest
    for role, (version_id, body) in versions.items():
        asset = manifest["assets"][role]
        assert asset["version_id"] == version_id, f"{role} is pinned by its VersionId"
        assert asset["sha256"] == hashlib.sha256(body).hexdigest() and asset["size"] == len(body)
    model_data = manifest["model_package"]["inference_containers"][0]["model_data"]
    assert "sha256" not in model_data, "model artifacts are pinned by ETag and version, not hashed"
