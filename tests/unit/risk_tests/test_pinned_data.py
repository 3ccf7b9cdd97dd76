"""``model_governance.pinned_data`` without a network: botocore's Stubber answers GetObject / HeadObject as
S3 does (bodies streamed, NoSuchVersion, 404 for a gone version on HEAD), and the errors name the asset,
what the snapshot expected, what was found, and the fix."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from model_governance.exceptions import InvalidInputError, PinnedDataChangedError, RegistryError
from model_governance.pinned_data import DataPin, check_pinned, fetch_pinned, object_sha256

BODY = b"label,score\n1,0.9\n" * 1000
SHA = hashlib.sha256(BODY).hexdigest()
URI = "s3://data-bucket/churn/comparator.csv"


@pytest.fixture
def s3() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def _get(stubber: Stubber, data: bytes, version: str | None = None, **expected: str) -> None:
    answer = {"Body": _body(data), "ETag": '"e1"', "ContentLength": len(data)}
    if version:
        answer["VersionId"] = version
    stubber.add_response(
        "get_object", answer, {"Bucket": "data-bucket", "Key": "churn/comparator.csv", **expected}
    )


def test_the_pinned_version_is_read_and_verified(s3: tuple[object, Stubber], tmp_path: Path) -> None:
    client, stubber = s3
    pin = DataPin("COMPARATOR_DATA", URI, SHA, version_id="v1", etag="e1", size=len(BODY))
    _get(stubber, BODY, "v1", VersionId="v1")
    fetched = fetch_pinned(client, pin, tmp_path / "comparator.csv")
    assert fetched.path.read_bytes() == BODY and (fetched.sha256, fetched.version_id) == (SHA, "v1")
    assert fetched.provenance() == {
        "source": URI,
        "etag": "e1",
        "size": len(BODY),
        "version_id": "v1",
        "sha256": SHA,
        "matches_snapshot": True,
    }


def test_other_bytes_are_refused_and_the_copy_removed(s3: tuple[object, Stubber], tmp_path: Path) -> None:
    client, stubber = s3
    pin = DataPin("COMPARATOR_DATA", URI, SHA)  # an unversioned bucket: the digest is the only proof
    _get(stubber, b"label,score\n0,0.1\n")
    target = tmp_path / "comparator.csv"
    with pytest.raises(PinnedDataChangedError) as refused:
        fetch_pinned(client, pin, target)
    message = str(refused.value)
    assert message.startswith(f"COMPARATOR_DATA {URI} changed since the snapshot was taken: expected SHA-256")
    assert f"{SHA} (unversioned bucket), found SHA-256 " in message and "(18 bytes)" in message
    assert "register a new model version" in message and "Restore that object version" in message
    assert not target.exists(), "nothing of the changed data is left to test"


def test_a_deleted_version_is_refused(s3: tuple[object, Stubber], tmp_path: Path) -> None:
    client, stubber = s3
    pin = DataPin("BASELINE_DATA", URI, SHA, version_id="v1")
    stubber.add_client_error("get_object", "NoSuchVersion", "The specified version does not exist.", 404)
    with pytest.raises(PinnedDataChangedError, match=r"found no version v1 \(NoSuchVersion"):
        fetch_pinned(client, pin, tmp_path / "base.csv")


def test_access_denied_is_a_registry_error_naming_the_permission(
    s3: tuple[object, Stubber], tmp_path: Path
) -> None:
    client, stubber = s3
    pin = DataPin("BASELINE_DATA", URI, SHA, version_id="v1")
    stubber.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
    with pytest.raises(RegistryError, match="s3:GetObject and s3:GetObjectVersion"):
        fetch_pinned(client, pin, tmp_path / "base.csv", conn_id="aws_x")


def test_check_before_a_job(s3: tuple[object, Stubber]) -> None:
    client, stubber = s3
    key = {"Bucket": "data-bucket", "Key": "churn/comparator.csv"}
    versioned = DataPin("COMPARATOR_DATA", URI, SHA, version_id="v1", etag="e1", size=len(BODY))
    stubber.add_response(
        "head_object",
        {"ETag": '"e1"', "ContentLength": len(BODY), "VersionId": "v1"},
        {**key, "VersionId": "v1"},
    )
    assert check_pinned(client, versioned) is True
    stubber.add_client_error("head_object", "404", "Not Found", 404)
    with pytest.raises(PinnedDataChangedError, match="found no version v1"):
        check_pinned(client, versioned)
    unversioned = DataPin("COMPARATOR_DATA", URI, SHA, etag="e1", size=len(BODY))
    stubber.add_response("head_object", {"ETag": '"e2"', "ContentLength": 5}, key)
    with pytest.raises(PinnedDataChangedError, match=f"found 5 bytes, not {len(BODY)}"):
        check_pinned(client, unversioned)
    stubber.add_response("head_object", {"ETag": '"e2"', "ContentLength": len(BODY)}, key)
    assert check_pinned(client, unversioned) is False, "same size, new ETag: only the bytes can tell"


def test_hashing_for_the_snapshot_reads_what_head_described(s3: tuple[object, Stubber]) -> None:
    client, stubber = s3
    _get(stubber, BODY, IfMatch='"e1"')
    assert (
        object_sha256(client, "data-bucket", "churn/comparator.csv", version_id=None, etag="e1", what="x")
        == SHA
    )
    stubber.add_client_error("get_object", "PreconditionFailed", "At least one of the pre-conditions", 412)
    with pytest.raises(RegistryError, match="overwritten while it was being hashed"):
        object_sha256(client, "data-bucket", "churn/comparator.csv", version_id=None, etag="e1", what="x")


def test_a_pin_needs_a_sha256_and_an_s3_uri() -> None:
    with pytest.raises(InvalidInputError, match="without a SHA-256"):
        DataPin("BASELINE_DATA", URI, "")
    with pytest.raises(InvalidInputError, match="not an s3://bucket/key URI"):
        DataPin("BASELINE_DATA", "/tmp/base.csv", SHA)
    pin = DataPin.from_asset("BASELINE_DATA", {"uri": URI, "sha256": SHA, "version_id": "null", "size": 3})
    assert (pin.bucket, pin.key, pin.version_id, pin.size) == ("data-bucket", "churn/comparator.csv", None, 3)
