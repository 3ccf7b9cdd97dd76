"""Pinned data: the exact S3 bytes a snapshot names, read back by version and checked by SHA-256.

A snapshot records, per data asset (BASELINE_DATA, COMPARATOR_DATA, RISK_TEST_SCHEMA), the object's
``VersionId`` when its bucket is versioned and the SHA-256 of its bytes (streamed, never held in memory).
The risk tests, in the worker and in the SageMaker Processing job alike, read the asset through
``fetch_pinned``: ``GetObject`` with that ``VersionId`` where there is one, and the SHA-256 of what was read
compared with the pinned one in every case (an unversioned bucket's only proof). Data that changed (the
version is gone, the bytes differ) is refused with ``PinnedDataChangedError`` naming the asset, the
expected and the found, and the fix; nothing is tested on it.

Pure domain code: callers pass in a boto3-style S3 client (``S3Hook.get_conn()`` in the worker,
``boto3.client("s3")`` in the job container). No Airflow import.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_governance.exceptions import (
    InvalidInputError,
    PinnedDataChangedError,
    RegistryError,
    RiskTestInputError,
)

CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: What S3 answers for a version id that does not (any longer) exist: NoSuchVersion, or InvalidArgument
#: for an id S3 never issued in that bucket.
_VERSION_GONE = frozenset({"NoSuchVersion", "InvalidArgument"})
_OBJECT_GONE = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
FIX = (
    "The risk tests run only on the data the snapshot pinned. Restore that object version, or register a "
    "new model version naming the data to test (or start a new run of the implementation DAG for this "
    "version, whose snapshot pins the data as it is now)."
)


def _version(value: Any) -> str | None:
    """S3's version id, None for an unversioned object (S3 says ``null`` on a suspended bucket)."""
    return str(value) if value and value != "null" else None


@dataclass(frozen=True)
class DataPin:
    """One data asset as a snapshot pinned it."""

    role: str
    uri: str
    sha256: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, str) or not _HEX64.match(self.sha256):
            raise InvalidInputError(
                f"{self.role} {self.uri} is pinned without a SHA-256 ({self.sha256!r}); take a new snapshot."
            )
        if not self.uri.startswith("s3://") or "/" not in self.uri[len("s3://") :]:
            raise InvalidInputError(f"{self.role} is pinned at {self.uri!r}, not an s3://bucket/key URI.")

    @property
    def bucket(self) -> str:
        return self.uri[len("s3://") :].split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.uri[len("s3://") :].split("/", 1)[1]

    def object_params(self) -> dict[str, Any]:
        """The ``GetObject`` / ``HeadObject`` parameters of the pinned object (its version, when pinned)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if self.version_id:
            params["VersionId"] = self.version_id
        return params

    def describe(self) -> str:
        """How a reviewer reads the pin: ``version V, SHA-256 H`` or ``SHA-256 H (unversioned bucket)``."""
        if self.version_id:
            return f"version {self.version_id}, SHA-256 {self.sha256}"
        return f"SHA-256 {self.sha256} (unversioned bucket)"

    @classmethod
    def from_asset(cls, role: str, asset: Mapping[str, Any]) -> DataPin:
        """From a manifest's ``assets[role]`` entry."""
        size = asset.get("size")
        return cls(
            role=role,
            uri=str(asset.get("uri") or ""),
            sha256=str(asset.get("sha256") or ""),
            version_id=_version(asset.get("version_id")),
            etag=str(asset["etag"]) if asset.get("etag") else None,
            size=int(size) if isinstance(size, int) and not isinstance(size, bool) else None,
        )


@dataclass(frozen=True)
class FetchedObject:
    """What was read: the local copy and S3's answer about it."""

    pin: DataPin
    path: Path
    etag: str
    size: int
    version_id: str | None
    sha256: str

    def provenance(self) -> dict[str, Any]:
        """For the report's ``inputs``: what was tested, and that it is what the snapshot pinned."""
        return {
            "source": self.pin.uri,
            "etag": self.etag,
            "size": self.size,
            "version_id": self.version_id,
            "sha256": self.sha256,
            "matches_snapshot": True,
        }


def changed(pin: DataPin, found: str) -> PinnedDataChangedError:
    """The refusal for ``pin``: the asset, what the snapshot expected, what S3 has, and the fix."""
    return PinnedDataChangedError(
        f"{pin.role} {pin.uri} changed since the snapshot was taken: expected {pin.describe()}, "
        f"found {found}. {FIX}"
    )


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _refuse_missing(pin: DataPin, exc: Exception, conn: str) -> Exception:
    code = _code(exc)
    if pin.version_id and code in _VERSION_GONE:
        return changed(pin, f"no version {pin.version_id} ({code}: it was deleted)")
    if code in _OBJECT_GONE:
        return changed(pin, f"no object ({code}: it was deleted, or its bucket)")
    return RegistryError(
        f"{pin.role} {pin.uri} cannot be read{conn} ({code or exc}); grant s3:GetObject"
        f"{' and s3:GetObjectVersion' if pin.version_id else ''} on the object."
    )


