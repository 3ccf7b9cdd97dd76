"""Step 3 of the MLC: the immutable snapshot of a model version, stored in S3 under its content hash.

The manifest (``model_governance.snapshots``) pins the package's description, containers and model
artifacts, the BASELINE_DATA / COMPARATOR_DATA / RISK_TEST_SCHEMA objects (ETag, size, version id, and the
SHA-256 of their bytes, streamed through the worker: the risk tests read exactly these bytes back), the
endpoint configuration it will be deployed with, and the risk test suite version with the thresholds of
the use case's risk level. Every object it names is checked to exist first: a missing one is an error
naming the metadata key and the URI, and nothing is written.

Writes, each looked up before it is made, so a retry or re-run creates nothing new: the manifest object
(keyed by its SHA-256, put once through the evidence store), the inventory record (keyed by model + hash),
and the package's customer metadata ``governance:snapshot`` (``ClientToken`` from dag_id, run_id, task_id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.operators.base import ModelOperator, task_key

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
    from model_governance.snapshots import ObjectDigest, S3Location


def head_object(s3: S3Hook, location: S3Location, *, what: str, conn_id: str | None) -> ObjectDigest:
    """ETag and size of an object that must exist and be readable; ``what`` names it in the error."""
    from botocore.exceptions import ClientError

    from model_governance.snapshots import ObjectDigest

    try:
        head = s3.head_object(location.key, location.bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise RegistryError(
            f"{what} is {location.uri}, which the connection {conn_id!r} cannot read "
            f"({code or exc}); grant it s3:GetObject on the object, or fix the URI."
        ) from exc
    if head is None:
        raise InvalidInputError(
            f"{what} is {location.uri}, which does not exist (no such object or bucket); upload it there, "
            "or set the key to the URI of an existing object."
        )
    return ObjectDigest.from_head(location, head)


def pin_data_asset(s3: S3Hook, location: S3Location, *, what: str, conn_id: str | None) -> ObjectDigest:
    """A data asset's ETag, size and version id, and the SHA-256 of exactly those bytes (streamed)."""
    from model_governance.pinned_data import object_sha256

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


class CreateSnapshotOperator(ModelOperator):
    """Take the snapshot of a model version; returns ``{"snapshot_id", "content_hash", "uri"}``.

    :param model_id: the inventory id of the model version (templated).
    """

    template_fields: Sequence[str] = ("model_id",)
    ui_color = "#eef6ee"

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.model_cards import CardFacts, governance_fills
        from model_governance.risk_tests import ENGINE_VERSION, resolve_thresholds
        from model_governance.snapshots import (
            SNAPSHOT_METADATA_KEY,
            build_manifest,
            canonical_json,
            content_hash,
            snapshot_inputs,
            snapshot_key,
            threshold_overrides,
        )

        model, entity = self.model, self.entity
        package = entity.registry.describe_model_package(model.package_arn)
        inputs = snapshot_inputs(package)
        use_case = self.inventory.get_use_case(self.inventory.use_case_of_group(model.model_group_id))

        arn, conn_id = inputs.package_arn, entity.aws_conn_id
        assets = {
            role: pin_data_asset(
                entity.s3, location, what=f"Customer metadata {role} of model package {arn}", conn_id=conn_id
            )
            for role, location in inputs.assets.items()
        }
        model_data = [
            None
            if location is None
            else head_object(
                entity.s3,
                location,
                what=f"ModelDataUrl of inference container {index} of model package {arn}",
                conn_id=conn_id,
            )
            for index, location in enumerate(inputs.model_data, start=1)
        ]
        endpoint_config = describe_endpoint_config(entity.registry, inputs.endpoint_config_name, arn=arn)
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
            card_fills=governance_fills(
                CardFacts(
                    package_arn=arn,
                    use_case_name=use_case.name,
                    risk_level=use_case.risk_level,
                    use_case_description=use_case.description or "",
                    owner=use_case.owner,
                    business_entity=use_case.business_entity.name,
                    package_description=package.get("ModelPackageDescription"),
                )
            ),
        )
        digest = content_hash(manifest)
        key = snapshot_key(inputs.group, inputs.version, digest)
        stored = self.evidence.put(key, canonical_json(manifest), what="the snapshot")

        # Inventory first (the system of record), then the link in the registry.
        snapshot = self.inventory.record_snapshot(
            model, content_hash=digest, uri=stored.uri, manifest=manifest
        )
        entity.registry.put_metadata(arn, {SNAPSHOT_METADATA_KEY: digest}, token_parts=task_key(context))
        self.log.info(
            "Snapshot %s of %s %s at %s",
            snapshot.id,
            arn,
            "stored" if stored.created else "already stored",
            stored.uri,
        )
        return {"snapshot_id": snapshot.id, "content_hash": digest, "uri": stored.uri}


__all__ = ["CreateSnapshotOperator", "describe_endpoint_config", "head_object", "pin_data_asset"]
