"""Store a rendered document in S3 under its snapshot, keyed by content hash, and record it.

Idempotent by construction: the key is ``<snapshot prefix>/documents/<kind>/<sha256>.<ext>``, looked up
with ``head_object`` before any ``put_object``, and the inventory record is unique by hash. A retried
task, or the same document rendered again from the same inputs, writes nothing twice.

The caller passes the S3 client (only hooks open connections): a boto3 S3 client, or anything with
``head_object`` and ``put_object`` of the same signature.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from model_governance.documents.review import RenderedDocument
from model_governance.exceptions import InvalidInputError, RegistryError

if TYPE_CHECKING:
    from model_governance.inventory import Document, Inventory, Model

__all__ = ["StoredDocument", "document_key", "store_document"]

_EXTENSIONS = {"html": "html", "markdown": "md", "pdf": "pdf"}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3Client(Protocol):
    def head_object(self, **kwargs: Any) -> Any: ...

    def put_object(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class StoredDocument:
    uri: str
    bucket: str
    key: str
    #: False when the object was already there (a retry or an identical re-render).
    created: bool
    document: Document


def document_key(snapshot_prefix: str, rendered: RenderedDocument) -> str:
    """The object key of ``rendered`` under ``snapshot_prefix`` (a key prefix, not an s3:// URI)."""
    prefix = (snapshot_prefix or "").strip()
    if prefix.startswith("s3://") or prefix.startswith("/") or not prefix or ".." in prefix.split("/"):
        raise InvalidInputError(
            f"snapshot_prefix {snapshot_prefix!r} must be an S3 key prefix such as "
            "'snapshots/<group>/<version>/<hash>' (no s3://, no leading '/', no '..')."
        )
    return f"{prefix.rstrip('/')}/documents/{rendered.kind}/{rendered.sha256}.{_EXTENSIONS[rendered.format]}"


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _exists(s3: S3Client, bucket: str, key: str, sha256: str) -> bool:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if _error_code(exc) in _NOT_FOUND:
            return False
        raise RegistryError(
            f"Could not look up s3://{bucket}/{key} ({_error_code(exc) or type(exc).__name__}: {exc}); "
            "check the task's AWS role may s3:GetObject on the governance bucket, then retry."
        ) from exc
    stored = (head.get("Metadata") or {}).get("sha256")
    if stored not in (None, sha256):
        raise RegistryError(
            f"s3://{bucket}/{key} exists with sha256 metadata {stored!r}, not {sha256!r}: the object was "
            "changed outside model governance. Investigate it; it is not overwritten."
        )
    return True


def store_document(
    s3_client: S3Client,
    bucket: str,
    snapshot_prefix: str,
    rendered: RenderedDocument,
    inventory: Inventory,
    model: int | str | Model,
    snapshot_id: int | None,
) -> StoredDocument:
    """Put ``rendered`` in ``bucket`` under the snapshot prefix (once) and record it in the inventory."""
    if not isinstance(rendered, RenderedDocument):
        raise InvalidInputError(f"store_document needs a RenderedDocument, got {type(rendered).__name__}.")
    if hashlib.sha256(rendered.content).hexdigest() != rendered.sha256:
        raise InvalidInputError(
            f"Document {rendered.filename!r} does not match its sha256 {rendered.sha256}; render it again."
        )
    if not _BUCKET.match(bucket or ""):
        raise InvalidInputError(f"Bucket {bucket!r} is not an S3 bucket name; set governance_bucket.")
    key = document_key(snapshot_prefix, rendered)
    created = False
    if not _exists(s3_client, bucket, key, rendered.sha256):
        checksum = base64.b64encode(hashlib.sha256(rendered.content).digest()).decode("ascii")
        try:
            s3_client.put_object(
                Bucket=bucket,
                Key=key,
                Body=rendered.content,
                ContentType=rendered.media_type,
                ContentDisposition=f'inline; filename="{rendered.filename}"',
                ChecksumSHA256=checksum,
                Metadata={
                    "sha256": rendered.sha256,
                    "body-sha256": rendered.body_sha256,
                    "kind": rendered.kind,
                    "size": str(rendered.size),
                },
            )
        except Exception as exc:
            raise RegistryError(
                f"Could not store {rendered.filename!r} at s3://{bucket}/{key} "
                f"({_error_code(exc) or type(exc).__name__}: {exc}); check the task's AWS role may "
                "s3:PutObject on the governance bucket, then retry (storing is idempotent)."
            ) from exc
        created = True
    uri = f"s3://{bucket}/{key}"
    document = inventory.record_document(
        model,
        kind=rendered.kind,
        media_type=rendered.media_type,
        sha256=rendered.sha256,
        uri=uri,
        snapshot_id=snapshot_id,
        size=len(rendered.content),
    )
    return StoredDocument(uri=uri, bucket=bucket, key=key, created=created, document=document)
