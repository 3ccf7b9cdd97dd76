"""The matching rules of services/endpoints.py: what counts as an endpoint serving an approved version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from model_governance.exceptions import InvalidInputError
from model_governance.services.endpoints import (
    ApprovedVersion,
    ArtifactSpec,
    Container,
    EndpointReconciler,
    EndpointResolver,
    Variant,
    image_matches,
    names_package,
    variant_serves,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn"
DIGEST = "sha256:" + "ab" * 32
DATA = "s3://models/churn/3/model.tar.gz"
ETAG = "9a0364b9e99bb480dd25e1f0284c8555"


def _etags(**values: str | None) -> Any:
    table = {DATA: ETAG, **values}
    return lambda uri: table.get(uri)


def _approved(**spec: Any) -> ApprovedVersion:
    fields = {"image": f"{REPO}:3", "image_digest": None, "model_data_url": DATA, "etag": ETAG, **spec}
    return ApprovedVersion(ARN, (ArtifactSpec(**fields),))


def _variant(*containers: Container) -> Variant:
    return Variant("AllTraffic", "churn-model", containers)


def test_a_container_naming_the_package_serves_it_whatever_the_case() -> None:
    assert names_package(Container(ARN.upper(), None, None), ARN)
    assert not names_package(Container(ARN[:-1] + "4", None, None), ARN)
    assert not names_package(Container(None, f"{REPO}:3", DATA), ARN)
    how = variant_serves(_variant(Container(ARN, None, None)), _approved(), _etags())
    assert how == "model churn-model names the package"


def test_image_without_a_pinned_digest_must_be_the_same_reference() -> None:
    assert image_matches(f"{REPO}:3", f"{REPO}:3", None)
    assert not image_matches(f"{REPO}:4", f"{REPO}:3", None)
    assert not image_matches(None, f"{REPO}:3", None)


def test_a_pinned_digest_is_checked_in_the_reference_or_the_resolved_image_never_by_tag() -> None:
    assert image_matches(f"{REPO}@{DIGEST}", f"{REPO}:3", DIGEST)
    assert image_matches(f"{REPO}:3", f"{REPO}:3", DIGEST, resolved=f"{REPO}@{DIGEST}")
    assert not image_matches(f"{REPO}:3", f"{REPO}:3", DIGEST), "a tag can be moved"
    assert not image_matches(f"{REPO}@sha256:{'cd' * 32}", f"{REPO}:3", DIGEST)
    assert not image_matches(f"{REPO}-other@{DIGEST}", f"{REPO}:3", DIGEST), "another repository"


def test_artifacts_match_only_with_the_same_model_data_and_an_unchanged_etag() -> None:
    same = _variant(Container(None, f"{REPO}:3", DATA))
    assert variant_serves(same, _approved(), _etags()) == (
        "model churn-model runs the snapshot's image and model data (ETag unchanged)"
    )
    assert variant_serves(same, _approved(), _etags(**{DATA: "other"})) is None, "model file replaced"
    assert variant_serves(same, _approved(), _etags(**{DATA: None})) is None, "model file gone"
    assert variant_serves(same, _approved(etag=None), _etags()) is None, "nothing pinned to compare"
    elsewhere = _variant(Container(None, f"{REPO}:3", "s3://models/churn/4/model.tar.gz"))
    assert variant_serves(elsewhere, _approved(), _etags()) is None
    two = _variant(Container(None, f"{REPO}:3", DATA), Container(None, f"{REPO}:3", DATA))
    assert variant_serves(two, _approved(), _etags()) is None, "containers must be the snapshot's, in order"
    assert variant_serves(same, ApprovedVersion(ARN), _etags()) is None, "no snapshot: by package only"


def test_the_snapshot_must_be_the_versions_own() -> None:
    manifest = {"model_package": {"arn": ARN[:-1] + "2", "inference_containers": []}}
    with pytest.raises(InvalidInputError, match="pass the version's own snapshot"):
        ApprovedVersion.from_manifest(ARN, manifest)
    manifest = {
        "model_package": {
            "arn": ARN,
            "inference_containers": [
                {
                    "image": f"{REPO}:3",
                    "image_digest": DIGEST,
                    "model_data_url": DATA,
                    "model_data": {"etag": ETAG},
                }
            ],
        }
    }
    assert ApprovedVersion.from_manifest(ARN, manifest).containers == (
        ArtifactSpec(f"{REPO}:3", DIGEST, DATA, ETAG),
    )


class FakeSageMaker:
    """Endpoints, configurations and models as SageMaker describes them; counts the reads."""

    def __init__(self) -> None:
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, int] = {}
        self.deleted: list[str] = []

    def _read(self, what: str) -> None:
        self.reads[what] = self.reads.get(what, 0) + 1

    def deploy(
        self, endpoint: str, container: dict[str, Any], status: str = "InService", **extra: Any
    ) -> None:
        self.models[endpoint] = {"ModelName": endpoint, "Containers": [container]}
        self.configs[endpoint] = {
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": endpoint}]
        }
        self.endpoints[endpoint] = {
            "EndpointName": endpoint,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}",
            "EndpointConfigName": endpoint,
            "EndpointStatus": status,
            "LastModifiedTime": "2026-12-01T10:00:00Z",
            **extra,
        }

    def iter_endpoints(self) -> Iterator[dict[str, Any]]:
        self._read("ListEndpoints")
        yield from ({"EndpointName": name} for name in list(self.endpoints))

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        self._read("DescribeEndpoint")
        return self.endpoints.get(name)

    def describe_endpoint_config(self, name: str) -> dict[str, Any] | None:
        self._read("DescribeEndpointConfig")
        return self.configs.get(name)

    def describe_model(self, name: str) -> dict[str, Any] | None:
        self._read("DescribeModel")
        return self.models.get(name)

    def object_etag(self, uri: str) -> str | None:
        self._read("HeadObject")
        return ETAG if uri == DATA else None

    def delete_endpoint(self, name: str) -> bool:
        self.deleted.append(name)
        return self.endpoints.pop(name, None) is not None


def test_the_resolver_finds_the_serving_endpoint_reading_each_configuration_and_model_once() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.deploy("other", {"Image": f"{REPO}:1"})
    sagemaker.deploy("creating", {"ModelPackageName": ARN}, status="Creating")
    sagemaker.deploy("churn", {"Image": f"{REPO}:3", "ModelDataUrl": DATA})
    resolver = EndpointResolver(sagemaker)

    evidence = resolver.evidence(_approved())
    assert evidence is not None and (evidence.endpoint, evidence.config_name) == ("churn", "churn")
    assert "ETag unchanged" in evidence.describe()
    again = resolver.evidence(_approved(), candidates=["churn"])
    assert again is not None and again.endpoint == "churn"
    assert sagemaker.reads["DescribeEndpointConfig"] == 3 and sagemaker.reads["DescribeModel"] == 3
    assert sagemaker.reads["HeadObject"] == 1, "ETags are read once per check"
    assert resolver.evidence(_approved(model_data_url="s3://models/other.tar.gz")) is None


def test_a_gone_configuration_or_model_is_a_problem_not_a_guess() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.deploy("churn", {"ModelPackageName": ARN})
    del sagemaker.configs["churn"]
    endpoint = EndpointResolver(sagemaker).resolve(sagemaker.endpoints["churn"])
    assert endpoint.problem and "endpoint configuration churn is gone" in endpoint.problem
    sagemaker.deploy("churn", {"ModelPackageName": ARN})
    del sagemaker.models["churn"]
    endpoint = EndpointResolver(sagemaker).resolve(sagemaker.endpoints["churn"])
    assert endpoint.problem and "model churn of variant AllTraffic is gone" in endpoint.problem


def test_the_image_an_endpoint_resolved_is_read_from_its_deployed_images() -> None:
    sagemaker = FakeSageMaker()
    deployed = [
        {
            "VariantName": "AllTraffic",
            "DeployedImages": [{"SpecifiedImage": f"{REPO}:3", "ResolvedImage": f"{REPO}@{DIGEST}"}],
        }
    ]
    sagemaker.deploy("churn", {"Image": f"{REPO}:3", "ModelDataUrl": DATA}, ProductionVariants=deployed)
    resolver = EndpointResolver(sagemaker)
    assert resolver.evidence(_approved(image_digest=DIGEST)) is not None
    sagemaker.endpoints["churn"]["ProductionVariants"] = []
    assert EndpointResolver(sagemaker).evidence(_approved(image_digest=DIGEST)) is None


def test_the_reconciler_refuses_an_unknown_decommission_setting() -> None:
    with pytest.raises(InvalidInputError, match=r"deployment\.on_decommission"):
        EndpointReconciler(
            inventory=None,  # type: ignore[arg-type]
            client=FakeSageMaker(),
            registry=None,  # type: ignore[arg-type]
            business_entity="retail",
            on_decommission="ignore",
        )
