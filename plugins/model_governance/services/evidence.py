"""Evidence that holds up outside the database: audit chain anchors in S3, and keyring sources.

The inventory chains every governance fact (inventory/audit.py) and, with each decision, anchors the chain
head here: one object per chain head, ``<prefix>/<chain>/<seq>.json`` in the governance bucket, written
once and never overwritten (the bucket should have versioning and S3 Object Lock in compliance mode: see
docs/evidence.md). A database rolled back or restored from an older backup then ends before the newest
anchor, and ``Inventory.verify_audit_trail`` says so.

No Airflow import: the hook (hooks/inventory.py) passes in the S3 client and the key it fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from model_governance.exceptions import ConfigurationError, RegistryError
from model_governance.inventory.audit import AUDIT_CONN_ID, Anchor, AuditKeyring

ANCHOR_PREFIX = "audit-anchors"
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def anchor_key(chain: str, seq: int, prefix: str = ANCHOR_PREFIX) -> str:
    # Zero-padded so the keys list in seq order: the newest anchor is the last key.
    return f"{prefix}/{chain}/{seq:012d}.json"


class S3AnchorStore:
    """Chain heads in S3. ``client`` is a boto3 S3 client, or a callable returning one (opened lazily)."""

    def __init__(self, client: Any | Callable[[], Any], bucket: str, *, prefix: str = ANCHOR_PREFIX) -> None:
        self._client_source = client
        self._client: Any = None
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @property
    def client(self) -> Any:
        if self._client is None:
            source = self._client_source
            self._client = source() if callable(source) and not hasattr(source, "put_object") else source
        return self._client

    def put(self, anchor: Anchor) -> None:
        """Write the anchor once: an anchor already there for this seq is left as it is (a retry)."""
        key = anchor_key(anchor.chain, anchor.seq, self.prefix)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return
        except Exception as exc:
            if _code(exc) not in _MISSING:
                raise RegistryError(
                    f"Could not read audit anchor s3://{self.bucket}/{key}: {exc}. Check the governance "
                    "bucket and the connection's s3:GetObject permission."
                ) from exc
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=anchor.to_json().encode("utf-8"),
                ContentType="application/json",
            )
        except Exception as exc:
            raise RegistryError(
                f"Could not write audit anchor s3://{self.bucket}/{key}: {exc}. The decision is recorded in "
                "the inventory; the next decision (or a retry of this task) anchors the chain again."
            ) from exc

    def anchors(self, chain: str) -> list[Anchor]:
        """Every anchor of ``chain``, oldest first."""
        prefix = f"{self.prefix}/{chain}/"
        found: list[Anchor] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.client.list_objects_v2(**kwargs)
            for item in page.get("Contents", []):
                body = self.client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                found.append(Anchor.from_json(body))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
        return sorted(found, key=lambda anchor: anchor.seq)

    def newest(self, chain: str) -> Anchor | None:
        """The anchor with the highest seq (keys list in seq order, so only the last page's last key)."""
        prefix = f"{self.prefix}/{chain}/"
        last_key: str | None = None
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.client.list_objects_v2(**kwargs)
            contents = page.get("Contents", [])
            if contents:
                last_key = contents[-1]["Key"]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
        if last_key is None:
            return None
        return Anchor.from_json(self.client.get_object(Bucket=self.bucket, Key=last_key)["Body"].read())


def keyring_from_connection(
    login: str | None, password: str | None, extra: Mapping[str, Any]
) -> AuditKeyring:
    """The keyring in the Airflow connection ``model_governance_audit``: login = current key id, password =
    its secret, extra ``{"previous": {"old_id": "old secret"}}`` = keys rotated out (verify only)."""
    if not login or not password:
        raise ConfigurationError(
            f"Airflow connection {AUDIT_CONN_ID!r} needs login = the audit key id and password = its secret."
        )
    previous = extra.get("previous") or {}
    if not isinstance(previous, Mapping):
        raise ConfigurationError(
            f"Airflow connection {AUDIT_CONN_ID!r}: extra 'previous' must map key ids to secrets."
        )
    return AuditKeyring(login, {**{str(k): str(v) for k, v in previous.items()}, login: password})
