"""Fixtures for the Jira sandbox tests (imported explicitly: pytest_plugins belongs to the root conftest)."""

from __future__ import annotations

import uuid

import pytest

from sandbox.jira.pytest_fixtures import (  # noqa: F401 - fixtures are used by name
    jira_client,
    jira_client_datacenter,
    jira_sandbox,
    jira_sandbox_datacenter,
)


@pytest.fixture
def label() -> str:
    """A label no other test uses, so tests sharing one sandbox never see each other's issues."""
    return f"t-{uuid.uuid4().hex[:12]}"
