"""Store a rendered document in S3 under its snapshot, keyed by content hash, and record it.

Idempotent by construction: the key is ``<snapshot prefix>/documents/<kind>/<sha256>.<ext>``, put once
through the evidence store (``services.evidence_store``: looked up before it is put, never overwritten),
and the inventory record is unique by hash. A retried task, or the same document rendered again from the
same inputs, writes nothing twice.

The caller passes the S3 client (only hooks open connections): a boto3 S3 client, or anything with
``head_object`` and ``put_object`` of the same signature.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from model_governance.documents.review import RenderedDocument
from model_governance.exceptions import InvalidInputError
from model_governance.services.evidence_store import EvidenceStore

if TYPE_CHECKING:
    from model_governance.inventory import Document, Inventory, Model

__all__ = ["StoredDocument", "document_key", "keep_document", "store_document"]

_EXTENSIONS = {"html": "html", "markdown": "md", "pdf": "pdf"}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


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
    store = EvidenceStore(s3_client, bucket)  # type: ignore[arg-type]
    return keep_document(store, snapshot_prefix, rendered, inventory, model, snapshot_id)


def keep_document(
    store: EvidenceStore,
    snapshot_prefix: str,
    rendered: RenderedDocument,
    inventory: Inventory,
    model: int | str | Model,
    snapshot_id: int | None,
) -> StoredDocument:
    """``store_document`` through an evidence store (the governance bucket on a task's connection)."""
    if not isinstance(rendered, RenderedDocument):
        raise InvalidInputError(f"store_document needs a RenderedDocument, got {type(rendered).__name__}.")
    if hashlib.sha256(rendered.content).hexdigest() != rendered.sha256:
        raise InvalidInputError(
            f"Document {rendered.filename!r} does not match its sha256 {rendered.sha256}; render it again."
        )
    if not _BUCKET.match(store.bucket or ""):
        raise InvalidInputError(f"Bucket {store.bucket!r} is not an S3 bucket name; set governance_bucket.")
    stored = store.put(
        document_key(snapshot_prefix, rendered),
        rendered.content,
        what=f"the document {rendered.filename!r}",
        content_type=rendered.media_type,
        disposition=f'inline; filename="{rendered.filename}"',
        metadata={"body-sha256": rendered.body_sha256, "kind": rendered.kind, "size": str(rendered.size)},
    )
    document = inventory.record_document(
        model,
        kind=rendered.kind,
        media_type=rendered.media_type,
        sha256=rendered.sha256,
        uri=stored.uri,
        snapshot_id=snapshot_id,
        size=len(rendered.content),
    )
    return StoredDocument(
        uri=stored.uri, bucket=stored.bucket, key=stored.key, created=stored.created, document=document
    )
