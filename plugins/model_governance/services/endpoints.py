"""What SageMaker endpoints really serve, and governance's rules about it (no Airflow import).

"Deployed" means an endpoint serves the package that was approved, not that someone set
Deployment/Complete. What an endpoint serves is read down the chain endpoint -> the endpoint configuration
it runs now (``EndpointConfigName``; while ``Updating`` the old one still serves) -> each production
variant's model -> the model's containers. A variant serves a model version when

- one of its containers names the package (``ModelPackageName``, the version's ARN), or
- its containers are the snapshot's inference containers, in order, by artifacts: the same image (when
  the snapshot recorded a digest, that digest in the image reference or in the image the endpoint
  resolved it to, DescribeEndpoint's ``DeployedImages``), the same ``ModelDataUrl``, and that S3 object's
  ETag now equal to the ETag the snapshot pinned (a replaced model file does not match).

Endpoint configurations and models cannot be changed in SageMaker (only replaced), so one read of each
serves a whole reconcile. ``EndpointReconciler`` applies the rules to one registry for the lifecycle sync:

- an endpoint serving a governed package that is not Approved for Deployment or Deployed (a version of a
  linked group not yet onboarded included) is an urgent ``ungoverned_endpoint`` finding, resolved once it
  stops serving it (or the version is approved); an endpoint whose configuration or model is gone cannot
  be read and is reported the same way;
- a Deployed version that no endpoint serves any more (replaced on its endpoint, or the endpoint deleted)
  leaves Deployed for Model Change in Progress, the only status the life cycle allows from Deployed short
  of decommissioning; the status event names what the endpoint serves now, and SageMaker is told;
- an endpoint still serving a decommissioned version is deleted (``deployment.on_decommission:
  delete_endpoint``) or kept as an open finding until it stops (``report``, the default).

The reconcile attributes an endpoint to versions by the containers' ``ModelPackageName``; a container
built from a raw image and ``ModelDataUrl`` counts for keeping a Deployed version Deployed (artifact rule),
but the ungoverned and decommission rules see only package-named containers (docs/deployment.md: create
models from the package).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from model_governance.exceptions import InvalidInputError, RegistryError, StatusConflictError
from model_governance.inventory import (
    EventSource,
    Inventory,
    Model,
    SyncIssueKind,
    parse_model_package_arn,
)
from model_governance.lifecycle import GovernanceStatus
from model_governance.registry import MetadataKey

#: Endpoint statuses in which its current configuration takes requests.
LIVE_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})
#: Statuses in which an endpoint still holds its configuration (down for a moment is not replaced).
PRESENT_STATUSES = LIVE_STATUSES | {"OutOfService"}
#: Governance statuses whose versions may be served.
SERVABLE = frozenset({GovernanceStatus.APPROVED_FOR_DEPLOYMENT, GovernanceStatus.DEPLOYED})
_RETIRED = frozenset({GovernanceStatus.DECOMMISSIONING, GovernanceStatus.DECOMMISSIONED})
#: The status a Deployed version moves to when no endpoint serves it any more (lifecycle.py allows only
#: this from Deployed, besides decommissioning).
REPLACED_STATUS = GovernanceStatus.MODEL_CHANGE_IN_PROGRESS
UNGOVERNED = SyncIssueKind.UNGOVERNED_ENDPOINT
ON_DECOMMISSION = ("delete_endpoint", "report")


def checked_on_decommission(value: str) -> str:
    """``deployment.on_decommission`` as a service is given it; refused unless one of ``ON_DECOMMISSION``."""
    if value not in ON_DECOMMISSION:
        raise InvalidInputError(
            f"deployment.on_decommission is {value!r}; use one of {', '.join(ON_DECOMMISSION)}."
        )
    return value


ACTOR = "endpoint-reconcile"


class EndpointClient(Protocol):
    """The SageMaker reads (and the one delete) the rules need; ``SageMakerJobsHook`` in production."""

    def iter_endpoints(self) -> Iterator[dict[str, Any]]: ...
    def describe_endpoint(self, name: str) -> dict[str, Any] | None: ...
    def describe_endpoint_config(self, name: str) -> dict[str, Any] | None: ...
    def describe_model(self, name: str) -> dict[str, Any] | None: ...
    def object_etag(self, uri: str) -> str | None: ...
    def delete_endpoint(self, name: str) -> bool: ...


class StatusWriter(Protocol):
    """Writes a governance status to a package's ``ModelLifeCycle`` (``SageMakerRegistryHook``)."""

    def write_status(
        self, arn: str, status: GovernanceStatus | str, *, token_parts: Sequence[str], description: str | None
    ) -> dict[str, Any]: ...


