"""The Processing job request with pinned data: no ProcessingInput for a pinned object (SageMaker would read
its latest version); the container gets the URI, VersionId and SHA-256 instead."""

from __future__ import annotations

import pytest

from model_governance.exceptions import ConfigurationError
from model_governance.pinned_data import DataPin
from model_governance.snapshots import S3Location
from model_governance.workloads import ProcessingSettings, risk_test_job_request

SETTINGS = ProcessingSettings(image_uri="img:1", role_arn="arn:aws:iam::123456789012:role/r")


def _request(**pins: DataPin) -> dict[str, object]:
    return risk_test_job_request(
        job_name="mg-risk-tests-x-1",
        settings=SETTINGS,
        baseline=S3Location("data", "base.parquet"),
        comparator=S3Location("data", "comp.parquet"),
        schema=S3Location("data", "schema.json"),
        risk_level="High",
        output_bucket="gov",
        thresholds=S3Location("gov", "risk-tests/thresholds/ab.json"),
        pins=pins,
    )


def test_pinned_inputs_are_read_by_the_container_at_their_version() -> None:
    base = DataPin("BASELINE_DATA", "s3://data/base.parquet", "a" * 64, version_id="v-base")
    schema = DataPin("RISK_TEST_SCHEMA", "s3://data/schema.json", "c" * 64)
    request = _request(baseline=base, schema=schema)
    names = [item["InputName"] for item in request["ProcessingInputs"]]  # type: ignore[attr-defined]
    assert names == ["comparator", "thresholds"], "an unpinned input is still a ProcessingInput"
    args = request["AppSpecification"]["ContainerArguments"]  # type: ignore[index]
    at = args.index("--baseline")
    assert args[at : at + 6] == [
        "--baseline",
        "s3://data/base.parquet",
        "--baseline-sha256",
        "a" * 64,
        "--baseline-version-id",
        "v-base",
    ]
    at = args.index("--schema")
    assert args[at : at + 4] == ["--schema", "s3://data/schema.json", "--schema-sha256", "c" * 64]
    assert "--schema-version-id" not in args, "an unversioned bucket: the digest is the pin"


def test_a_uri_longer_than_a_container_argument_is_refused_naming_the_asset() -> None:
    long_key = "x/" * 130 + "base.parquet"
    pin = DataPin("BASELINE_DATA", f"s3://data/{long_key}", "a" * 64)
    with pytest.raises(ConfigurationError, match=r"BASELINE_DATA s3://data/x/.* at most 256 characters"):
        _request(baseline=pin)
