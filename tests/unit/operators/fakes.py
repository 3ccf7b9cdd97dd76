"""Fakes of what the operators work with: the settings, the inventory (a ``MagicMock``), the hooks of a
business entity, an S3 client, a task instance. ``wire`` gives an operator these instead of opening
connections: the operators are tested as the thin adapters they are."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any
from unittest.mock import MagicMock

from model_governance.config import GovernanceConfig, parse_config
from model_governance.services.connections import GovernanceConnections, HookFactories

ENTITY = "retail"
CONN_ID = "aws_retail"
REGION = "eu-west-1"
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/3"
BUCKET = "gov-bucket"


def config(**overrides: Any) -> GovernanceConfig:
    return parse_config(
        {
            "business_entities": [
                {"name": ENTITY, "account_id": "123456789012", "region": REGION, "aws_conn_id": CONN_ID}
            ],
            "governance_bucket": BUCKET,
            "inventory": {"url": "sqlite://"},
            **overrides,
        }
    )


class FakeTI:
    def __init__(self, task_id: str = "task", run_id: str = "manual__1", dag_id: str = "mlc") -> None:
        self.dag_id, self.run_id, self.task_id = dag_id, run_id, task_id
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: str) -> Any:
        return self.xcom.get(task_ids)


def context(task_id: str = "task") -> dict[str, Any]:
    return {"ti": FakeTI(task_id)}


class Body(io.BytesIO):
    """A ``StreamingBody``: read it whole or in chunks."""

    def iter_chunks(self, size: int = 1024) -> Any:
        while chunk := self.read(size):
            yield chunk


class S3Error(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(f"An error occurred ({code})")
        self.response = {"Error": {"Code": code}}


class FakeS3Client:
    """Objects in memory; ``fail`` makes every call raise that S3 error code."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.puts: list[dict[str, Any]] = []
        self.fail: str | None = None

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if self.fail:
            raise S3Error(self.fail)
        found = self.objects.get((Bucket, Key))
        if found is None:
            raise S3Error("404")
        return {"ContentLength": len(found["Body"]), "Metadata": found.get("Metadata", {}), "ETag": '"e"'}

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        if self.fail:
            raise S3Error(self.fail)
        self.puts.append(kwargs)
        self.objects[(kwargs["Bucket"], kwargs["Key"])] = kwargs
        return {}

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        if self.fail:
            raise S3Error(self.fail)
        found = self.objects.get((Bucket, Key))
        if found is None:
            raise S3Error("NoSuchKey")
        return {"Body": Body(found["Body"])}


class FakeS3Hook:
    def __init__(self, client: FakeS3Client) -> None:
        self.client = client

    def get_conn(self) -> FakeS3Client:
        return self.client


class FakeRegistry:
    """The registry hook: a package per ARN; every write recorded with its token."""

    def __init__(self, package: Mapping[str, Any] | None = None) -> None:
        self.package: dict[str, Any] = dict(package or {"ModelPackageArn": ARN})
        self.calls: list[tuple[str, Any]] = []

    def describe_model_package(self, arn: str) -> dict[str, Any]:
        return dict(self.package)

    def update_model_package(
        self, arn: str, body: Mapping[str, Any], *, token_parts: Sequence[str]
    ) -> dict[str, Any]:
        self.calls.append(("update", (dict(body), tuple(token_parts))))
        return {}

    def __getattr__(self, name: str) -> Any:  # the other writes: recorded by name
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, (args, kwargs)))
            return self.answers.get(name)

        return call

    answers: dict[str, Any] = {}  # noqa: RUF012


class Hooks:
    """The hooks of the fake entity; ``made`` counts how often a factory was asked for one."""

    def __init__(self) -> None:
        self.registry = FakeRegistry()
        self.s3_client = FakeS3Client()
        self.jobs = MagicMock(name="jobs")
        self.sqs = MagicMock(name="sqs")
        self.made: list[tuple[str, str | None, str | None]] = []

    def factories(self) -> HookFactories:
        def factory(kind: str, value: Any) -> Any:
            def make(conn_id: str | None, region: str | None) -> Any:
                self.made.append((kind, conn_id, region))
                return value

            return make

        return {
            "registry": factory("registry", self.registry),
            "s3": factory("s3", FakeS3Hook(self.s3_client)),
            "jobs": factory("jobs", self.jobs),
            "sqs": factory("sqs", self.sqs),
        }


def model(model_id: int = 7, **changes: Any) -> MagicMock:
    found = MagicMock(name="model")
    found.id, found.package_arn, found.model_group_id, found.status = model_id, ARN, 3, "Development Complete"
    found.version = 1  # (ARN says 3) a first version: no model change to be the challenger of
    for key, value in changes.items():
        setattr(found, key, value)
    return found


def inventory(found: Any = None) -> MagicMock:
    """An inventory whose model is ``found`` and whose entity is the fake one; no governance links."""
    fake = MagicMock(name="inventory")
    fake.get_model.return_value = found if found is not None else model()
    fake.business_entity_of_model.return_value.name = ENTITY
    fake.business_entity_of_group.return_value.name = ENTITY
    fake.governance_links.return_value = {}
    return fake


def approvals(*states: tuple[str, str], dag_id: str = "mlc", run_id: str = "manual__1") -> list[MagicMock]:
    """Approval records of the fake run: (kind, state) each, in the order they were opened."""
    return [
        MagicMock(id=i, kind=kind, state=state, jira_key=f"MLC-{i}", dag_id=dag_id, run_id=run_id)
        for i, (kind, state) in enumerate(states, start=1)
    ]


#: The three gates of an MLC run, each approved.
ALL_GATES_APPROVED = (("PIA", "APPROVED"), ("TEST_RESULTS_REVIEW", "APPROVED"), ("PRODUCTION", "APPROVED"))


def wire(operator: Any, *, inventory: Any, hooks: Hooks, settings: GovernanceConfig | None = None) -> Any:
    """Give ``operator`` the settings, the inventory and the entity's connections (no Airflow ones)."""
    settings = settings or config()
    connections = GovernanceConnections(
        entity_settings=settings.business_entity, factories=hooks.factories(), inventory=inventory
    )
    operator.__dict__.update(config=settings, inventory=inventory, connections=connections)
    operator.__dict__["notify"] = MagicMock(name="notify")
    return operator