# -- what an endpoint serves -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """One container of a SageMaker model."""

    package: str | None  # ModelPackageName (a version's ARN, or a name)
    image: str | None
    model_data_url: str | None
    #: The image the endpoint really runs for ``image`` (DescribeEndpoint's DeployedImages ResolvedImage,
    #: ``repo@sha256:...``), when SageMaker says.
    resolved_image: str | None = None


@dataclass(frozen=True)
class Variant:
    name: str
    model_name: str
    containers: tuple[Container, ...]


@dataclass(frozen=True)
class ServingEndpoint:
    """An endpoint and what its current configuration runs. ``problem`` says why it could not be read."""

    name: str
    arn: str
    status: str
    config_name: str
    last_modified: str
    variants: tuple[Variant, ...] = ()
    problem: str | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def present(self) -> bool:
        return self.status in PRESENT_STATUSES

    def packages(self) -> set[str]:
        """The package references (lower case) its containers name."""
        return {c.package.lower() for v in self.variants for c in v.containers if c.package}

    def summary(self) -> str:
        served = sorted({c.package or c.image or "?" for v in self.variants for c in v.containers}) or [
            "nothing readable"
        ]
        return f"endpoint {self.name} ({self.status}, configuration {self.config_name}: {', '.join(served)})"


@dataclass(frozen=True)
class ArtifactSpec:
    """One inference container as the snapshot pinned it."""

    image: str | None
    image_digest: str | None
    model_data_url: str | None
    etag: str | None


@dataclass(frozen=True)
class ApprovedVersion:
    """What governance approved: the package ARN and, from its snapshot, the containers' artifacts."""

    package_arn: str
    containers: tuple[ArtifactSpec, ...] = ()
    snapshot: str | None = None

    @classmethod
    def from_manifest(cls, package_arn: str, manifest: Mapping[str, Any] | None) -> ApprovedVersion:
        package = (manifest or {}).get("model_package") or {}
        pinned_arn = package.get("arn")
        if pinned_arn and str(pinned_arn).lower() != package_arn.lower():
            raise InvalidInputError(
                f"The snapshot given for {package_arn} is of package {pinned_arn}; pass the version's own "
                "snapshot."
            )
        specs = tuple(
            ArtifactSpec(
                image=c.get("image"),
                image_digest=c.get("image_digest"),
                model_data_url=c.get("model_data_url"),
                etag=((c.get("model_data") or {}).get("etag")),
            )
            for c in package.get("inference_containers") or []
        )
        return cls(package_arn, specs)


def _repository(image: str) -> str:
    """``registry/repo`` of an image reference without its ``:tag`` or ``@digest``."""
    name = image.partition("@")[0]
    head, _, tail = name.rpartition("/")
    return f"{head}/{tail.partition(':')[0]}" if head else tail.partition(":")[0]


def image_matches(
    served: str | None, image: str | None, digest: str | None, resolved: str | None = None
) -> bool:
    """A served image is the pinned one. When the snapshot pinned a digest: the same repository, and the
    digest in the served reference (``repo@sha256:...``) or in what the endpoint resolved it to; a tag
    alone is not trusted (it can be moved). With no digest pinned: the same reference."""
    if not served:
        return False
    if digest:
        if image and _repository(served) != _repository(image):
            return False
        digests = {ref.partition("@")[2] for ref in (served, resolved or "") if "@" in ref}
        return digest in digests
    return served == image


