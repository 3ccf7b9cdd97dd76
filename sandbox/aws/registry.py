"""In-memory SageMaker Model Registry: model package groups and model packages, as AWS behaves.

moto 5.2 drops ModelLifeCycle/ModelCard, wipes fields on update, has no deletes and cannot search on
ModelLifeCycle.Stage (see FACTS.md), so these operations are answered here instead of by moto. Every other
SageMaker action still goes to moto.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.aws import search
from sandbox.aws.errors import AwsError
from sandbox.aws.model_card_schema import check_content
from sandbox.aws.search_index import PackageIndex, check_expression
from sandbox.aws.validation import operation, sagemaker_model, validate

# (kind, package description as Describe returns it, updated field names) -> None
EventSink = Callable[[str, dict[str, Any], list[str]], None]

# Fields CreateModelPackage stores and DescribeModelPackage gives back as they were sent.
_CREATE_STORED_FIELDS = (
    "ModelPackageDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "ValidationSpecification",
    "SourceAlgorithmSpecification",
    "CertifyForMarketplace",
    "ModelApprovalStatus",
    "MetadataProperties",
    "ModelMetrics",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "CustomerMetadataProperties",
    "DriftCheckBaselines",
    "AdditionalInferenceSpecifications",
    "SkipModelValidation",
    "SourceUri",
    "SecurityConfig",
    "ModelCard",
    "ModelLifeCycle",
    "ManagedStorageType",
)
# Fields UpdateModelPackage replaces when given (the others have merge rules of their own).
_UPDATE_REPLACED_FIELDS = (
    "ModelApprovalStatus",
    "ApprovalDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "SourceUri",
    "ModelLifeCycle",
)
DEFAULT_PAGE = 10  # SageMaker list/search APIs answer 10 items when MaxResults is not given


#: The access key that signed the request being answered (set by the app around each registry call).
_caller = threading.local()
#: Access keys ``studio-<name>`` stand for a SageMaker Studio user profile ``<name>``; others for an IAM user.
STUDIO_ACCESS_KEY_PREFIX = "studio-"
STUDIO_DOMAIN_ID = "d-sandbox"


@contextlib.contextmanager
def acting_as(access_key: str) -> Iterator[None]:
    """Answer the registry calls inside as made by ``access_key`` (CreatedBy / LastModifiedBy)."""
    previous = getattr(_caller, "access_key", "")
    _caller.access_key = access_key
    try:
        yield
    finally:
        _caller.access_key = previous


def user_context(account_id: str, region: str) -> dict[str, Any]:
    """The ``UserContext`` AWS records for the current caller: a Studio user profile, or an IAM identity."""
    key = getattr(_caller, "access_key", "") or "anonymous"
    if key.startswith(STUDIO_ACCESS_KEY_PREFIX) and len(key) > len(STUDIO_ACCESS_KEY_PREFIX):
        profile = key[len(STUDIO_ACCESS_KEY_PREFIX) :]
        profile_arn = f"arn:aws:sagemaker:{region}:{account_id}:user-profile/{STUDIO_DOMAIN_ID}/{profile}"
        return {
            "UserProfileArn": profile_arn,
            "UserProfileName": profile,
            "DomainId": STUDIO_DOMAIN_ID,
            "IamIdentity": {
                "Arn": f"arn:aws:sts::{account_id}:assumed-role/SageMakerStudioExecutionRole/{profile}",
                "PrincipalId": f"AROASANDBOX:{profile}",
            },
        }
    return {"IamIdentity": {"Arn": f"arn:aws:iam::{account_id}:user/{key}", "PrincipalId": key}}


def _summary_fields(shape_name: str) -> tuple[str, ...]:
    return tuple(sagemaker_model().shape_for(shape_name).members)


def _not_found(kind: str, name: str) -> AwsError:
    return AwsError("ValidationException", f"{kind} {name} does not exist.")


@dataclass
class Group:
    name: str
    arn: str
    description: str | None
    created: float
    tags: list[dict[str, str]] = field(default_factory=list)
    last_version: int = 0  # versions are never reused, even after a delete


@dataclass
class Package:
    arn: str
    group: str | None  # lower-cased group key, None for an unversioned package
    desc: dict[str, Any]
    tags: list[dict[str, str]] = field(default_factory=list)


class Registry:
    """One account and region's model package groups and packages. Thread-safe."""

    def __init__(self, account_id: str, region: str, emit: EventSink | None = None) -> None:
        self.account_id = account_id
        self.region = region
        self._emit = emit
        self._lock = threading.RLock()
        self._groups: dict[str, Group] = {}
        self._packages: dict[str, Package] = {}  # by ARN
        self._index = PackageIndex()  # group, stage and modification order, for Search
        self.search_index = True  # False: every Search scans all packages (the tests compare the two)
        # Bumped by every write to a package: a Search's sorted matches are kept for the next page of the
        # same query while nothing changed (paging 10,000 packages re-sorted all of them per page).
        self._generation = 0
        self._matches: tuple[tuple[int, str], list[dict[str, Any]]] | None = None
        self._create_tokens: dict[str, str] = {}  # ClientToken -> ARN
        self._update_tokens: dict[tuple[str, str], str] = {}  # (ARN, ClientToken) -> ARN
        self._clock = 0.0

    # ---- helpers -------------------------------------------------------------------------------------
    def _now(self) -> float:
        # Millisecond precision like AWS, and strictly increasing so that ordering by LastModifiedTime
        # is total even for writes in the same millisecond.
        now = round(time.time(), 3)
        if now <= self._clock:
            now = round(self._clock + 0.001, 3)
        self._clock = now
        return now

    def _arn(self, kind: str, path: str) -> str:
        # SageMaker lower-cases resource names inside ARNs.
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{kind}/{path.lower()}"

    def _group(self, name_or_arn: str) -> Group:
        key = name_or_arn
        if name_or_arn.startswith("arn:"):
            prefix = self._arn("model-package-group", "")
            if not name_or_arn.lower().startswith(prefix):
                raise _not_found("ModelPackageGroup", name_or_arn)
            key = name_or_arn[len(prefix) :]
        group = self._groups.get(key.lower())
        if group is None:
            raise _not_found("ModelPackageGroup", name_or_arn)
        return group

    def _package(self, ident: str) -> Package:
        path = ident
        if ident.startswith("arn:"):
            prefix = self._arn("model-package", "")
            if not ident.lower().startswith(prefix):
                raise _not_found("ModelPackage", ident)
            path = ident[len(prefix) :]
        package = self._packages.get(self._arn("model-package", path))
        if package is None:
            raise _not_found("ModelPackage", ident)
        return package

    def _emit_event(self, kind: str, package: Package, updated: list[str]) -> None:
        if self._emit is not None:
            self._emit(kind, self._describe(package), updated)

    @staticmethod
    def _page(items: list[Any], params: Mapping[str, Any], query: Any) -> tuple[list[Any], str | None]:
        """Offset paging with a token bound to the query, so a token from another query is refused."""
        digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]
        offset = 0
        token = params.get("NextToken")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                offset, token_digest = int(decoded["o"]), decoded["q"]
            except (ValueError, KeyError, TypeError) as exc:
                raise AwsError("ValidationException", f"NextToken '{token}' is not valid.") from exc
            if token_digest != digest:
                raise AwsError(
                    "ValidationException",
                    "NextToken belongs to a different request: repeat the same filters and sort with it.",
                )
        size = params.get("MaxResults") or DEFAULT_PAGE
        page = items[offset : offset + size]
        next_token = None
        if offset + size < len(items):
            next_token = base64.urlsafe_b64encode(json.dumps({"o": offset + size, "q": digest}).encode())
            return page, next_token.decode()
        return page, None

    def _describe(self, package: Package, included_data: str | None = None) -> dict[str, Any]:
        desc = copy.deepcopy(package.desc)
        if included_data == "MetadataOnly" and "ModelCard" in desc:
            desc["ModelCard"].pop("ModelCardContent", None)
        return desc

    # ---- groups --------------------------------------------------------------------------------------
    def create_model_package_group(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("CreateModelPackageGroup", params)
        name = params["ModelPackageGroupName"]
        with self._lock:
            if name.lower() in self._groups:
                raise AwsError(
                    "ValidationException",
                    f"Model Package Group already exists: {self._arn('model-package-group', name)}",
                )
            _check_unique_tag_keys(params.get("Tags", []))
            group = Group(
                name=name,
                arn=self._arn("model-package-group", name),
                description=params.get("ModelPackageGroupDescription"),
                created=self._now(),
                tags=copy.deepcopy(params.get("Tags", [])),
            )
            self._groups[name.lower()] = group
            return {"ModelPackageGroupArn": group.arn}

    def _group_view(self, group: Group) -> dict[str, Any]:
        view: dict[str, Any] = {
            "ModelPackageGroupName": group.name,
            "ModelPackageGroupArn": group.arn,
            "CreationTime": group.created,
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        }
        if group.description is not None:
            view["ModelPackageGroupDescription"] = group.description
        return view

    def describe_model_package_group(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("DescribeModelPackageGroup", params)
        with self._lock:
            return self._group_view(self._group(params["ModelPackageGroupName"]))

    def list_model_package_groups(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("ListModelPackageGroups", params)
        with self._lock:
            groups = [self._group_view(g) for g in self._groups.values()]
        contains = params.get("NameContains")
        if contains:
            groups = [g for g in groups if contains.lower() in g["ModelPackageGroupName"].lower()]
        groups = _time_window(groups, params)
        sort_by = {"Name": "ModelPackageGroupName"}.get(params.get("SortBy", "CreationTime"), "CreationTime")
        search.sort_records(
            groups, sort_by, params.get("SortOrder", "Ascending") == "Descending", "ModelPackageGroupArn"
        )
        fields = _summary_fields("ModelPackageGroupSummary")
        page, token = self._page(groups, params, _query_of(params))
        out: dict[str, Any] = {"ModelPackageGroupSummaryList": [_pick(g, fields) for g in page]}
        if token:
            out["NextToken"] = token
        return out

    def delete_model_package_group(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("DeleteModelPackageGroup", params)
        with self._lock:
            group = self._group(params["ModelPackageGroupName"])
            if any(p.group == group.name.lower() for p in self._packages.values()):
                raise AwsError(
                    "ConflictException",
                    f"Model Package Group {group.name} still has model packages: delete every version "
                    "first (DeleteModelPackage), then the group.",
                )
            del self._groups[group.name.lower()]
            return {}

    # ---- packages ------------------------------------------------------------------------------------
    def create_model_package(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("CreateModelPackage", params)
        name = params.get("ModelPackageName")
        group_ref = params.get("ModelPackageGroupName")
        with self._lock:
            token = params.get("ClientToken")
            if token and token in self._create_tokens:
                return {"ModelPackageArn": self._create_tokens[token]}
            if bool(name) == bool(group_ref):
                raise AwsError(
                    "ValidationException",
                    "Give exactly one of ModelPackageName (an unversioned package) or "
                    "ModelPackageGroupName (a new version in that group).",
                )
            _check_model_card(params.get("ModelCard"), None)
            now = self._now()
            desc: dict[str, Any] = {k: copy.deepcopy(params[k]) for k in _CREATE_STORED_FIELDS if k in params}
            desc.setdefault("CertifyForMarketplace", False)
            if group_ref:
                if "Tags" in params:
                    raise AwsError(
                        "ValidationException",
                        "Tags cannot be set on a versioned model package: it inherits the tags of its "
                        "model package group; tag the group instead.",
                    )
                group = self._group(group_ref)
                group.last_version += 1
                arn = self._arn("model-package", f"{group.name}/{group.last_version}")
                desc.update(
                    ModelPackageName=group.name,
                    ModelPackageGroupName=group.name,
                    ModelPackageVersion=group.last_version,
                )
                desc.setdefault("ModelApprovalStatus", "PendingManualApproval")
                tags = copy.deepcopy(group.tags)
                group_key: str | None = group.name.lower()
            else:
                assert name is not None
                arn = self._arn("model-package", name)
                if arn in self._packages:
                    raise AwsError("ValidationException", f"Model Package already exists: {arn}")
                if "ModelApprovalStatus" in params:
                    raise AwsError(
                        "ValidationException",
                        "ModelApprovalStatus applies only to versioned model packages: create the package "
                        "with ModelPackageGroupName, or leave ModelApprovalStatus out.",
                    )
                desc["ModelPackageName"] = name
                _check_unique_tag_keys(params.get("Tags", []))
                tags = copy.deepcopy(params.get("Tags", []))
                group_key = None
            who = user_context(self.account_id, self.region)
            desc.update(
                ModelPackageArn=arn,
                CreationTime=now,
                LastModifiedTime=now,
                CreatedBy=who,
                LastModifiedBy=copy.deepcopy(who),
                ModelPackageStatus="Completed",
                ModelPackageStatusDetails={"ValidationStatuses": []},
            )
            package = Package(arn=arn, group=group_key, desc=desc, tags=tags)
            self._packages[arn] = package
            self._index.put(arn, desc)
            self._generation += 1
            if token:
                self._create_tokens[token] = arn
            self._emit_event("create", package, [])
            return {"ModelPackageArn": arn}

    def describe_model_package(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("DescribeModelPackage", params)
        with self._lock:
            return self._describe(self._package(params["ModelPackageName"]), params.get("IncludedData"))

    def batch_describe_model_package(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("BatchDescribeModelPackage", params)
        fields = _summary_fields("BatchDescribeModelPackageSummary")
        out: dict[str, Any] = {"ModelPackageSummaries": {}, "BatchDescribeModelPackageErrorMap": {}}
        with self._lock:
            for arn in params["ModelPackageArnList"]:
                try:
                    out["ModelPackageSummaries"][arn] = _pick(self._describe(self._package(arn)), fields)
                except AwsError as err:
                    out["BatchDescribeModelPackageErrorMap"][arn] = {
                        "ErrorCode": err.code,
                        "ErrorResponse": err.message,
                    }
        return out

    def list_model_packages(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("ListModelPackages", params)
        with self._lock:
            group_key = None
            if params.get("ModelPackageGroupName"):
                group_key = self._group(params["ModelPackageGroupName"]).name.lower()
            kind = params.get("ModelPackageType") or ("Both" if group_key else "Unversioned")
            # Filter before describing: a description is a deep copy, and a group is a small part of a
            # registry of 10,000 packages (the naive baselines list one group per event).
            descs = [
                self._describe(p)
                for p in self._packages.values()
                if (not group_key or p.group == group_key)
                and (kind != "Versioned" or p.group is not None)
                and (kind != "Unversioned" or p.group is None)
            ]
        if params.get("ModelApprovalStatus"):
            descs = [d for d in descs if d.get("ModelApprovalStatus") == params["ModelApprovalStatus"]]
        if params.get("NameContains"):
            needle = params["NameContains"].lower()
            descs = [d for d in descs if needle in d["ModelPackageName"].lower()]
        descs = _time_window(descs, params)
        sort_by = {"Name": "ModelPackageName"}.get(params.get("SortBy", "CreationTime"), "CreationTime")
        search.sort_records(
            descs, sort_by, params.get("SortOrder", "Ascending") == "Descending", "ModelPackageArn"
        )
        fields = _summary_fields("ModelPackageSummary")
        page, token = self._page(descs, params, _query_of(params))
        out: dict[str, Any] = {"ModelPackageSummaryList": [_pick(d, fields) for d in page]}
        if token:
            out["NextToken"] = token
        return out

    def update_model_package(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("UpdateModelPackage", params)
        with self._lock:
            package = self._package(params["ModelPackageArn"])
            token = params.get("ClientToken")
            if token and (package.arn, token) in self._update_tokens:
                return {"ModelPackageArn": package.arn}
            desc = copy.deepcopy(package.desc)
            updated: list[str] = []
            for key in _UPDATE_REPLACED_FIELDS:
                if key in params and params[key] != desc.get(key):
                    desc[key] = copy.deepcopy(params[key])
                    updated.append(key)
            if "ModelApprovalStatus" in params and package.group is None:
                raise AwsError(
                    "ValidationException",
                    "ModelApprovalStatus applies only to versioned model packages; "
                    f"{package.arn} is unversioned.",
                )
            self._update_metadata(desc, params, updated)
            self._update_additional_specs(desc, params, updated)
            if "ModelCard" in params:
                current = desc.get("ModelCard")
                _check_model_card(params["ModelCard"], current)
                card = {**(current or {}), **params["ModelCard"]}
                if card != current:
                    desc["ModelCard"] = card
                    updated.append("ModelCard")
            if updated:
                desc["LastModifiedTime"] = self._now()
                desc["LastModifiedBy"] = user_context(self.account_id, self.region)
                package.desc = desc
                self._index.put(package.arn, desc)
                self._generation += 1
            if token:
                self._update_tokens[(package.arn, token)] = package.arn
            if updated:
                self._emit_event("update", package, updated)
            return {"ModelPackageArn": package.arn}

    @staticmethod
    def _update_metadata(desc: dict[str, Any], params: Mapping[str, Any], updated: list[str]) -> None:
        add = params.get("CustomerMetadataProperties") or {}
        remove = params.get("CustomerMetadataPropertiesToRemove") or []
        both = sorted(set(add) & set(remove))
        if both:
            raise AwsError(
                "ValidationException",
                f"Keys {both} are both set (CustomerMetadataProperties) and removed "
                "(CustomerMetadataPropertiesToRemove) in one request: do one or the other.",
            )
        if not add and not remove:
            return
        before = desc.get("CustomerMetadataProperties", {})
        merged = {k: v for k, v in {**before, **add}.items() if k not in remove}
        if len(merged) > 50:
            raise AwsError(
                "ValidationException",
                f"1 validation error detected: Value of customerMetadataProperties has {len(merged)} "
                "entries after the update; Member must have length less than or equal to 50. Remove keys "
                "with CustomerMetadataPropertiesToRemove first.",
            )
        if merged != before:
            if merged:
                desc["CustomerMetadataProperties"] = merged
            else:
                desc.pop("CustomerMetadataProperties", None)
            updated.append("CustomerMetadataProperties")

    @staticmethod
    def _update_additional_specs(desc: dict[str, Any], params: Mapping[str, Any], updated: list[str]) -> None:
        extra = params.get("AdditionalInferenceSpecificationsToAdd")
        if not extra:
            return
        specs = desc.get("AdditionalInferenceSpecifications", []) + copy.deepcopy(extra)
        names = [s["Name"] for s in specs]
        if len(set(names)) != len(names):
            raise AwsError(
                "ValidationException",
                f"AdditionalInferenceSpecifications names must be unique; the update would give {names}.",
            )
        if len(specs) > 15:
            raise AwsError(
                "ValidationException",
                f"A model package holds at most 15 AdditionalInferenceSpecifications; the update would "
                f"give {len(specs)}.",
            )
        desc["AdditionalInferenceSpecifications"] = specs
        updated.append("AdditionalInferenceSpecifications")

    def delete_model_package(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("DeleteModelPackage", params)
        with self._lock:
            package = self._package(params["ModelPackageName"])
            del self._packages[package.arn]
            self._index.remove(package.arn)
            self._generation += 1
            package.desc["ModelPackageStatus"] = "Deleting"
            self._emit_event("delete", package, [])
            return {}

    # ---- tags ----------------------------------------------------------------------------------------
    def owns_arn(self, arn: str) -> bool:
        lower = arn.lower()
        return lower.startswith(self._arn("model-package-group", "")) or lower.startswith(
            self._arn("model-package", "")
        )

    def _tagged(self, arn: str) -> Group | Package:
        if arn.lower().startswith(self._arn("model-package-group", "")):
            return self._group(arn)
        return self._package(arn)

    def add_tags(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("AddTags", params)
        with self._lock:
            target = self._tagged(params["ResourceArn"])
            new = params.get("Tags", [])
            _check_unique_tag_keys(new)
            keys = {t["Key"] for t in new}
            merged = [t for t in target.tags if t["Key"] not in keys] + copy.deepcopy(new)
            if len(merged) > 50:
                raise AwsError(
                    "ValidationException",
                    f"{params['ResourceArn']} would have {len(merged)} tags; the limit is 50.",
                )
            target.tags = merged
            self._generation += 1
            return {"Tags": copy.deepcopy(new)}

    def list_tags(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("ListTags", params)
        with self._lock:
            tags = copy.deepcopy(self._tagged(params["ResourceArn"]).tags)
        page, token = self._page(
            tags, {**params, "MaxResults": params.get("MaxResults") or 50}, _query_of(params)
        )
        out: dict[str, Any] = {"Tags": page}
        if token:
            out["NextToken"] = token
        return out

    def delete_tags(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("DeleteTags", params)
        with self._lock:
            target = self._tagged(params["ResourceArn"])
            target.tags = [t for t in target.tags if t["Key"] not in set(params["TagKeys"])]
            self._generation += 1
            return {}

    # ---- search --------------------------------------------------------------------------------------
    def search(self, params: Mapping[str, Any]) -> dict[str, Any]:
        validate("Search", params)
        resource = params["Resource"]
        expression = params.get("SearchExpression")
        sort_by = params.get("SortBy", "LastModifiedTime" if resource == "ModelPackage" else "CreationTime")
        with self._lock:
            # Filtered and sorted on shallow views under the lock; only the page returned is deep-copied,
            # so a search costs N cheap views rather than N deep copies per page.
            cached = (self._generation, json.dumps(_query_of(params), sort_keys=True, default=str))
            if (
                resource == "ModelPackage"
                and self.search_index
                and self._matches
                and self._matches[0] == cached
            ):
                # The next page of the same query, nothing written since: the same sorted matches.
                matched = self._matches[1]
            elif resource == "ModelPackage":
                # Only the packages the index says can match are tested (all of them when it cannot
                # narrow the expression); malformed filters fail as a full scan would fail them.
                if self._packages:
                    check_expression(expression)
                arns = self._index.candidates(expression) if self.search_index else None
                chosen = (
                    self._packages.values()
                    if arns is None
                    else [self._packages[arn] for arn in arns if arn in self._packages]
                )
                # With the index the expression is compiled once per search (search.compile_expression);
                # the full scan interprets it per record as before, so the contract tests compare the two.
                matches = (
                    search.compile_expression(expression)
                    if self.search_index
                    else functools.partial(search.expression_matches, expression=expression)
                )
                # Filters address tags and metadata as maps (Tags.owner), so match against that view.
                matched = [
                    {**p.desc, **({"Tags": p.tags} if p.tags else {})}
                    for p in chosen
                    if matches({**p.desc, "Tags": {t["Key"]: t["Value"] for t in p.tags}})
                ]
                search.sort_records(
                    matched, sort_by, params.get("SortOrder", "Descending") == "Descending", "ModelPackageArn"
                )
                if self.search_index:
                    self._matches = (cached, matched)
            else:
                records = [
                    {**self._group_view(g), **({"Tags": g.tags} if g.tags else {})}
                    for g in self._groups.values()
                ]
                matched = [
                    rec
                    for rec in records
                    if search.expression_matches(
                        {**rec, "Tags": {t["Key"]: t["Value"] for t in rec.get("Tags", [])}}, expression
                    )
                ]
                search.sort_records(
                    matched,
                    sort_by,
                    params.get("SortOrder", "Descending") == "Descending",
                    "ModelPackageGroupArn",
                )
            page, token = self._page(matched, params, _query_of(params))
            # No deep copy: a package's description is copy-on-write (an update builds a new dict and
            # swaps it in; nothing edits a stored one in place), so the page's views stay as they were
            # while the response is serialised outside the lock.
            out: dict[str, Any] = {"Results": [{resource: dict(rec)} for rec in page]}
        if token:
            out["NextToken"] = token
        return out

    def reset(self) -> None:
        with self._lock:
            self._groups.clear()
            self._packages.clear()
            self._index.clear()
            self._generation += 1
            self._create_tokens.clear()
            self._update_tokens.clear()


def _query_of(params: Mapping[str, Any]) -> dict[str, Any]:
    """What a NextToken is bound to: the request minus the paging members (the page size may change)."""
    return {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}


def _pick(record: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: record[k] for k in fields if k in record}


def _time_window(records: list[dict[str, Any]], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    after, before = params.get("CreationTimeAfter"), params.get("CreationTimeBefore")
    if after is not None:
        records = [r for r in records if r["CreationTime"] > float(after)]
    if before is not None:
        records = [r for r in records if r["CreationTime"] < float(before)]
    return records


def _check_unique_tag_keys(tags: list[Mapping[str, str]]) -> None:
    keys = [t["Key"] for t in tags]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise AwsError("ValidationException", f"Tag keys must be unique within a request; repeated: {dupes}.")


def _check_model_card(card: Mapping[str, Any] | None, current: Mapping[str, Any] | None) -> None:
    if current is not None and current.get("ModelCardStatus") == "Archived":
        raise AwsError(
            "ValidationException",
            "The model card of this model package is Archived and cannot be changed. An archived card is "
            "final; register a new model package version to record a new card.",
        )
    if card is None:
        return
    content = card.get("ModelCardContent")
    if content is not None:
        try:
            parsed = json.loads(content)
        except ValueError as exc:
            raise AwsError(
                "ValidationException",
                f"ModelCard.ModelCardContent is not valid JSON ({exc}); pass the model card content as "
                "a JSON object string.",
            ) from exc
        if not isinstance(parsed, dict):
            raise AwsError(
                "ValidationException",
                "ModelCard.ModelCardContent must be a JSON object, not a list or scalar.",
            )
        check_content(parsed, field="ModelCard.ModelCardContent", package=True)


# Operations answered by the Registry instead of moto; everything else for SageMaker goes to moto.
OPERATIONS: dict[str, str] = {
    "CreateModelPackageGroup": "create_model_package_group",
    "DescribeModelPackageGroup": "describe_model_package_group",
    "ListModelPackageGroups": "list_model_package_groups",
    "DeleteModelPackageGroup": "delete_model_package_group",
    "CreateModelPackage": "create_model_package",
    "DescribeModelPackage": "describe_model_package",
    "BatchDescribeModelPackage": "batch_describe_model_package",
    "ListModelPackages": "list_model_packages",
    "UpdateModelPackage": "update_model_package",
    "DeleteModelPackage": "delete_model_package",
}
TAG_OPERATIONS: dict[str, str] = {"AddTags": "add_tags", "ListTags": "list_tags", "DeleteTags": "delete_tags"}
SEARCH_RESOURCES = ("ModelPackage", "ModelPackageGroup")


def check_operations_exist() -> None:
    """Fail early if botocore renamed an operation the registry answers."""
    for name in (*OPERATIONS, *TAG_OPERATIONS, "Search"):
        operation(name)
