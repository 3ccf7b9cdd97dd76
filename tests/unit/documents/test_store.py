"""Storing a rendered document: S3 under the snapshot prefix keyed by hash (moto), recorded in a SQLite
inventory; idempotent across retries."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model_governance.documents import RenderedDocument, render_review_document
from model_governance.documents.store import document_key, store_document
from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.inventory import Document, Inventory
from model_governance.lifecycle import GovernanceStatus
from tests.unit.documents import builders

BUCKET = "model-governance-artifacts"
PREFIX = f"snapshots/churn-model/3/{builders.SNAPSHOT_HASH}"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def inventory(tmp_path: Path) -> tuple[Inventory, int, int]:
    inv = Inventory.from_url(f"sqlite:///{tmp_path / 'inventory.db'}", upgrade_schema=True)
    inv.ensure_business_entity(
        name="telco-eu", account_id="123456789012", region="us-east-1", aws_conn_id="aws"
    )
    use_case = inv.create_use_case(business_entity="telco-eu", name="churn", risk_level="High", owner="ana")
    inv.link_model_group(use_case_id=use_case.id, name="churn-model", arn=builders.GROUP_ARN)
    model, _ = inv.upsert_model(
        package_arn=builders.PACKAGE_ARN,
        status=GovernanceStatus.PRE_IMPLEMENTATION_REVIEW,
        actor="test",
        reason="onboarded",
    )
    snapshot = inv.record_snapshot(
        model.id,
        content_hash=builders.SNAPSHOT_HASH,
        uri=f"s3://{BUCKET}/{PREFIX}/manifest.json",
        manifest={},
    )
    return inv, model.id, snapshot.id


@pytest.fixture(scope="module")
def documents() -> dict[str, RenderedDocument]:
    return render_review_document(builders.review_context(), formats=("html", "markdown"))


def _count_documents(inv: Inventory) -> int:
    with Session(inv.engine) as session:
        return int(session.scalar(select(func.count()).select_from(Document)) or 0)


def test_stores_under_the_snapshot_prefix_keyed_by_hash_and_records_it(
    s3: Any, inventory: tuple[Inventory, int, int], documents: dict[str, RenderedDocument]
) -> None:
    inv, model_id, snapshot_id = inventory
    html = documents["html"]
    stored = store_document(s3, BUCKET, PREFIX, html, inv, model_id, snapshot_id)
    assert stored.created
    assert stored.key == f"{PREFIX}/documents/model_review/{html.sha256}.html"
    assert stored.uri == f"s3://{BUCKET}/{stored.key}"
    obj = s3.get_object(Bucket=BUCKET, Key=stored.key)
    body = obj["Body"].read()
    assert body == html.content and hashlib.sha256(body).hexdigest() == html.sha256
    assert obj["ContentType"] == "text/html; charset=utf-8"
    assert obj["Metadata"] == {
        "sha256": html.sha256,
        "body-sha256": html.body_sha256,
        "kind": "model_review",
        "size": str(len(html.content)),
    }
    record = stored.document
    assert (record.model_id, record.snapshot_id, record.kind) == (model_id, snapshot_id, "model_review")
    assert (record.sha256, record.media_type, record.uri) == (html.sha256, html.media_type, stored.uri)


def test_storing_again_writes_nothing_twice(
    s3: Any, inventory: tuple[Inventory, int, int], documents: dict[str, RenderedDocument]
) -> None:
    inv, model_id, snapshot_id = inventory
    first = store_document(s3, BUCKET, PREFIX, documents["markdown"], inv, model_id, snapshot_id)
    again = store_document(s3, BUCKET, PREFIX + "/", documents["markdown"], inv, model_id, snapshot_id)
    assert first.created and not again.created
    assert again.key == first.key and again.document.id == first.document.id
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=PREFIX)
    assert len(listed.get("Versions", [])) == 1
    assert _count_documents(inv) == 1
    # Each format is its own object and record.
    store_document(s3, BUCKET, PREFIX, documents["html"], inv, model_id, snapshot_id)
    assert _count_documents(inv) == 2


def test_an_object_changed_outside_governance_is_not_overwritten(
    s3: Any, inventory: tuple[Inventory, int, int], documents: dict[str, RenderedDocument]
) -> None:
    inv, model_id, snapshot_id = inventory
    html = documents["html"]
    key = document_key(PREFIX, html)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"tampered", Metadata={"sha256": "0" * 64})
    with pytest.raises(RegistryError, match="changed outside"):
        store_document(s3, BUCKET, PREFIX, html, inv, model_id, snapshot_id)
    assert _count_documents(inv) == 0


def test_s3_errors_are_registry_errors_naming_the_object(
    inventory: tuple[Inventory, int, int], documents: dict[str, RenderedDocument]
) -> None:
    inv, model_id, snapshot_id = inventory
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")  # the bucket does not exist
        with pytest.raises(RegistryError, match=f"s3://{BUCKET}/{PREFIX}/documents/model_review/"):
            store_document(client, BUCKET, PREFIX, documents["html"], inv, model_id, snapshot_id)
    assert _count_documents(inv) == 0


def test_the_checksum_lets_s3_verify_the_upload(documents: dict[str, RenderedDocument]) -> None:
    html = documents["html"]
    calls: list[dict[str, Any]] = []

    class Recorder:
        def head_object(self, **kwargs: Any) -> Any:
            raise _NotFound()

        def put_object(self, **kwargs: Any) -> Any:
            calls.append(kwargs)
            return {}

    class FakeInventory:
        def record_document(self, model: Any, **kwargs: Any) -> Any:
            return kwargs

    store_document(Recorder(), BUCKET, PREFIX, html, FakeInventory(), 1, None)  # type: ignore[arg-type]
    assert calls[0]["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(html.content).digest()).decode()


class _NotFound(Exception):
    response = {"Error": {"Code": "404"}}  # noqa: RUF012


@pytest.mark.parametrize("prefix", ["", f"s3://{BUCKET}/x", "/abs/path", "snapshots/../other"])
def test_bad_prefixes_are_refused(prefix: str, documents: dict[str, RenderedDocument]) -> None:
    with pytest.raises(InvalidInputError, match="snapshot_prefix"):
        document_key(prefix, documents["html"])


def test_a_document_whose_bytes_do_not_match_its_hash_is_refused(
    s3: Any, inventory: tuple[Inventory, int, int], documents: dict[str, RenderedDocument]
) -> None:
    inv, model_id, snapshot_id = inventory
    broken = replace(documents["html"], content=documents["html"].content + b" ")
    with pytest.raises(InvalidInputError, match="does not match"):
        store_document(s3, BUCKET, PREFIX, broken, inv, model_id, snapshot_id)
