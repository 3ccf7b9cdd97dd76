"""The challenger rule (services/challengers.py): a version onboarded while a lower version of its group is
in Model Change in Progress is linked once as that change's challenger; the review context then carries the
champion with its latest risk test report."""

from __future__ import annotations

from model_governance.inventory.models import Model
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.services.challengers import link_if_challenger
from model_governance.services.review_context import OWN_DATA_NOTE, champion_info
from tests.unit.documents import builders
from tests.unit.services.test_actions import Harness, endpoints, h, inventory, registry

__all__ = ["endpoints", "h", "inventory", "registry"]

REPORT = builders.report().to_dict()


def _fresh(h: Harness, model: Model) -> Model:
    return h.inventory.get_model(model.id)


def test_the_next_version_during_a_change_is_linked_once(h: Harness) -> None:
    champion = h.model_at(S.DEPLOYED)
    h.perform("start_change", model=champion.package_arn)
    challenger = h.model_at(S.DEVELOPMENT_COMPLETE)
    change = link_if_challenger(h.inventory, challenger)
    assert change is not None and change.model_id == champion.id
    assert change.challenger_model_id == challenger.id
    assert link_if_challenger(h.inventory, challenger).id == change.id  # type: ignore[union-attr]
    assert h.inventory.champion_of(challenger).id == champion.id  # type: ignore[union-attr]
    # a later version is no second challenger of the same change
    assert link_if_challenger(h.inventory, h.model_at(S.DEVELOPMENT_COMPLETE)) is None


def test_no_champion_in_change_no_link(h: Harness) -> None:
    first = h.model_at(S.DEPLOYED)
    assert link_if_challenger(h.inventory, first) is None  # version 1
    second = h.model_at(S.DEVELOPMENT_COMPLETE)
    assert link_if_challenger(h.inventory, second) is None  # the Deployed version is not changing
    assert h.inventory.champion_of(second) is None


def test_a_champion_decommissioned_before_its_challenger_came_gets_none(h: Harness) -> None:
    champion = h.model_at(S.DEPLOYED)
    h.perform("start_change", model=champion.package_arn)
    h.perform("decommission", model=champion.package_arn)
    assert _fresh(h, champion).status == S.DECOMMISSIONED.value
    assert link_if_challenger(h.inventory, h.model_at(S.DEVELOPMENT_COMPLETE)) is None


def test_review_context_carries_the_champion_and_its_latest_report(h: Harness) -> None:
    champion = h.model_at(S.DEPLOYED)
    h.inventory.start_risk_test_run(champion, run_key="mlc/champion/run_risk_tests")
    h.inventory.finish_risk_test_run("mlc/champion/run_risk_tests", passed=True, report=REPORT)
    h.perform("start_change", model=champion.package_arn)
    challenger = h.model_at(S.DEVELOPMENT_COMPLETE)
    assert champion_info(h.inventory, challenger) is None  # not linked yet
    link_if_challenger(h.inventory, challenger)
    info = champion_info(h.inventory, challenger)
    assert info is not None
    assert (info.package_arn, info.version) == (champion.package_arn, champion.version)
    assert info.governance_status == S.MODEL_CHANGE_IN_PROGRESS.value
    assert info.risk_report is not None and info.risk_report.to_dict() == REPORT
    assert "mlc/champion/run_risk_tests" in info.report_source
    assert info.note == OWN_DATA_NOTE and info.same_data is False
