"""Champion and challenger against the AWS sandbox and a real inventory: after start_change, the group's
next version is linked as the challenger by the lifecycle sync's onboarding (no call by hand), and its
review context carries the champion with its latest risk test report."""

from __future__ import annotations

from model_governance.lifecycle import GovernanceStatus as S
from model_governance.services.review_context import OWN_DATA_NOTE, champion_info
from tests.integration.actions.conftest import Actions
from tests.integration.actions.test_every_status import _mlc_to
from tests.integration.sync.conftest import Registry
from tests.unit.documents import builders


def _deployed(registry: Registry) -> str:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile(full=True)
    _mlc_to(
        registry,
        arn,
        S.PRE_IMPLEMENTATION_REVIEW,
        S.VALIDATION_COMPLETE,
        S.AWAITING_APPROVAL,
        S.APPROVED_FOR_DEPLOYMENT,
        S.DEPLOYED,
    )
    return arn


def test_the_sync_links_the_next_version_as_the_challenger(actions: Actions, registry: Registry) -> None:
    champion = _deployed(registry)
    inventory = registry.inventory
    run_key = "sagemaker_model_implementation/champion/run_risk_tests"
    inventory.start_risk_test_run(champion, run_key=run_key)
    inventory.finish_risk_test_run(run_key, passed=False, report=builders.report().to_dict())
    actions.perform("start_change", model=champion)
    challenger = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile(full=True)  # onboards the challenger: the link is made there
    found = inventory.champion_of(challenger)
    assert found is not None and found.package_arn == champion
    info = champion_info(inventory, inventory.get_model(challenger))
    assert info is not None and info.package_arn == champion
    assert info.governance_status == S.MODEL_CHANGE_IN_PROGRESS.value
    assert info.risk_report is not None and run_key in info.report_source and info.note == OWN_DATA_NOTE
    # one link per change: a later version is no second challenger
    later = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile(full=True)
    assert inventory.champion_of(later) is None


def test_no_change_no_challenger(actions: Actions, registry: Registry) -> None:
    _deployed(registry)
    newer = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile(full=True)
    assert registry.inventory.champion_of(newer) is None