def stream_sha256(chunks: Iterable[bytes], sink: Any = None) -> tuple[str, int]:
    """SHA-256 and byte count of a stream of chunks, written to ``sink`` (a binary file) when given."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return digest.hexdigest(), size


def object_sha256(
    client: Any, bucket: str, key: str, *, version_id: str | None, etag: str | None, what: str
) -> str:
    """The SHA-256 of one object's bytes, streamed (constant memory, whatever the size).

    ``version_id`` reads exactly that version; on an unversioned bucket ``etag`` (``If-Match``) makes
    sure the bytes hashed are those the caller's ``HeadObject`` described, not a later overwrite.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    elif etag:
        params["IfMatch"] = f'"{etag.strip(chr(34))}"'
    try:
        answer = client.get_object(**params)
        sha, _ = stream_sha256(answer["Body"].iter_chunks(CHUNK))
    except ClientError as exc:
        if _code(exc) in ("PreconditionFailed", "412"):
            raise RegistryError(
                f"{what} s3://{bucket}/{key} was overwritten while it was being hashed; run the task again."
            ) from exc
        raise RegistryError(
            f"{what} s3://{bucket}/{key} cannot be read to hash it ({_code(exc) or exc}); grant s3:GetObject"
            " on the object."
        ) from exc
    except BotoCoreError as exc:
        raise RegistryError(f"reading {what} s3://{bucket}/{key} to hash it failed: {exc}") from exc
    return sha


def fetch_pinned(
    client: Any, pin: DataPin, destination: Path, *, conn_id: str | None = None
) -> FetchedObject:
    """Stream exactly the pinned bytes of ``pin`` to ``destination`` and prove they are the pinned ones.

    Raises ``PinnedDataChangedError`` (the copy removed) when the version is gone or the bytes' SHA-256
    differs; ``RegistryError`` when S3 cannot be read for another reason.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    conn = f" with connection {conn_id!r}" if conn_id else ""
    try:
        answer = client.get_object(**pin.object_params())
        with destination.open("wb") as handle:
            sha, size = stream_sha256(answer["Body"].iter_chunks(CHUNK), handle)
    except ClientError as exc:
        destination.unlink(missing_ok=True)
        raise _refuse_missing(pin, exc, conn) from exc
    except BotoCoreError as exc:
        destination.unlink(missing_ok=True)
        raise RegistryError(f"reading {pin.role} {pin.uri} from S3 failed: {exc}") from exc
    version = _version(answer.get("VersionId"))
    if sha != pin.sha256:
        destination.unlink(missing_ok=True)
        what = f"version {version}, " if version else ""
        raise changed(pin, f"{what}SHA-256 {sha} ({size} bytes)")
    return FetchedObject(
        pin=pin,
        path=destination,
        etag=str(answer.get("ETag", "")).strip('"'),
        size=size,
        version_id=version,
        sha256=sha,
    )


def check_pinned(client: Any, pin: DataPin, *, conn_id: str | None = None) -> bool:
    """Before a job that reads ``pin`` elsewhere: refuse now what ``HeadObject`` shows has changed.

    Returns True when the pinned bytes are certainly there (the version exists with the pinned ETag, or an
    unversioned object has the pinned ETag and size); False when only reading them can tell (an
    unversioned object re-uploaded with another ETag but the same size). The reader still checks the
    SHA-256.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    conn = f" with connection {conn_id!r}" if conn_id else ""
    try:
        head = client.head_object(**pin.object_params())
    except ClientError as exc:
        # HeadObject has no body, so a gone version answers a bare 404.
        if pin.version_id and _code(exc) in {"404", "NotFound", *_VERSION_GONE}:
            raise changed(pin, f"no version {pin.version_id} (deleted)") from exc
        raise _refuse_missing(pin, exc, conn) from exc
    except BotoCoreError as exc:
        raise RegistryError(f"checking {pin.role} {pin.uri} in S3 failed: {exc}") from exc
    etag = str(head.get("ETag", "")).strip('"')
    size = int(head.get("ContentLength", -1))
    if pin.size is not None and size != pin.size:
        version = _version(head.get("VersionId"))
        raise changed(pin, f"{f'version {version}, ' if version else ''}{size} bytes, not {pin.size}")
    return bool(pin.etag) and etag == pin.etag


def pins_from_manifest(
    manifest: Mapping[str, Any], roles: Iterable[str], *, snapshot: str
) -> dict[str, DataPin]:
    """The pins of ``roles`` in a manifest's ``assets``; a manifest without them is refused."""
    assets = manifest.get("assets") or {}
    pins: dict[str, DataPin] = {}
    for role in roles:
        item = assets.get(role)
        if not isinstance(item, Mapping):
            raise RiskTestInputError(f"Snapshot {snapshot} has no {role} asset; take a new snapshot.")
        try:
            pins[role] = DataPin.from_asset(role, item)
        except InvalidInputError as exc:
            raise RiskTestInputError(f"Snapshot {snapshot}: {exc}") from exc
    return pins


__all__ = [
    "CHUNK",
    "FIX",
    "DataPin",
    "FetchedObject",
    "changed",
    "check_pinned",
    "fetch_pinned",
    "object_sha256",
    "pins_from_manifest",
    "stream_sha256",
]
