"""The evidence store: snapshots, risk test reports, threshold files and review documents in the governance
bucket, each put once under its content hash, then recorded by the caller.

Putting is idempotent: the key names the content's SHA-256, the object is looked up before it is put, and
an object already there is checked to be the same content (its ``sha256`` metadata and its size), so a
retried task writes nothing twice and an object changed outside governance is never overwritten. Every
object carries its SHA-256 as metadata and as ``ChecksumSHA256``, so S3 verifies the upload.

Errors name the object's URI, the connection, and what to grant or fix. No Airflow here: the S3 client is
a boto3 client (or anything with ``head_object``, ``put_object`` and ``get_object``), or a callable
returning one on first use. (``services/evidence.py`` is the audit side: anchors and the audit pack.)
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from model_governance.exceptions import RegistryError

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
#: A conditional put refused because an object is there (put meanwhile, or by a lost-answer retry).
_PUT_BEFORE = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


class S3Client(Protocol):
    def head_object(self, **kwargs: Any) -> Any: ...
    def put_object(self, **kwargs: Any) -> Any: ...
    def get_object(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    sha256: str
    #: False when the object was there already (a retry, or the same content stored again).
    created: bool

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    code = str(response.get("Error", {}).get("Code", ""))
    if not code and response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
        return "404"
    return code


def _reason(exc: BaseException) -> str:
    return f"{_code(exc) or type(exc).__name__}: {exc}"


class EvidenceStore:
    """Content-addressed objects in one bucket, written through one connection."""

    def __init__(
        self, client: S3Client | Callable[[], S3Client], bucket: str, *, conn_id: str | None = None
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.conn_id = conn_id

    @property
    def client(self) -> S3Client:
        found = self._client
        if hasattr(found, "put_object"):
            return cast("S3Client", found)
        return cast("Callable[[], S3Client]", found)()

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put(
        self,
        key: str,
        body: bytes,
        *,
        what: str,
        content_type: str = "application/json",
        metadata: Mapping[str, str] | None = None,
        disposition: str | None = None,
    ) -> StoredObject:
        """Put ``body`` at ``key`` unless the same content is there already; ``what`` names it in errors
        (e.g. "the snapshot"). The caller records it (inventory first) once this returns."""
        digest = hashlib.sha256(body)
        sha = digest.hexdigest()
        if self._holds(key, body, sha, what=what):
            return StoredObject(self.bucket, key, sha, created=False)
        extra = {"ContentDisposition": disposition} if disposition else {}
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
                Metadata={"sha256": sha, **(metadata or {})},
                # Put only where nothing is: the client's retry of a put whose answer was lost (or a
                # concurrent put) is refused instead of stacking a second version of the object.
                IfNoneMatch="*",
                **extra,
            )
        except Exception as exc:
            if _code(exc) in _PUT_BEFORE and self._holds(key, body, sha, what=what):
                return StoredObject(self.bucket, key, sha, created=False)
            if _code(exc) == "NoSuchBucket":
                raise RegistryError(
                    f"Storing {what} {self.uri(key)}{self._via()} failed. The governance bucket "
                    f"{self.bucket!r} does not exist; create it or fix the governance_bucket setting."
                ) from exc
            raise RegistryError(
                f"Storing {what} {self.uri(key)}{self._via()} failed ({_reason(exc)}); {self._grant()} "
                f"s3:PutObject on the governance bucket {self.bucket!r}, then retry (storing is idempotent)."
            ) from exc
        return StoredObject(self.bucket, key, sha, created=True)

    def read(self, key: str, *, what: str) -> bytes:
        """The bytes stored at ``key`` (e.g. a Processing job's report)."""
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except Exception as exc:
            raise RegistryError(
                f"{what} {self.uri(key)} cannot be read{self._via()} ({_code(exc) or exc}); "
                f"{self._grant()} s3:GetObject on the governance bucket {self.bucket!r}."
            ) from exc

    def _holds(self, key: str, body: bytes, sha: str, *, what: str) -> bool:
        """True when ``key`` holds this content; False when there is no object; an error otherwise."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _code(exc) in _NOT_FOUND:
                return False
            raise RegistryError(
                f"Checking {what} {self.uri(key)}{self._via()} failed ({_reason(exc)}); {self._grant()} "
                f"s3:GetObject and s3:PutObject on the governance bucket {self.bucket!r}, then retry."
            ) from exc
        stored = (head.get("Metadata") or {}).get("sha256")
        size = head.get("ContentLength")
        if stored not in (None, sha) or (size is not None and int(size) != len(body)):
            raise RegistryError(
                f"{self.uri(key)} exists but holds {size} bytes with sha256 metadata {stored!r}, not the "
                f"{len(body)} bytes of {what} with sha256 {sha}: the object was changed outside model "
                "governance. It is not overwritten; restore it from the bucket's versions or delete it, "
                "then retry."
            )
        return True

    def _via(self) -> str:
        return f" with connection {self.conn_id!r}" if self.conn_id else ""

    def _grant(self) -> str:
        return f"grant the connection {self.conn_id!r}" if self.conn_id else "grant the task's AWS role"
