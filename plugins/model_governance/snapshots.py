"""Snapshot manifests: what a model version was at a point in time, as canonical JSON under its SHA-256.

Pure domain code (no Airflow, no AWS client): the snapshot operator reads SageMaker and S3 and hands the
answers to these functions; the risk test operator reads the stored manifest back through them.

A manifest holds only facts that come from the registry and S3 (never a time or id of ours), so the same
model version with the same data gives the same bytes, the same hash and so the same snapshot::

    {
      "manifest_version": 3,
      "model_package": {"arn", "group", "version", "description", "creation_time",
                        "customer_metadata": {...without governance:* keys...},
                        "inference_containers": [
                            {"image", "image_digest", "framework", "framework_version", "model_data_url",
                             "model_data": {"uri", "etag", "size", "version_id"} | null}],
                        "model_card": {"content": {...without governance's parts...}} | null,
                        "model_metrics": [{"report", "uri", "content_type", "content_digest"}, ...]},
      "use_case": {"id", "name", "risk_level"},
      "assets": {"BASELINE_DATA": {"uri", "etag", "size", "version_id", "sha256"},
                 "COMPARATOR_DATA": {...}, "RISK_TEST_SCHEMA": {...}},
      "endpoint_config_name": "churn-prod",
      "endpoint_config": {"name", "arn", "production_variants": [...]},
      "risk_test_suite_version": "1.0.0",
      "risk_tests": {"risk_level": "High", "threshold_overrides": {...}, "thresholds": {...resolved...}}
    }

Each data asset is pinned by its S3 ``VersionId`` (null on an unversioned bucket) and the SHA-256 of its
bytes, besides the ETag; the risk tests read exactly those bytes back (``model_governance.pinned_data``).
Manifest version 2 added ``sha256``: a version 1 manifest is refused by the risk tests (take a new
snapshot). Version 3 added the model card and the ``ModelMetrics`` report pointers; the risk tests read
versions 2 and 3 alike (they need neither), and the review document says when a version 2 snapshot did not
record them. Model artifacts are pinned by ETag, size and version id only (they can be many gigabytes and
the risk tests do not read them).

Keys under ``governance:`` in the package's customer metadata are left out: governance writes them itself
(``governance:snapshot`` among them), and they must not feed back into the hash.

The model card is the data scientist's card as it was: the parsed ``ModelCardContent`` without what
governance writes into it (``model_cards``: the fields in ``GOVERNANCE_OWNED``, the fields governance fills
when the card left them empty (purpose of the model, business details: a field holding exactly governance's
value), the ``GOVERNANCE_EVALUATION`` entry of ``evaluation_details``, governance's keys of
``additional_information.custom_details``, the legacy top-level ``governance`` key), and without its
``ModelCardStatus``, which governance moves through the gates. So governance's own writes never change the
hash: a snapshot retaken after the test results review (a cleared DAG run) is the same snapshot.
``model_metrics`` lists every report pointer of the package's ``ModelMetrics`` (``ModelQuality.Statistics``
and the others) with its content type and ``ContentDigest``; the reports themselves stay in S3 and are read
(and their digests checked) when the review document is rendered (``services.review_context``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from model_governance.exceptions import ConfigurationError, InvalidInputError
from model_governance.model_cards import (
    GOVERNANCE_EVALUATION,
    GOVERNANCE_OWNED,
    LEGACY_GOVERNANCE_KEY,
    parse_content,
)
from model_governance.pinned_data import DataPin, pins_from_manifest
from model_governance.registry import GOVERNANCE_METADATA_PREFIX, MetadataKey

MANIFEST_VERSION = 3
#: Manifest versions the risk tests can run on (version 3 only added the model card and metrics pointers).
RISK_TEST_MANIFEST_VERSIONS = frozenset({2, 3})
BASELINE_DATA = "BASELINE_DATA"
COMPARATOR_DATA = "COMPARATOR_DATA"
RISK_TEST_SCHEMA = "RISK_TEST_SCHEMA"
ENDPOINT_CONFIG = "ENDPOINT_CONFIG"
#: Customer metadata keys that point at S3 objects the snapshot pins (role -> what it is).
ASSET_KEYS: Mapping[str, str] = {
    BASELINE_DATA: "the baseline (reference) data, Parquet or CSV",
    COMPARATOR_DATA: "the comparator data (a slice of production data), Parquet or CSV",
    RISK_TEST_SCHEMA: "the risk test schema JSON (label, score, features, protected attributes)",
}
#: The customer metadata key under which governance writes the snapshot's content hash.
SNAPSHOT_METADATA_KEY = MetadataKey.SNAPSHOT.value
SNAPSHOTS_PREFIX = "snapshots"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ENDPOINT_CONFIG_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@dataclass(frozen=True)
class S3Location:
    """An S3 object named by an ``s3://bucket/key`` URI."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: Any, *, what: str) -> S3Location:
    """Split ``s3://bucket/key``; ``what`` names the input in the error (e.g. "BASELINE_DATA of ...")."""
    text = str(uri or "").strip()
    if not text.startswith("s3://"):
        raise InvalidInputError(
            f"{what} is {text!r}, not an s3://bucket/key URI; set it to the S3 URI of the object."
        )
    bucket, _, key = text[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket) or not key or key.endswith("/"):
        raise InvalidInputError(
            f"{what} is {text!r}, which does not name one S3 object; give s3://bucket/path/to/object."
        )
    return S3Location(bucket, key)


