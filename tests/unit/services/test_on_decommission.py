"""Both services that act on decommissioned versions' endpoints refuse an unknown deployment.on_decommission
with the same message (one check, services.endpoints.checked_on_decommission)."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from model_governance.exceptions import InvalidInputError
from model_governance.services.actions import GovernanceActionService
from model_governance.services.endpoints import EndpointReconciler, checked_on_decommission

REFUSED = r"deployment.on_decommission is 'drop'; use one of delete_endpoint, report\."


def test_the_known_settings_pass_and_another_is_refused_by_every_service() -> None:
    assert checked_on_decommission("report") == "report"
    assert checked_on_decommission("delete_endpoint") == "delete_endpoint"
    with pytest.raises(InvalidInputError, match=REFUSED):
        EndpointReconciler(
            inventory=MagicMock(),
            client=MagicMock(),
            registry=MagicMock(),
            business_entity="retail",
            on_decommission="drop",
        )
    with pytest.raises(InvalidInputError, match=REFUSED):
        GovernanceActionService(
            inventory=MagicMock(),
            connections=MagicMock(),
            notify=MagicMock(),
            links_of=MagicMock(),
            on_decommission="drop",
        )
