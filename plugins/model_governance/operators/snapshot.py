"""Step 3 of the MLC: the immutable snapshot of a model version, stored in S3 under its content hash.

The manifest (``model_governance.snapshots``) pins the package's description, containers and model
artifacts, the BASELINE_DATA / COMPARATOR_DATA / RISK_TEST_SCHEMA objects (ETag, size, version id, and the
SHA-256 of their bytes, streamed through the worker: the risk tests read exactly these bytes back), the
endpoint configuration it will be deployed with, and the risk test suite version with the thresholds of
the use case's risk level. Every object it names is checked to exist first: a missing one is an error
naming the metadata key and the URI, and nothing is written.

Writes, each looked up before it is made, so a retry or re-run creates nothing new: the manifest object
(keyed by its SHA-256, put only when absent), the inventory record (keyed by model + hash), and the
package's customer metadata ``governance:snapshot`` (``ClientToken`` from dag_id, run_id, task_id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from model_governance.exceptions import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    RegistryError,
)
from model_governance.operators.model_lifecycle import _ModelOperator
from model_governance.pinned_data import object_sha256
from model_governance.snapshots import (
    SNAPSHOT_METADATA_KEY,
    ObjectDigest,
    S3Location,
    build_manifest,
    canonical_json,
    content_hash,
    snapshot_inputs,
    snapshot_key,
    threshold_overrides,
)

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def head_object(s3: S3Hook, location: S3Location, *, what: str, conn_id: str) -> ObjectDigest:
    """ETag and size of an object that must exist and be readable; ``what`` names it in the error."""
    try:
        head = s3.head_object(location.key, location.bucket)
    except ClientError as exc:
        raise RegistryError(
            f"{what} is {location.uri}, which the connection {conn_id!r} cannot read "
            f"({_error_code(exc) or exc}); grant it s3:GetObject on the object, or fix the URI."
        ) from exc
    if head is None:
        raise InvalidInputError(
            f"{what} is {location.uri}, which does not exist (no such object or bucket); upload it there, "
            "or set the key to the URI of an existing object."
        )
    return ObjectDigest.from_head(location, head)


def pin_data_asset(s3: S3Hook, location: S3Location, *, what: str, conn_id: str) -> ObjectDigest:
    """A data asset's ETag, size and version id, and the SHA-256 of exactly those bytes (streamed)."""
    found = head_object(s3, location, what=what, conn_id=conn_id)
    sha = object_sha256(
        s3.get_conn(),
        location.bucket,
        location.key,
        version_id=found.version_id,
        etag=found.etag,
        what=what,
    )
    return replace(found, sha256=sha)


def describe_endpoint_config(registry: SageMakerRegistryHook, name: str, *, arn: str) -> dict[str, Any]:
    """The endpoint configuration a package names; it must exist (the seed's prerequisite)."""
    found = registry.describe_endpoint_config(name)
    if found is None:
        raise InvalidInputError(
            f"Customer metadata ENDPOINT_CONFIG of model package {arn} names endpoint configuration "
            f"{name!r}, which does not exist in SageMaker; create it (CreateEndpointConfig) or set "
            "ENDPOINT_CONFIG to an existing one."
        )
    return found


class CreateSnapshotOperator(_ModelOperator):
    """Take the snapshot of a model version; returns ``{"snapshot_id", "content_hash", "uri"}``.

    :param model_id: the inventory id of the model version (templated).
    """

    template_fields: Sequence[str] = ("model_id",)
    ui_color = "#eef6ee"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from model_governance.risk_tests import ENGINE_VERSION, resolve_thresholds

        ti = context["ti"]
        model = self.model
        entity = self.config.business_entity(self.inventory.business_entity_of_model(model).name)
        registry = self.registry()
        package = registry.describe_model_package(model.package_arn)
        inputs = snapshot_inputs(package)
        use_case = self.inventory.get_use_case(self.inventory.use_case_of_group(model.model_group_id))

        s3 = S3Hook(aws_conn_id=entity.aws_conn_id, region_name=entity.region)
        arn = inputs.package_arn
        assets = {
            role: pin_data_asset(
                s3,
                location,
                what=f"Customer metadata {role} of model package {arn}",
                conn_id=entity.aws_conn_id,
            )
            for role, location in inputs.assets.items()
        }
        model_data = [
            None
            if location is None
            else head_object(
                s3,
                location,
                what=f"ModelDataUrl of inference container {index} of model package {arn}",
                conn_id=entity.aws_conn_id,
            )
            for index, location in enumerate(inputs.model_data, start=1)
        ]
        endpoint_config = describe_endpoint_config(registry, inputs.endpoint_config_name, arn=arn)
        overrides = threshold_overrides(self.config.threshold_settings(), use_case.risk_level)
        thresholds = resolve_thresholds(use_case.risk_level, {use_case.risk_level: overrides})
        manifest = build_manifest(
            package,
            inputs,
            assets=assets,
            model_data=model_data,
            endpoint_config=endpoint_config,
            use_case={"id": use_case.id, "name": use_case.name, "risk_level": use_case.risk_level},
            suite_version=ENGINE_VERSION,
            risk_level=use_case.risk_level,
            overrides=overrides,
            thresholds=thresholds.to_dict(),
        )
        body = canonical_json(manifest)
        digest = content_hash(manifest)
        bucket = self.config.governance_bucket
        key = snapshot_key(inputs.group, inputs.version, digest)
        uri = f"s3://{bucket}/{key}"
        created = self._put_once(s3, bucket, key, body, conn_id=entity.aws_conn_id)

        # Inventory first (the system of record), then the link in the registry.
        snapshot = self.inventory.record_snapshot(model, content_hash=digest, uri=uri, manifest=manifest)
        registry.put_metadata(
            arn, {SNAPSHOT_METADATA_KEY: digest}, token_parts=(ti.dag_id, ti.run_id, ti.task_id)
        )
        self.log.info(
            "Snapshot %s of %s %s at %s", snapshot.id, arn, "stored" if created else "already stored", uri
        )
        return {"snapshot_id": snapshot.id, "content_hash": digest, "uri": uri}

    def _put_once(self, s3: S3Hook, bucket: str, key: str, body: bytes, *, conn_id: str) -> bool:
        """Put the manifest unless its content-addressed key already holds it; True when it was put."""
        uri = f"s3://{bucket}/{key}"
        try:
            existing = s3.head_object(key, bucket)
        except ClientError as exc:
            raise RegistryError(
                f"Checking the snapshot {uri} with connection {conn_id!r} failed ({_error_code(exc)}); "
                f"grant it s3:GetObject and s3:PutObject on the governance bucket {bucket!r}."
            ) from exc
        if existing is not None:
            if int(existing.get("ContentLength", -1)) != len(body):
                raise ConflictError(
                    f"{uri} exists but holds {existing.get('ContentLength')} bytes, not the "
                    f"{len(body)} bytes of the manifest with that hash; the object was altered. Restore it "
                    "from the bucket's versions or delete it, then re-run this task."
                )
            return False
        try:
            s3.load_bytes(body, key=key, bucket_name=bucket, replace=True)
        except ClientError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise ConfigurationError(
                    f"The governance bucket {bucket!r} does not exist; create it or fix the "
                    "governance_bucket setting."
                ) from exc
            raise RegistryError(
                f"Storing the snapshot {uri} with connection {conn_id!r} failed ({_error_code(exc)}): {exc}"
            ) from exc
        return True


__all__ = ["CreateSnapshotOperator", "describe_endpoint_config", "head_object", "pin_data_asset"]