@dataclass(frozen=True)
class ObjectDigest:
    """What S3 says about an object: ETag and size, version id on a versioned bucket, and (data assets)
    the SHA-256 of its bytes."""

    uri: str
    etag: str
    size: int
    version_id: str | None = None
    sha256: str | None = None

    @classmethod
    def from_head(
        cls, location: S3Location, head: Mapping[str, Any], *, sha256: str | None = None
    ) -> ObjectDigest:
        """From a ``HeadObject`` / ``GetObject`` answer (and the streamed SHA-256 of those bytes)."""
        version = head.get("VersionId")
        if sha256 is not None and not _HEX64.match(sha256):
            raise InvalidInputError(f"SHA-256 {sha256!r} of {location.uri} is not a lower-case hex digest.")
        return cls(
            uri=location.uri,
            etag=str(head.get("ETag", "")).strip('"'),
            size=int(head.get("ContentLength", 0)),
            version_id=str(version) if version and version != "null" else None,
            sha256=sha256,
        )

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "uri": self.uri,
            "etag": self.etag,
            "size": self.size,
            "version_id": self.version_id,
        }
        if self.sha256 is not None:
            item["sha256"] = self.sha256
        return item


@dataclass(frozen=True)
class SnapshotInputs:
    """What must be checked in S3 and SageMaker before a manifest can be built."""

    package_arn: str
    group: str
    version: int
    assets: Mapping[str, S3Location]
    endpoint_config_name: str
    #: The S3 model artifact of each inference container (None where a container has none).
    model_data: Sequence[S3Location | None]