def names_package(container: Container, package_arn: str) -> bool:
    """The container names this version (ARNs compare case-insensitively: SageMaker lowercases names)."""
    return bool(container.package) and str(container.package).lower() == package_arn.lower()


def _artifacts_match(
    containers: Sequence[Container], specs: Sequence[ArtifactSpec], etag_of: Callable[[str], str | None]
) -> bool:
    if not specs or len(containers) != len(specs):
        return False
    for container, spec in zip(containers, specs, strict=True):
        if not image_matches(container.image, spec.image, spec.image_digest, container.resolved_image):
            return False
        if container.model_data_url != spec.model_data_url:
            return False
        if spec.model_data_url and (not spec.etag or etag_of(spec.model_data_url) != spec.etag):
            return False
    return True


def variant_serves(
    variant: Variant, approved: ApprovedVersion, etag_of: Callable[[str], str | None]
) -> str | None:
    """How this variant serves the approved version (said in words), or None when it does not."""
    if any(names_package(c, approved.package_arn) for c in variant.containers):
        return f"model {variant.model_name} names the package"
    if _artifacts_match(variant.containers, approved.containers, etag_of):
        return f"model {variant.model_name} runs the snapshot's image and model data (ETag unchanged)"
    return None


@dataclass(frozen=True)
class Evidence:
    """An endpoint found serving a version, and how."""

    endpoint: str
    endpoint_arn: str
    config_name: str
    how: str

    def describe(self) -> str:
        return f"endpoint {self.endpoint} serves it with configuration {self.config_name} ({self.how})"


class EndpointResolver:
    """Reads endpoints down to their containers, caching configurations, models and ETags (immutable for
    the length of one check or reconcile)."""

    def __init__(self, client: EndpointClient) -> None:
        self.client = client
        self._configs: dict[str, dict[str, Any] | None] = {}
        self._models: dict[str, dict[str, Any] | None] = {}
        self._etags: dict[str, str | None] = {}

    def etag(self, uri: str) -> str | None:
        if uri not in self._etags:
            self._etags[uri] = self.client.object_etag(uri)
        return self._etags[uri]

    def resolve(self, described: Mapping[str, Any]) -> ServingEndpoint:
        """What a ``DescribeEndpoint`` answer's current configuration runs."""
        name = str(described.get("EndpointName", ""))
        config_name = str(described.get("EndpointConfigName", ""))
        base: dict[str, Any] = {
            "name": name,
            "arn": str(described.get("EndpointArn", "")),
            "status": str(described.get("EndpointStatus", "")),
            "config_name": config_name,
            "last_modified": str(described.get("LastModifiedTime") or described.get("CreationTime") or ""),
        }
        if config_name not in self._configs:
            self._configs[config_name] = self.client.describe_endpoint_config(config_name)
        config = self._configs[config_name]
        if config is None:
            return ServingEndpoint(
                **base,
                problem=f"its endpoint configuration {config_name} is gone, so what it serves is unknown",
            )
        deployed = {  # what each variant's images resolved to, by variant and specified image
            (str(v.get("VariantName", "")), str(d.get("SpecifiedImage", ""))): d.get("ResolvedImage")
            for v in described.get("ProductionVariants") or []
            for d in v.get("DeployedImages") or []
        }
        variants: list[Variant] = []
        for variant in config.get("ProductionVariants") or []:
            model_name = str(variant.get("ModelName", ""))
            if model_name not in self._models:
                self._models[model_name] = self.client.describe_model(model_name) if model_name else None
            model = self._models[model_name]
            if model is None:
                return ServingEndpoint(
                    **base,
                    variants=tuple(variants),
                    problem=f"model {model_name or '(none)'} of variant {variant.get('VariantName')} is "
                    "gone, so what it serves is unknown",
                )
            variant_name = str(variant.get("VariantName", ""))
            containers = tuple(
                replace(c, resolved_image=deployed.get((variant_name, c.image or "")))
                for c in _containers(model)
            )
            variants.append(Variant(variant_name, model_name, containers))
        return ServingEndpoint(**base, variants=tuple(variants))

    def endpoints(self) -> list[ServingEndpoint]:
        """Every endpoint of the registry, resolved (an endpoint deleted while listing is skipped)."""
        found: list[ServingEndpoint] = []
        for summary in self.client.iter_endpoints():
            described = self.client.describe_endpoint(str(summary["EndpointName"]))
            if described is not None:
                found.append(self.resolve(described))
        return found

    def evidence(
        self,
        approved: ApprovedVersion,
        *,
        candidates: Iterable[str] = (),
        endpoints: Sequence[ServingEndpoint] | None = None,
    ) -> Evidence | None:
        """The first live endpoint serving the approved version: the ``candidates`` (endpoint names the
        caller expects) first, then every endpoint of the registry; None when none serves it."""
        seen: set[str] = set()

        def scan() -> Iterator[ServingEndpoint]:
            for name in candidates:
                if name and name not in seen:
                    seen.add(name)
                    described = self.client.describe_endpoint(name)
                    if described is not None:
                        yield self.resolve(described)
            for endpoint in endpoints if endpoints is not None else self._listed(seen):
                if endpoint.name not in seen:
                    yield endpoint

        for endpoint in scan():
            if not endpoint.live:
                continue
            for variant in endpoint.variants:
                how = variant_serves(variant, approved, self.etag)
                if how:
                    return Evidence(endpoint.name, endpoint.arn, endpoint.config_name, how)
        return None

    def _listed(self, seen: set[str]) -> Iterator[ServingEndpoint]:
        for summary in self.client.iter_endpoints():
            name = str(summary["EndpointName"])
            if name in seen:
                continue
            described = self.client.describe_endpoint(name)
            if described is not None:
                yield self.resolve(described)


