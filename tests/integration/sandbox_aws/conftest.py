"""Helpers for the AWS sandbox tests; the sandbox fixtures come from the root conftest's pytest_plugins."""

from __future__ import annotations

import uuid

import pytest

from sandbox.aws.pytest_fixtures import AwsClients

__all__ = ["group", "unique"]


def unique(prefix: str) -> str:
    """A resource name no other test uses (the session shares one sandbox)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def group(aws_clients: AwsClients) -> str:
    """A fresh model package group name, already created."""
    name = unique("grp")
    aws_clients.sagemaker.create_model_package_group(
        ModelPackageGroupName=name,
        ModelPackageGroupDescription="test group",
        Tags=[{"Key": "use-case", "Value": "uc-1"}],
    )
    return name
