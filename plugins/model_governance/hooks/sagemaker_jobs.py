"""SageMaker workloads of the MLC: the risk test Processing job and the production endpoint.

Built on the Amazon provider's ``AwsBaseHook`` like ``SageMakerRegistryHook`` (connection, region, role,
``endpoint_url`` extra for the sandbox). Every create is looked up first by its deterministic name, and an
answer that says the resource exists already (a concurrent or lost-response create) is taken as success.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore.config import Config
from botocore.exceptions import ClientError

from model_governance.exceptions import RegistryError

_RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", exc))


def _missing(exc: ClientError) -> bool:
    message = _message(exc).lower()
    return _code(exc) in ("ValidationException", "ResourceNotFound") and (
        "could not find" in message or "does not exist" in message or "not found" in message
    )


def _exists_already(exc: ClientError) -> bool:
    message = _message(exc).lower()
    return _code(exc) in ("ValidationException", "ResourceInUse") and (
        "already exist" in message or "must be unique" in message
    )


class SageMakerJobsHook(AwsBaseHook):
    """Processing jobs and endpoints of one business entity (account + region).

    Additional arguments (such as ``aws_conn_id``, ``region_name``) are passed to ``AwsBaseHook``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "sagemaker"
        kwargs.setdefault("config", _RETRIES)
        super().__init__(*args, **kwargs)
        self._s3: Any = None  # the S3 hook for model data ETags, made on first use

    def _fail(self, what: str, exc: ClientError) -> RegistryError:
        return RegistryError(f"SageMaker {what} failed ({_code(exc)}): {_message(exc)}")

    # -- processing jobs ------------------------------------------------------------------------------

    def describe_processing_job(self, name: str) -> dict[str, Any] | None:
        """The Processing job called ``name``, or None when SageMaker has none by that name."""
        try:
            return dict(self.get_conn().describe_processing_job(ProcessingJobName=name))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise self._fail(f"describing processing job {name!r}", exc) from exc

    def ensure_processing_job(self, request: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Start the job unless a job of that name exists. Returns ``(description, created)``."""
        name = str(request["ProcessingJobName"])
        existing = self.describe_processing_job(name)
        if existing is not None:
            return existing, False
        try:
            self.get_conn().create_processing_job(**request)
        except ClientError as exc:
            again = self.describe_processing_job(name) if _exists_already(exc) else None
            if again is not None:
                return again, False
            raise self._fail(f"creating processing job {name!r}", exc) from exc
        described = self.describe_processing_job(name)
        if described is None:
            raise RegistryError(f"SageMaker accepted processing job {name!r} but does not describe it.")
        return described, True

    # -- endpoints ------------------------------------------------------------------------------------

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        """The endpoint called ``name``, or None when SageMaker has none by that name."""
        try:
            return dict(self.get_conn().describe_endpoint(EndpointName=name))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise self._fail(f"describing endpoint {name!r}", exc) from exc

    def create_endpoint(self, name: str, config_name: str, *, tags: Mapping[str, str]) -> None:
        """Create the endpoint; one that exists already (an earlier, unanswered create) is left alone."""
        try:
            self.get_conn().create_endpoint(
                EndpointName=name,
                EndpointConfigName=config_name,
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            )
        except ClientError as exc:
            if _exists_already(exc) or "already existing endpoint" in _message(exc).lower():
                return
            raise self._fail(f"creating endpoint {name!r} with configuration {config_name!r}", exc) from exc

    def update_endpoint(self, name: str, config_name: str) -> None:
        """Point the endpoint at ``config_name`` (SageMaker deploys it, then retires the old one)."""
        try:
            self.get_conn().update_endpoint(EndpointName=name, EndpointConfigName=config_name)
        except ClientError as exc:
            raise self._fail(f"updating endpoint {name!r} to configuration {config_name!r}", exc) from exc

    def delete_endpoint(self, name: str) -> bool:
        """Delete the endpoint; False when there was none (deleted already: the retry of a delete)."""
        try:
            self.get_conn().delete_endpoint(EndpointName=name)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise self._fail(f"deleting endpoint {name!r}", exc) from exc
        return True

    def iter_endpoints(self) -> Iterator[dict[str, Any]]:
        """Every endpoint of the registry's account and region (summaries, all pages)."""
        paginator = self.get_conn().get_paginator("list_endpoints")
        try:
            for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
                yield from page.get("Endpoints", [])
        except ClientError as exc:
            raise self._fail("listing endpoints", exc) from exc

    # -- what an endpoint serves (endpoint configurations and models are immutable in SageMaker) --------

    def describe_endpoint_config(self, name: str) -> dict[str, Any] | None:
        """The endpoint configuration called ``name``, or None when SageMaker has none by that name."""
        try:
            return dict(self.get_conn().describe_endpoint_config(EndpointConfigName=name))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise self._fail(f"describing endpoint configuration {name!r}", exc) from exc

    def describe_model(self, name: str) -> dict[str, Any] | None:
        """The SageMaker model called ``name`` (its containers), or None when there is none."""
        try:
            return dict(self.get_conn().describe_model(ModelName=name))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise self._fail(f"describing model {name!r}", exc) from exc

    def object_etag(self, uri: str) -> str | None:
        """The ETag (quotes stripped) of the S3 object at ``s3://bucket/key``, or None when it is gone."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        if not uri.startswith("s3://") or "/" not in uri[len("s3://") :]:
            return None
        bucket, _, key = uri[len("s3://") :].partition("/")
        if self._s3 is None:
            self._s3 = S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        try:
            head = self._s3.head_object(key, bucket)
        except ClientError as exc:
            raise self._fail(f"reading the ETag of {uri}", exc) from exc
        return str((head or {}).get("ETag", "")).strip('"') or None
