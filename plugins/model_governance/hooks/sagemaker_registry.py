"""SageMaker Model Registry: model package groups, lifecycle and approval writes, metadata, model cards.

What governance writes back to a package (status, approval, links) is worked out once, in
``services.writeback.GovernanceWriteBack``, and sent through ``update_model_package`` here.

Built on the Amazon provider's ``AwsBaseHook`` (connection, region, role, ``endpoint_url`` extra for the
sandbox). Every update carries a ``ClientToken`` derived from the write's identity, so a retried task is
answered with the first result; botocore's adaptive retry mode absorbs throttling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper
from botocore.config import Config
from botocore.exceptions import ClientError

from model_governance import model_cards
from model_governance.exceptions import NotFoundError, RegistryError
from model_governance.lifecycle import GovernanceStatus
from model_governance.registry import check_metadata, client_token, lifecycle_update

_RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})
#: Search limits: a filter's Value is at most 1,024 characters; an expression has at most 20 filters.
_FILTER_VALUE_MAX = 1024
_EXPRESSION_MAX = 20
#: Search answers at most 100 results a page (``MaxResults``); search_packages asks for that many.
_SEARCH_PAGE = 100


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_found(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return _error_code(exc) in ("ResourceNotFound", "ValidationException") and (
        "does not exist" in message or "not found" in message
    )


def _arn_filters(arns: Sequence[str]) -> list[dict[str, str]]:
    """``In`` filters of ``arns``: each Value as many comma-separated ARNs as fit in 1,024 characters."""
    chunks: list[list[str]] = []
    length = 0
    for arn in arns:
        if chunks and length + 1 + len(arn) <= _FILTER_VALUE_MAX:
            chunks[-1].append(arn)
            length += 1 + len(arn)
        else:
            chunks.append([arn])
            length = len(arn)
    return [{"Name": "ModelPackageArn", "Operator": "In", "Value": ",".join(c)} for c in chunks]


def _arn_expressions(arns: Sequence[str]) -> Iterator[list[dict[str, str]]]:
    """The filters of each Search expression for ``arns`` (``search_packages``): each expression as many
    ARNs as its 20 filters hold, cut to a whole number of pages when more ARNs follow it."""
    start = 0
    while start < len(arns):
        end, filters, length = start, 0, 0
        while end < len(arns):
            size = len(arns[end])
            if filters and length + 1 + size <= _FILTER_VALUE_MAX:
                length += 1 + size
            elif filters < _EXPRESSION_MAX:
                filters, length = filters + 1, size
            else:
                break
            end += 1
        if end < len(arns) and end - start >= _SEARCH_PAGE:
            end -= (end - start) % _SEARCH_PAGE
        yield _arn_filters(arns[start:end])
        start = end


class SageMakerRegistryHook(AwsBaseHook):
    """Interact with the SageMaker Model Registry of one business entity (account + region).

    Additional arguments (such as ``aws_conn_id``, ``region_name``) are passed to ``AwsBaseHook``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "sagemaker"
        super().__init__(*args, **kwargs)

    @cached_property
    def conn_config(self) -> AwsConnectionWrapper:
        """The connection's settings; adaptive retries unless the connection's ``config_kwargs`` (or the
        caller's ``config``) say otherwise, e.g. fewer attempts for a registry that should fail fast."""
        wrapper = AwsBaseHook.conn_config.func(self)  # type: ignore[attr-defined]
        if wrapper.botocore_config is None:
            wrapper.botocore_config = _RETRIES
        return wrapper

    def _fail(self, what: str, exc: ClientError) -> RegistryError:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        return RegistryError(f"SageMaker {what} failed ({_error_code(exc)}): {message}")

    # -- groups ---------------------------------------------------------------------------------------

    def ensure_model_package_group(
        self, name: str, *, description: str, tags: Mapping[str, str] | None = None
    ) -> tuple[str, bool]:
        """Create the model package group, or return the existing one. Returns ``(arn, created)``."""
        client = self.get_conn()
        existing = self.describe_model_package_group(name)
        if existing is not None:
            return existing["ModelPackageGroupArn"], False
        try:
            response = client.create_model_package_group(
                ModelPackageGroupName=name,
                ModelPackageGroupDescription=description[:1024],
                Tags=[{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())],
            )
        except ClientError as exc:
            # A concurrent or earlier-but-unanswered create: the group exists now, which is what we want.
            again = self.describe_model_package_group(name)
            if again is not None:
                return again["ModelPackageGroupArn"], False
            raise self._fail(f"creating model package group {name!r}", exc) from exc
        return response["ModelPackageGroupArn"], True

    def create_model_package(
        self,
        group: str,
        *,
        description: str,
        lifecycle: Mapping[str, str],
        token_parts: Sequence[str],
    ) -> str:
        """Create a version in ``group`` (governance-started: no container yet, PendingManualApproval,
        ``lifecycle`` as its ``ModelLifeCycle``); returns its ARN. The ``ClientToken`` comes from the group
        and ``token_parts``, so a retry (an answer lost included) gets the first version, not another."""
        try:
            response = self.get_conn().create_model_package(
                ModelPackageGroupName=group,
                ModelPackageDescription=description[:1024],
                ModelApprovalStatus="PendingManualApproval",
                ModelLifeCycle=dict(lifecycle),
                ClientToken=client_token(group, *token_parts),
            )
        except ClientError as exc:
            raise self._fail(f"creating a model package in group {group!r}", exc) from exc
        return str(response["ModelPackageArn"])

    def describe_model_package_group(self, name: str) -> dict[str, Any] | None:
        try:
            return self.get_conn().describe_model_package_group(ModelPackageGroupName=name)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise self._fail(f"describing model package group {name!r}", exc) from exc

    def describe_endpoint_config(self, name: str) -> dict[str, Any] | None:
        """The endpoint configuration called ``name``, or None when SageMaker has none by that name."""
        try:
            return dict(self.get_conn().describe_endpoint_config(EndpointConfigName=name))
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", "")).lower()
            if _error_code(exc) in ("ValidationException", "ResourceNotFound") and (
                "could not find" in message or "does not exist" in message or "not found" in message
            ):
                return None
            raise self._fail(f"describing endpoint configuration {name!r}", exc) from exc

    # -- packages -------------------------------------------------------------------------------------

    def describe_model_package(self, arn: str) -> dict[str, Any]:
        try:
            return self.get_conn().describe_model_package(ModelPackageName=arn)
        except ClientError as exc:
            if _not_found(exc):
                raise NotFoundError(f"Model package {arn!r} does not exist in SageMaker (deleted?).") from exc
            raise self._fail(f"describing model package {arn!r}", exc) from exc

    def iter_group_packages(self, group: str) -> Iterator[dict[str, Any]]:
        """Summaries of every version in ``group`` (100 per page; summaries lack customer metadata)."""
        paginator = self.get_conn().get_paginator("list_model_packages")
        for page in paginator.paginate(ModelPackageGroupName=group, PaginationConfig={"PageSize": 100}):
            yield from page.get("ModelPackageSummaryList", [])

    def iter_modified_since(self, since: datetime, *, stage: str | None = None) -> Iterator[dict[str, Any]]:
        """Full model packages modified at or after ``since`` (Search, 100 per page), oldest first."""
        filters: list[dict[str, str]] = [
            {"Name": "LastModifiedTime", "Operator": "GreaterThanOrEqualTo", "Value": since.isoformat()}
        ]
        if stage:
            filters.append({"Name": "ModelLifeCycle.Stage", "Operator": "Equals", "Value": stage})
        yield from self._search({"Filters": filters})

    def iter_all_packages(self) -> Iterator[dict[str, Any]]:
        """Every versioned model package of the registry, in full (Search, 100 per page)."""
        yield from self._search(
            {"Filters": [{"Name": "ModelPackageGroupName", "Operator": "Exists"}]}, sort_by="CreationTime"
        )

    def search_packages(self, arns: Sequence[str]) -> Iterator[dict[str, Any]]:
        """The packages among ``arns`` that exist, in full, in as few Search calls as the limits allow.

        A filter ``Value`` holds at most 1,024 characters and an expression at most 20 filters, so the ARNs
        go in comma-separated chunks, ``Or``-ed together: about 260 packages an expression at 74-character
        ARNs. Search answers 100 a page, so an expression that is not the last holds a whole number of
        pages (200 rather than 260): no call is spent on a part-filled page between two expressions, and N
        ARNs take ceil(N / 100) calls (when they all exist) instead of up to one more per expression.

        The pages are asked for by ``NextToken`` rather than through botocore's paginator, whose first use on
        a client loads the service's paginator model: about 8 ms for each new hook, about as long as botocore
        takes to parse a page of 100 packages.
        """
        client = self.get_conn()
        for filters in _arn_expressions(list(dict.fromkeys(arns))):
            params: dict[str, Any] = {
                "Resource": "ModelPackage",
                "SearchExpression": {"Filters": filters, "Operator": "Or"},
                "SortBy": "LastModifiedTime",
                "SortOrder": "Ascending",
                "MaxResults": _SEARCH_PAGE,
            }
            while True:
                try:
                    page = client.search(**params)
                except ClientError as exc:
                    raise self._fail("searching model packages", exc) from exc
                for result in page.get("Results", []):
                    if "ModelPackage" in result:
                        yield result["ModelPackage"]
                token = page.get("NextToken")
                if not token:
                    break
                if token == params.get("NextToken"):  # as botocore's paginator: never loop on one page
                    raise RegistryError("SageMaker Search answered the same NextToken twice")
                params["NextToken"] = token

    def _search(
        self, expression: Mapping[str, Any], *, sort_by: str = "LastModifiedTime"
    ) -> Iterator[dict[str, Any]]:
        paginator = self.get_conn().get_paginator("search")
        pages = paginator.paginate(
            Resource="ModelPackage",
            SearchExpression=expression,
            SortBy=sort_by,
            SortOrder="Ascending",
            PaginationConfig={"PageSize": 100},
        )
        try:
            for page in pages:
                for result in page.get("Results", []):
                    if "ModelPackage" in result:
                        yield result["ModelPackage"]
        except ClientError as exc:
            raise self._fail("searching model packages", exc) from exc

    def write_status(
        self,
        arn: str,
        status: GovernanceStatus | str,
        *,
        token_parts: Sequence[str],
        description: str | None = None,
        include_approval: bool = True,
    ) -> dict[str, Any]:
        """Write a governance status as the package's ``ModelLifeCycle`` (and approval status)."""
        body = lifecycle_update(status, description=description, include_approval=include_approval)
        return self.update_model_package(arn, body, token_parts=(*token_parts, "status", str(status)))

    def put_metadata(
        self,
        arn: str,
        properties: Mapping[str, str],
        *,
        token_parts: Sequence[str],
        remove: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Merge ``properties`` into the package's customer metadata (and remove ``remove``)."""
        existing = self.describe_model_package(arn).get("CustomerMetadataProperties", {})
        kept = {k: v for k, v in existing.items() if k not in remove}
        check_metadata(properties, existing=kept)
        changed = {k: v for k, v in properties.items() if existing.get(k) != v}
        to_remove = [k for k in remove if k in existing]
        if not changed and not to_remove:
            return {"ModelPackageArn": arn}
        body: dict[str, Any] = {}
        if changed:
            body["CustomerMetadataProperties"] = dict(sorted(changed.items()))
        if to_remove:
            body["CustomerMetadataPropertiesToRemove"] = sorted(to_remove)
        digest = json.dumps(body, sort_keys=True)
        return self.update_model_package(arn, body, token_parts=(*token_parts, "metadata", digest))

    def update_model_card(
        self, arn: str, content: Mapping[str, Any], *, token_parts: Sequence[str], status: str | None = None
    ) -> dict[str, Any]:
        """Merge ``content`` (sections in the model card schema's shape) into the package's model card by
        ``model_cards.merge_content``'s ownership rules; ``status`` applies when it is a step forward.

        An Archived card cannot change (as in AWS): ``ArchivedModelCardError`` says so before trying.
        """
        card = self.describe_model_package(arn).get("ModelCard")
        model_card = model_cards.merged_card(arn, card, content, status=status)
        return self._write_card(arn, model_card, token_parts)

    def fill_model_card(
        self,
        arn: str,
        facts: model_cards.CardFacts,
        *,
        token_parts: Sequence[str],
        status: model_cards.CardStatus | str | None = None,
    ) -> dict[str, Any]:
        """Fill the package's model card from governance ``facts`` (``model_cards.governed_card``)."""
        card = self.describe_model_package(arn).get("ModelCard")
        return self._write_card(arn, model_cards.governed_card(arn, card, facts, status=status), token_parts)

    def set_model_card_status(
        self, arn: str, status: model_cards.CardStatus | str, *, token_parts: Sequence[str]
    ) -> dict[str, Any] | None:
        """Move the package's card to ``status`` (content untouched); None when there is no card, it is
        there already or further on, or it is Archived (final: never written)."""
        card = self.describe_model_package(arn).get("ModelCard")
        body = model_cards.status_move(arn, card, status)
        if body is None:
            if model_cards.card_status(card) is model_cards.CardStatus.ARCHIVED and status != "Archived":
                self.log.info("The model card of %s is Archived; its status stays (not %s).", arn, status)
            return None
        return self.update_model_package(
            arn, {"ModelCard": body}, token_parts=(*token_parts, "card-status", body["ModelCardStatus"])
        )

    def _write_card(
        self, arn: str, model_card: Mapping[str, str], token_parts: Sequence[str]
    ) -> dict[str, Any]:
        return self.update_model_package(
            arn,
            {"ModelCard": dict(model_card)},
            token_parts=(*token_parts, "card", model_card["ModelCardContent"], model_card["ModelCardStatus"]),
        )

    def update_model_package(
        self, arn: str, body: Mapping[str, Any], *, token_parts: Sequence[str]
    ) -> dict[str, Any]:
        """One UpdateModelPackage of ``body``; its ``ClientToken`` comes from the package and ``token_parts``
        (the write's identity), so a retry is answered with the first result instead of applied twice."""
        try:
            return self.get_conn().update_model_package(
                ModelPackageArn=arn, ClientToken=client_token(arn, *token_parts), **body
            )
        except ClientError as exc:
            if _not_found(exc):
                raise NotFoundError(f"Model package {arn!r} does not exist in SageMaker (deleted?).") from exc
            raise self._fail(f"updating model package {arn!r}", exc) from exc