def _containers(model: Mapping[str, Any]) -> Iterator[Container]:
    raw = list(model.get("Containers") or [])
    primary = model.get("PrimaryContainer") or {}
    if not raw and primary:
        raw = [primary]
    for item in raw:
        yield Container(
            package=item.get("ModelPackageName") or None,
            image=item.get("Image") or None,
            model_data_url=item.get("ModelDataUrl") or None,
        )


def approved_version(inventory: Inventory, model: Model) -> ApprovedVersion:
    """The version as governance approved it: the snapshot approved for production, else the newest."""
    snapshot = inventory.approved_snapshot(model) or inventory.latest_snapshot(model)
    if snapshot is None:
        return ApprovedVersion(model.package_arn)
    version = ApprovedVersion.from_manifest(model.package_arn, snapshot.manifest)
    return ApprovedVersion(version.package_arn, version.containers, snapshot.content_hash)


class DeploymentCheck:
    """Is this model version served? Used by the MLC's wait for deployment and the lifecycle sync's
    acceptance of Deployment/Complete: both record Deployed only with evidence."""

    def __init__(self, *, inventory: Inventory, client: EndpointClient) -> None:
        self.inventory = inventory
        self.resolver = EndpointResolver(client)

    def evidence(self, model: Model, *, candidates: Iterable[str] = ()) -> Evidence | None:
        return self.resolver.evidence(approved_version(self.inventory, model), candidates=candidates)


# -- the per-registry reconcile ----------------------------------------------------------------------------


@dataclass
class EndpointFinding:
    """News for the sync run's summary (kind as in ``sync.Finding``)."""

    kind: str
    package_arn: str | None
    detail: str


@dataclass
class EndpointReport:
    endpoints: int = 0
    findings: list[EndpointFinding] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    resolved: int = 0
    writes: int = 0


