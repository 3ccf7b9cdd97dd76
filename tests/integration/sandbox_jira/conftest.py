"""Fixtures for the Jira sandbox tests. The sandbox fixtures (jira_sandbox, jira_client, ...) come from the
root conftest's ``pytest_plugins``; importing them here too would start a second server per session."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def label() -> str:
    """A label no other test uses, so tests sharing one sandbox never see each other's issues."""
    return f"t-{uuid.uuid4().hex[:12]}"