def snapshot_inputs(package: Mapping[str, Any]) -> SnapshotInputs:
    """Read and check the governed metadata of a ``DescribeModelPackage`` answer.

    Every required customer metadata key must be there; every error names the key, the package and what
    to set it to. Nothing is looked up yet.
    """
    arn = str(package.get("ModelPackageArn") or "")
    group = str(package.get("ModelPackageGroupName") or "")
    version = package.get("ModelPackageVersion")
    if not arn or not group or not isinstance(version, int):
        raise InvalidInputError(
            f"Model package {arn or '(no ARN)'} is not a versioned package in a model package group; "
            "snapshots are taken of registered versions only."
        )
    metadata = package.get("CustomerMetadataProperties") or {}
    assets: dict[str, S3Location] = {}
    for key, meaning in ASSET_KEYS.items():
        value = metadata.get(key)
        if not value:
            raise InvalidInputError(
                f"Model package {arn} has no customer metadata key {key}; set {key} to the s3:// URI of "
                f"{meaning} (UpdateModelPackage CustomerMetadataProperties), then re-run the snapshot."
            )
        assets[key] = parse_s3_uri(value, what=f"Customer metadata {key} of model package {arn}")
    endpoint_config = str(metadata.get(ENDPOINT_CONFIG) or "").strip()
    if not endpoint_config:
        raise InvalidInputError(
            f"Model package {arn} has no customer metadata key {ENDPOINT_CONFIG}; set it to the name of the "
            "SageMaker endpoint configuration this version will be deployed with."
        )
    if not _ENDPOINT_CONFIG_NAME.match(endpoint_config):
        raise InvalidInputError(
            f"Customer metadata {ENDPOINT_CONFIG} of model package {arn} is {endpoint_config!r}, not an "
            "endpoint configuration name (letters, digits and single hyphens, at most 63 characters)."
        )
    model_data: list[S3Location | None] = []
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    for index, container in enumerate(containers, start=1):
        url = container.get("ModelDataUrl")
        model_data.append(
            parse_s3_uri(url, what=f"ModelDataUrl of inference container {index} of model package {arn}")
            if url
            else None
        )
    return SnapshotInputs(
        package_arn=arn,
        group=group,
        version=version,
        assets=assets,
        endpoint_config_name=endpoint_config,
        model_data=model_data,
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return str(value)


def threshold_overrides(configured: Mapping[Any, Mapping[str, Any]], risk_level: str) -> dict[str, Any]:
    """The configured threshold overrides of one risk level, as JSON values (bands as lists)."""
    for level, metrics in configured.items():
        if str(getattr(level, "value", level)) == risk_level:
            return {
                metric: list(value) if isinstance(value, tuple | list) else value
                for metric, value in sorted(metrics.items())
            }
    return {}


#: The keys governance writes into a card's ``additional_information.custom_details``: the governance links
#: (``registry.GovernanceLinks.card_details``), ``model_cards.custom_details`` and the review step's own.
GOVERNANCE_CARD_DETAILS = frozenset(
    {key.card_field for key in MetadataKey}
    | {
        "model_package_group",
        "model_package_version",
        "use_case",
        "snapshot",
        "risk_test_report",
        "review_approved_in",
    }
)
#: Prefixes of governance's ``custom_details`` keys (``review_document:<media type>`` -> SHA-256).
GOVERNANCE_CARD_DETAIL_PREFIXES = ("review_document:",)

#: ``ModelMetrics`` report pointers (botocore ``ModelMetrics``: each a ``MetricsSource``), in this order.
MODEL_METRICS_REPORTS: tuple[tuple[str, str], ...] = (
    ("ModelQuality", "Statistics"),
    ("ModelQuality", "Constraints"),
    ("ModelDataQuality", "Statistics"),
    ("ModelDataQuality", "Constraints"),
    ("Bias", "Report"),
    ("Bias", "PreTrainingReport"),
    ("Bias", "PostTrainingReport"),
    ("Explainability", "Report"),
)


def _governance_detail(key: Any) -> bool:
    text = str(key)
    return text in GOVERNANCE_CARD_DETAILS or text.startswith(GOVERNANCE_CARD_DETAIL_PREFIXES)


def data_scientist_card(
    card: Mapping[str, Any] | None, fills: Mapping[tuple[str, str], Any] | None = None
) -> dict[str, Any] | None:
    """A package's ``ModelCard`` as the data scientist wrote it: ``{"content"}`` with governance's parts left
    out of the parsed content (see the module docstring); None for a package without a card.

    ``fills`` (``model_cards.governance_fills``) are the values governance writes into fields the card left
    empty: a field holding exactly that value is governance's. The status is governance's too (it moves it
    through the gates). Both are left out so that a snapshot retaken after the review (a cleared run) is the
    same snapshot."""
    if not card:
        return None
    content = parse_content(card.get("ModelCardContent"))
    content.pop(LEGACY_GOVERNANCE_KEY, None)
    for section, name in GOVERNANCE_OWNED:
        part = content.get(section)
        if isinstance(part, dict):
            part.pop(name, None)
    for (section, name), value in (fills or {}).items():
        part = content.get(section)
        if isinstance(part, dict) and part.get(name) == value:
            del part[name]
    evaluations = content.get("evaluation_details")
    if isinstance(evaluations, list):
        content["evaluation_details"] = [
            entry
            for entry in evaluations
            if not (isinstance(entry, Mapping) and entry.get("name") == GOVERNANCE_EVALUATION)
        ]
    info = content.get("additional_information")
    if isinstance(info, dict) and isinstance(info.get("custom_details"), Mapping):
        info["custom_details"] = {
            k: v for k, v in info["custom_details"].items() if not _governance_detail(k)
        }
        if not info["custom_details"]:
            del info["custom_details"]
    for section in list(content):
        if content[section] in ({}, []):
            del content[section]
    return {"content": content}


def metrics_reports(model_metrics: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every report pointer of a package's ``ModelMetrics``: ``{"report": "ModelQuality.Statistics",
    "uri", "content_type", "content_digest"}`` (digest None when the package gave none), in a fixed order."""
    found: list[dict[str, Any]] = []
    for kind, part in MODEL_METRICS_REPORTS:
        source = ((model_metrics or {}).get(kind) or {}).get(part)
        if not isinstance(source, Mapping) or not source.get("S3Uri"):
            continue
        found.append(
            {
                "report": f"{kind}.{part}",
                "uri": str(source["S3Uri"]),
                "content_type": source.get("ContentType") or None,
                "content_digest": source.get("ContentDigest") or None,
            }
        )
    return found


def build_manifest(
    package: Mapping[str, Any],
    inputs: SnapshotInputs,
    *,
    assets: Mapping[str, ObjectDigest],
    model_data: Sequence[ObjectDigest | None],
    endpoint_config: Mapping[str, Any],
    use_case: Mapping[str, Any],
    suite_version: str,
    risk_level: str,
    overrides: Mapping[str, Any],
    thresholds: Mapping[str, Any],
    card_fills: Mapping[tuple[str, str], Any] | None = None,
) -> dict[str, Any]:
    """The manifest (see the module docstring) from the package and what S3 and SageMaker answered;
    ``card_fills``: what governance writes into the card's empty fields (``model_cards.governance_fills``)."""
    missing = sorted(set(ASSET_KEYS) - set(assets))
    if missing:
        raise InvalidInputError(f"build_manifest needs the S3 digest of every asset; missing {missing}.")
    unhashed = sorted(role for role, digest in assets.items() if digest.sha256 is None)
    if unhashed:
        raise InvalidInputError(f"build_manifest needs the SHA-256 of every data asset; missing {unhashed}.")
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    if len(model_data) != len(containers):
        raise InvalidInputError(
            f"build_manifest got {len(model_data)} model data digests for {len(containers)} containers."
        )
    metadata = {
        key: value
        for key, value in sorted((package.get("CustomerMetadataProperties") or {}).items())
        if not key.startswith(GOVERNANCE_METADATA_PREFIX)
    }
    variants = [
        {
            key: variant.get(key)
            for key in (
                "VariantName",
                "ModelName",
                "InstanceType",
                "InitialInstanceCount",
                "InitialVariantWeight",
                "ServerlessConfig",
            )
            if variant.get(key) is not None
        }
        for variant in endpoint_config.get("ProductionVariants") or []
    ]
    return {
        "manifest_version": MANIFEST_VERSION,
        "model_package": {
            "arn": inputs.package_arn,
            "group": inputs.group,
            "version": inputs.version,
            "description": package.get("ModelPackageDescription") or "",
            "creation_time": _iso(package.get("CreationTime")),
            "customer_metadata": metadata,
            # Container environments are left out on purpose: they may hold secrets.
            "inference_containers": [
                {
                    "image": container.get("Image"),
                    "image_digest": container.get("ImageDigest"),
                    "framework": container.get("Framework"),
                    "framework_version": container.get("FrameworkVersion"),
                    "model_data_url": container.get("ModelDataUrl"),
                    "model_data": digest.to_dict() if digest is not None else None,
                }
                for container, digest in zip(containers, model_data, strict=True)
            ],
            "model_card": data_scientist_card(package.get("ModelCard"), card_fills),
            "model_metrics": metrics_reports(package.get("ModelMetrics")),
        },
        "use_case": dict(use_case),
        "assets": {role: assets[role].to_dict() for role in sorted(ASSET_KEYS)},
        "endpoint_config_name": inputs.endpoint_config_name,
        "endpoint_config": {
            "name": endpoint_config.get("EndpointConfigName", inputs.endpoint_config_name),
            "arn": endpoint_config.get("EndpointConfigArn"),
            "production_variants": variants,
        },
        "risk_test_suite_version": suite_version,
        "risk_tests": {
            "risk_level": risk_level,
            "threshold_overrides": dict(overrides),
            "thresholds": dict(thresholds),
        },
    }


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no insignificant whitespace: equal values give equal bytes."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"A manifest must hold finite JSON values only: {exc}") from exc
    return text.encode("utf-8")


def content_hash(value: Any) -> str:
    """The lower-case hex SHA-256 of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def snapshot_key(group: str, version: int, digest: str) -> str:
    """``snapshots/<group>/<version>/<hash>.json``: the manifest's S3 key in the governance bucket."""
    if not _HEX64.match(digest):
        raise InvalidInputError(f"Snapshot hash {digest!r} is not a lower-case hex SHA-256.")
    return f"{SNAPSHOTS_PREFIX}/{group}/{int(version)}/{digest}.json"


def report_key(snapshot_uri: str, bucket: str, report_sha256: str) -> str:
    """Where a risk test report of a snapshot goes: ``snapshots/<group>/<version>/<hash>/risk-tests/
    <report sha256>.json``, beside the snapshot's documents."""
    head = f"s3://{bucket}/"
    if not snapshot_uri.startswith(head) or not snapshot_uri.endswith(".json"):
        raise ConfigurationError(
            f"Snapshot {snapshot_uri!r} is not a manifest in the governance bucket {bucket!r}; the "
            "governance_bucket setting changed since it was taken. Restore it or take a new snapshot."
        )
    if not _HEX64.match(report_sha256):
        raise InvalidInputError(f"Report hash {report_sha256!r} is not a lower-case hex SHA-256.")
    prefix = snapshot_uri[len(head) : -len(".json")]
    return f"{prefix}/risk-tests/{report_sha256}.json"


@dataclass(frozen=True)
class RiskTestPlan:
    """What the risk tests run on, read back from a stored manifest."""

    baseline: S3Location
    comparator: S3Location
    schema: S3Location
    digests: Mapping[str, Mapping[str, Any]]
    #: Per role: the version and SHA-256 the tests must read (``model_governance.pinned_data``).
    pins: Mapping[str, DataPin]
    suite_version: str
    risk_level: str
    overrides: Mapping[str, Any]
    thresholds: Mapping[str, Any]
    group: str
    version: int


def risk_test_plan(manifest: Mapping[str, Any], *, snapshot: str) -> RiskTestPlan:
    """The inputs, suite version and thresholds of the risk tests, from a manifest of ``snapshot``.

    A manifest this module did not write (another version, hand edits) is refused naming what is wrong.
    """
    if (
        not isinstance(manifest, Mapping)
        or manifest.get("manifest_version") not in RISK_TEST_MANIFEST_VERSIONS
    ):
        found = manifest.get("manifest_version") if isinstance(manifest, Mapping) else type(manifest).__name__
        readable = " and ".join(str(v) for v in sorted(RISK_TEST_MANIFEST_VERSIONS))
        raise ConfigurationError(
            f"Snapshot {snapshot} has manifest version {found!r}; this code reads versions {readable}. "
            "Take a new snapshot of the model version."
        )
    assets = manifest.get("assets") or {}
    locations: dict[str, S3Location] = {}
    for role in ASSET_KEYS:
        item = assets.get(role)
        if not isinstance(item, Mapping):
            raise ConfigurationError(
                f"Snapshot {snapshot} has no {role} asset (the risk test suite's input); take a new snapshot."
            )
        locations[role] = parse_s3_uri(item.get("uri"), what=f"{role} of snapshot {snapshot}")
    try:
        pins = pins_from_manifest(manifest, ASSET_KEYS, snapshot=snapshot)
    except InvalidInputError as exc:
        raise ConfigurationError(str(exc)) from exc
    risk = manifest.get("risk_tests") or {}
    package = manifest.get("model_package") or {}
    missing = [k for k in ("risk_level", "thresholds") if not risk.get(k)]
    if missing or not manifest.get("risk_test_suite_version"):
        raise ConfigurationError(
            f"Snapshot {snapshot} lacks the risk test suite configuration "
            f"({', '.join(missing) or 'risk_test_suite_version'}); take a new snapshot."
        )
    return RiskTestPlan(
        baseline=locations[BASELINE_DATA],
        comparator=locations[COMPARATOR_DATA],
        schema=locations[RISK_TEST_SCHEMA],
        digests={role: dict(assets[role]) for role in ASSET_KEYS},
        pins=pins,
        suite_version=str(manifest["risk_test_suite_version"]),
        risk_level=str(risk["risk_level"]),
        overrides=dict(risk.get("threshold_overrides") or {}),
        thresholds=dict(risk["thresholds"]),
        group=str(package.get("group", "")),
        version=int(package.get("version", 0)),
    )