class EndpointReconciler:
    """Keeps one registry's endpoints and the inventory's statuses honest (see the module docstring)."""

    def __init__(
        self,
        *,
        inventory: Inventory,
        client: EndpointClient,
        registry: StatusWriter,
        business_entity: str,
        on_decommission: str = "report",
        log: logging.Logger | None = None,
    ) -> None:
        self.inventory = inventory
        self.client = client
        self.registry = registry
        self.business_entity = business_entity
        self.on_decommission = checked_on_decommission(on_decommission)
        self.log = log or logging.getLogger(__name__)
        self.resolver = EndpointResolver(client)

    def check(self) -> DeploymentCheck:
        """A deployment check sharing this reconcile's reads."""
        check = DeploymentCheck(inventory=self.inventory, client=self.client)
        check.resolver = self.resolver
        return check

    def confirm_deployed(self, model: Model, package: Mapping[str, Any] | None) -> tuple[bool, str]:
        """Whether SageMaker's Deployment/Complete for ``model`` may be recorded, and why in words: only
        when an endpoint serves the approved version (the endpoint the package names first)."""
        metadata = (package or {}).get("CustomerMetadataProperties") or {}
        named = metadata.get(MetadataKey.ENDPOINT)
        evidence = self.check().evidence(model, candidates=[named] if named else [])
        if evidence is not None:
            return True, evidence.describe()
        return False, (
            f"SageMaker shows Deployment/Complete for {model.package_arn} but no endpoint serves it (by "
            "ModelPackageName, or by the snapshot's image and model data); Deployed is recorded only once "
            "an endpoint serves the approved version, so governance's status was written back"
        )

    def reconcile(self) -> EndpointReport:
        report = EndpointReport()
        endpoints = self.resolver.endpoints()
        report.endpoints = len(endpoints)
        models = {m.package_arn.lower(): m for m in self.inventory.governed_models(self.business_entity)}
        linked = self.inventory.linked_group_arns(self.business_entity)
        # A champion whose model change is under way (action start_change) still serves until replaced.
        changing = self.inventory.changing_champions(self.business_entity)
        current: dict[str, tuple[str, Model | None, str]] = {}  # dedup key -> (package, model, detail)
        readable = True
        for endpoint in endpoints:
            if not endpoint.live:
                continue
            if endpoint.problem:
                readable = False
                key = self._key(endpoint, "unreadable")
                current[key] = ("", None, f"{endpoint.summary()}: {endpoint.problem}")
                continue
            for reference in sorted(endpoint.packages()):
                model = models.get(reference)
                if model is None and not _in_linked_group(reference, linked):
                    continue  # a package of a group no use case owns: not governed here
                status = GovernanceStatus(model.status) if model is not None else None
                if status in SERVABLE or reference in changing:
                    continue
                if status in _RETIRED and self.on_decommission == "delete_endpoint":
                    assert model is not None
                    self._delete(endpoint, model, report)
                    continue
                why = (
                    f"a version governance has not onboarded ({reference})"
                    if model is None
                    else f"model {model.id} in status {status.value if status else '?'}"
                )
                detail = (
                    f"{endpoint.summary()} serves {why}, which is not Approved for Deployment or Deployed"
                )
                if status in _RETIRED:
                    detail += "; it stays flagged until the endpoint stops serving it"
                current[self._key(endpoint, reference)] = (reference, model, detail)
        self._record(current, report)
        if readable:
            self._leave_deployed(endpoints, models.values(), report)
        else:
            self.log.warning(
                "Registry %s has endpoints that cannot be read; no Deployed model is moved this time",
                self.business_entity,
            )
        return report

    # -- helpers -----------------------------------------------------------------------------------------

    def _key(self, endpoint: ServingEndpoint, reference: str) -> str:
        # A later redeploy of the same package makes a new finding (LastModifiedTime moves).
        return f"{UNGOVERNED.value}:{endpoint.arn}:{endpoint.last_modified}:{reference}"

    def _record(self, current: Mapping[str, tuple[str, Model | None, str]], report: EndpointReport) -> None:
        for key, (reference, model, detail) in current.items():
            _, created = self.inventory.record_sync_issue(
                kind=UNGOVERNED,
                dedup_key=key,
                detail=detail,
                business_entity=self.business_entity,
                model=model.id if model is not None else None,
                package_arn=model.package_arn if model is not None else (reference or None),
            )
            if created:
                arn = model.package_arn if model is not None else reference or None
                report.findings.append(EndpointFinding(UNGOVERNED.value, arn, detail))
        stale = [
            issue.id
            for issue in self.inventory.open_sync_issues(
                business_entity=self.business_entity, kinds=[UNGOVERNED], limit=10_000
            )
            if issue.dedup_key not in current
        ]
        if stale:
            report.resolved += self.inventory.resolve_sync_issue_ids(stale)

    def _delete(self, endpoint: ServingEndpoint, model: Model, report: EndpointReport) -> None:
        detail = (
            f"{endpoint.summary()} served decommissioned model {model.id} ({model.package_arn}); deleted it "
            "(deployment.on_decommission: delete_endpoint)"
        )
        self.inventory.record_sync_issue(
            kind=UNGOVERNED,
            dedup_key=self._key(endpoint, f"deleted:{model.package_arn.lower()}"),
            detail=detail,
            business_entity=self.business_entity,
            model=model.id,
            package_arn=model.package_arn,
        )
        if endpoint.name in report.deleted:
            return
        self.client.delete_endpoint(endpoint.name)
        report.deleted.append(endpoint.name)
        report.findings.append(EndpointFinding(UNGOVERNED.value, model.package_arn, detail))
        self.log.warning("Deleted endpoint %s: %s", endpoint.name, detail)

    def _leave_deployed(
        self, endpoints: Sequence[ServingEndpoint], models: Iterable[Model], report: EndpointReport
    ) -> None:
        present = [e for e in endpoints if e.present]
        for model in models:
            if model.status != GovernanceStatus.DEPLOYED.value:
                continue
            approved = approved_version(self.inventory, model)
            if any(variant_serves(v, approved, self.resolver.etag) for e in present for v in e.variants):
                continue
            now = "; ".join(e.summary() for e in present if e.packages() or e.variants) or "no endpoints"
            reason = f"no endpoint serves {model.package_arn} any more (now: {now})"[:1000]
            try:
                event = self.inventory.transition(
                    model,
                    REPLACED_STATUS,
                    source=EventSource.GOVERNANCE,
                    actor=ACTOR,
                    reason=reason,
                    expected_from=GovernanceStatus.DEPLOYED,
                )
            except StatusConflictError as exc:  # moved meanwhile: the next reconcile looks again
                self.log.info("Not moving %s: %s", model.package_arn, exc)
                continue
            try:
                self.registry.write_status(
                    model.package_arn,
                    REPLACED_STATUS,
                    token_parts=("endpoint-reconcile", "replaced", str(model.id), str(event.id)),
                    description=f"governance: {reason}"[:1024],
                )
                report.writes += 1
            except RegistryError as exc:  # recorded in the inventory; the package sync writes it back later
                self.log.warning("Could not write %s to %s: %s", REPLACED_STATUS, model.package_arn, exc)
            report.replaced.append(model.package_arn)
            report.findings.append(
                EndpointFinding("deployment_ended", model.package_arn, f"left Deployed: {reason}")
            )


def _in_linked_group(reference: str, linked: set[str]) -> bool:
    try:
        return parse_model_package_arn(reference).group_arn.lower() in linked
    except InvalidInputError:
        return False


__all__ = [
    "ApprovedVersion",
    "ArtifactSpec",
    "Container",
    "DeploymentCheck",
    "EndpointClient",
    "EndpointReconciler",
    "EndpointReport",
    "EndpointResolver",
    "Evidence",
    "ServingEndpoint",
    "Variant",
    "approved_version",
    "image_matches",
    "names_package",
    "variant_serves",
]
