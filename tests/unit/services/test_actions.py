"""GovernanceActionService with a real (SQLite) inventory and fakes of SageMaker: each action validated
against the life cycle, recorded with who asked and why (audit chain intact), written to the package."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from model_governance.exceptions import IllegalTransitionError, InvalidInputError
from model_governance.inventory import Inventory
from model_governance.inventory.models import ActionKind
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.lifecycle import to_sagemaker
from model_governance.services.actions import ActionRequest, GovernanceActionService

GROUP_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/churn"


def arn(version: int) -> str:
    return f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/{version}"


class FakeRegistry:
    """Packages as SageMaker describes them; UpdateModelPackage merges, tokens are remembered."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, Any]] = {}
        self.tokens: list[tuple[str, ...]] = []
        self.created: list[dict[str, Any]] = []

    def describe_model_package(self, package_arn: str) -> dict[str, Any]:
        return copy.deepcopy(self.packages[package_arn])

    def update_model_package(self, package_arn: str, body: Any, *, token_parts: Any) -> dict[str, Any]:
        self.tokens.append(tuple(token_parts))
        package = self.packages[package_arn]
        for key, value in body.items():
            if key == "CustomerMetadataProperties":
                package.setdefault(key, {}).update(value)
            else:
                package[key] = copy.deepcopy(value)
        return {"ModelPackageArn": package_arn}

    def create_model_package(self, group: str, *, description: str, lifecycle: Any, token_parts: Any) -> str:
        token = (group, *token_parts)
        for made in self.created:
            if made["token"] == token:
                return str(made["arn"])
        package_arn = arn(len(self.packages) + 1)
        self.packages[package_arn] = {
            "ModelPackageArn": package_arn,
            "ModelPackageGroupName": group,
            "ModelPackageDescription": description,
            "ModelApprovalStatus": "PendingManualApproval",
            "ModelLifeCycle": dict(lifecycle),
        }
        self.created.append({"token": token, "arn": package_arn})
        return package_arn

    def lifecycle(self, package_arn: str) -> tuple[str, str]:
        found = self.packages[package_arn]["ModelLifeCycle"]
        return found["Stage"], found["StageStatus"]


class FakeEndpoints:
    def __init__(self) -> None:
        self.serving: dict[str, str] = {}
        self.deleted: list[str] = []

    def iter_endpoints(self) -> Any:
        yield from ({"EndpointName": n} for n in list(self.serving))

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        return {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{name}",
            "EndpointConfigName": name,
            "EndpointStatus": "InService",
            "LastModifiedTime": "2026-12-01T10:00:00Z",
        }

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        return {"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": name}]}

    def describe_model(self, name: str) -> dict[str, Any]:
        return {"ModelName": name, "Containers": [{"ModelPackageName": self.serving[name]}]}

    def object_etag(self, uri: str) -> None:
        return None

    def delete_endpoint(self, name: str) -> bool:
        self.deleted.append(name)
        return self.serving.pop(name, None) is not None


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    inv = Inventory.from_url(f"sqlite:///{tmp_path / 'inventory.db'}", upgrade_schema=True)
    inv.ensure_business_entity(
        name="retail", account_id="123456789012", region="eu-west-1", aws_conn_id="aws"
    )
    use_case = inv.create_use_case(
        business_entity="retail",
        name="churn",
        risk_level="High",
        owner="owner@example.com",
        data_science_email="ds@example.com",
    )
    inv.link_model_group(use_case_id=use_case.id, name="churn", arn=GROUP_ARN)
    return inv


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def endpoints() -> FakeEndpoints:
    return FakeEndpoints()


class Harness:
    def __init__(self, inventory: Inventory, registry: FakeRegistry, endpoints: FakeEndpoints) -> None:
        self.inventory, self.registry, self.endpoints = inventory, registry, endpoints
        self.mail: list[tuple[str, str, tuple[str, ...]]] = []
        self.runs = 0
        entity = SimpleNamespace(registry=registry, jobs=endpoints)
        connections = SimpleNamespace(of_model=lambda model: entity, of_group=lambda group_id: entity)
        self.on_decommission = "report"
        self.connections = connections

    def service(self, **kwargs: Any) -> GovernanceActionService:
        return GovernanceActionService(
            inventory=self.inventory,
            connections=self.connections,
            notify=lambda subject, body, to: self.mail.append((subject, body, tuple(to))),
            **kwargs,
        )

    def model_at(self, status: S, version: int | None = None) -> Any:
        version = version or len(self.registry.packages) + 1
        package_arn = arn(version)
        pair = to_sagemaker(status)
        self.registry.packages[package_arn] = {
            "ModelPackageArn": package_arn,
            "ModelLifeCycle": {"Stage": pair.stage, "StageStatus": pair.stage_status},
            "ModelApprovalStatus": "PendingManualApproval",
        }
        model, _ = self.inventory.upsert_model(package_arn=package_arn, status=status, actor="t", reason="t")
        return model

    def perform(self, action: str, *, run: str | None = None, **params: Any) -> dict[str, Any]:
        self.runs += 1
        request = ActionRequest.parse(
            {
                "action": action,
                "reason": "because the board said so",
                "requested_by": "ops@example.com",
                **params,
            },
            dag_id="model_governance_action",
            run_id=run or f"manual__{self.runs}",
        )
        return self.service(**params.pop("_service", {})).perform(request).to_dict()


@pytest.fixture
def h(inventory: Inventory, registry: FakeRegistry, endpoints: FakeEndpoints) -> Harness:
    return Harness(inventory, registry, endpoints)


def test_hold_and_resume_a_model_waiting_on_a_gate_writes_sagemaker_and_audits_who_and_why(
    h: Harness,
) -> None:
    model = h.model_at(S.AWAITING_APPROVAL)
    held = h.perform("hold", model=model.package_arn)
    assert held["models"][0]["to_status"] == S.ON_HOLD_DEVELOPMENT.value
    assert h.registry.lifecycle(model.package_arn) == ("Development", "OnHold")
    assert h.inventory.current_hold(model_id=model.id) is not None
    event = h.inventory.status_history(model)[-1]
    assert (event.actor, event.to_status) == ("ops@example.com", S.ON_HOLD_DEVELOPMENT.value)
    assert "because the board said so" in event.reason

    h.perform("resume", model=str(model.id))
    assert h.inventory.get_model(model.id).status == S.AWAITING_APPROVAL.value
    assert h.registry.lifecycle(model.package_arn) == ("Deployment", "PendingApproval")
    assert h.inventory.current_hold(model_id=model.id) is None
    actions = h.inventory.governance_actions(model_id=model.id)
    assert [(a.action, a.state, a.requested_by) for a in actions] == [
        ("resume", "DONE", "ops@example.com"),
        ("hold", "DONE", "ops@example.com"),
    ]
    report = h.inventory.verify_audit_trail(model)
    assert report.ok, report.problems
    assert h.inventory.chained_records(model)["governance_action"]


def test_a_resume_to_a_gate_status_needs_no_second_approval_in_the_audit_check(h: Harness) -> None:
    model = h.model_at(S.DEVELOPMENT_COMPLETE)
    h.inventory.transition(model, S.PRE_IMPLEMENTATION_REVIEW, source="governance", actor="mlc", reason="pia")
    h.inventory.record_approval_requested(kind="TEST_RESULTS_REVIEW", jira_key="MLC-1", model_id=model.id)
    from datetime import UTC, datetime

    h.inventory.record_approval_decision(
        "MLC-1",
        approved=True,
        decided_by="r@example.com",
        decided_at=datetime.now(UTC),
        decision_status="Done",
    )
    h.inventory.transition(model, S.VALIDATION_COMPLETE, source="governance", actor="mlc", reason="reviewed")
    h.perform("hold", model=model.package_arn)
    h.perform("resume", model=model.package_arn)
    assert h.inventory.get_model(model.id).status == S.VALIDATION_COMPLETE.value
    assert h.inventory.verify_audit_trail(model).ok


def test_proposed_holds_as_on_hold_proposal(h: Harness) -> None:
    model = h.model_at(S.PROPOSED)
    h.perform("hold", model=model.package_arn)
    assert h.registry.lifecycle(model.package_arn) == ("Proposal", "OnHold")
    h.perform("resume", model=model.package_arn)
    assert h.registry.lifecycle(model.package_arn) == ("Proposal", "Approved")


def test_a_use_case_hold_holds_what_can_be_held_and_parks_its_approvals(h: Harness) -> None:
    waiting = h.model_at(S.PRE_IMPLEMENTATION_REVIEW)
    deployed = h.model_at(S.DEPLOYED)
    use_case_id = h.inventory.use_case_of_group(waiting.model_group_id)
    result = h.perform("hold", use_case_id=str(use_case_id))
    assert [m["package_arn"] for m in result["models"]] == [waiting.package_arn]
    assert any("left as it is" in note for note in result["notes"])
    assert h.inventory.get_model(deployed.id).status == S.DEPLOYED.value
    assert h.inventory.current_hold(use_case_id=use_case_id) is not None
    assert h.inventory.current_hold(model_id=deployed.id) is not None  # its use case is held
    h.perform("resume", use_case_id=str(use_case_id))
    assert h.inventory.get_model(waiting.id).status == S.PRE_IMPLEMENTATION_REVIEW.value
    assert h.inventory.current_hold(use_case_id=use_case_id) is None
    assert h.inventory.verify_use_case_audit_trail(use_case_id) == []


def test_start_change_only_from_deployed_and_the_next_version_is_its_challenger(h: Harness) -> None:
    champion = h.model_at(S.DEPLOYED)
    h.perform("start_change", model=champion.package_arn)
    assert h.registry.lifecycle(champion.package_arn) == ("BackinDevelopment", "InProgress")
    assert h.inventory.changing_champions("retail") == {champion.package_arn.lower()}
    challenger = h.model_at(S.DEVELOPMENT_COMPLETE)
    change = h.inventory.link_challenger(challenger)
    assert change is not None and change.model_id == champion.id
    assert h.inventory.link_challenger(challenger).id == change.id  # type: ignore[union-attr]
    assert h.inventory.champion_of(challenger).id == champion.id  # type: ignore[union-attr]
    assert h.inventory.link_challenger(champion) is None
    assert h.inventory.verify_audit_trail(champion).ok

    other = h.model_at(S.PRE_IMPLEMENTATION_REVIEW)
    with pytest.raises(IllegalTransitionError, match="Deployed"):
        h.perform("start_change", model=other.package_arn)
    assert not h.inventory.governance_actions(model_id=other.id)  # refused before anything was recorded


def test_decommission_archives_the_card_and_handles_endpoints_as_the_setting_says(h: Harness) -> None:
    model = h.model_at(S.DEPLOYED)
    h.registry.packages[model.package_arn]["ModelCard"] = {
        "ModelCardContent": "{}",
        "ModelCardStatus": "Approved",
    }
    h.endpoints.serving["churn-prod"] = model.package_arn
    result = h.perform("decommission", model=model.package_arn)
    assert [m["to_status"] for m in result["models"]] == ["Decommissioning", "Decommissioned"]
    assert h.registry.lifecycle(model.package_arn) == ("Archived", "Complete")
    assert h.registry.packages[model.package_arn]["ModelCard"]["ModelCardStatus"] == "Archived"
    assert h.endpoints.deleted == [] and h.mail  # report: operators told
    statuses = [e.to_status for e in h.inventory.status_history(model)]
    assert statuses[-2:] == ["Decommissioning", "Decommissioned"]

    second = h.model_at(S.APPROVED_FOR_DEPLOYMENT)
    h.endpoints.serving["churn-2"] = second.package_arn
    request = ActionRequest.parse(
        {"action": "decommission", "reason": "retired", "requested_by": "ops", "model": second.package_arn},
        dag_id="d",
        run_id="r",
    )
    h.service(on_decommission="delete_endpoint").perform(request)
    assert h.endpoints.deleted == ["churn-2"]


def test_the_early_stages_from_proposal_to_hand_over(h: Harness) -> None:
    use_case_id = h.inventory.find_use_case(business_entity="retail", name="churn").id  # type: ignore[union-attr]
    result = h.perform("propose", use_case_id=str(use_case_id))
    package_arn = result["models"][0]["package_arn"]
    assert h.registry.lifecycle(package_arn) == ("Proposal", "Approved")
    seen = [("Proposal", "Approved")]
    for stage in (
        S.MODEL_DEFINITION,
        S.DATA_ACQUISITION,
        S.DATA_ACQUISITION_COMPLETE,
        S.FEATURE_ENGINEERING,
        S.FEATURE_ENGINEERING_COMPLETE,
    ):
        h.perform("advance", use_case_id=str(use_case_id), to_status=stage.value)
        seen.append(h.registry.lifecycle(package_arn))
        assert seen[-1] == tuple(to_sagemaker(stage))
    h.perform("hand_over", model=package_arn)
    assert h.registry.lifecycle(package_arn) == ("Development", "InProgress")
    assert h.mail[-1][2] == ("ds@example.com",)
    assert "Development/Complete" in h.mail[-1][1]
    assert h.inventory.verify_audit_trail(package_arn).ok


def test_a_repeated_request_changes_nothing_twice(h: Harness) -> None:
    model = h.model_at(S.UNDER_DEVELOPMENT)
    first = h.perform("hold", run="manual__same", model=model.package_arn)
    writes = len(h.registry.tokens)
    again = h.perform("hold", run="manual__same", model=model.package_arn)
    assert again["repeated"] and again["action_id"] == first["action_id"]
    assert len(h.registry.tokens) == writes
    assert len(h.inventory.status_history(model)) == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"action": "pause"}, "not one of"),
        ({"action": "hold", "reason": ""}, "reason is required"),
        ({"action": "hold", "requested_by": ""}, "requested_by is required"),
        ({"action": "hold", "model": None}, "exactly one target"),
        ({"action": "hold", "use_case_id": "1"}, "exactly one target"),
        ({"action": "advance", "to_status": "Deployed"}, "advance needs one of"),
    ],
)
def test_bad_requests_name_the_field_and_the_fix(params: dict[str, Any], message: str) -> None:
    form = {"reason": "why not", "requested_by": "ops", "model": "1", **params}
    with pytest.raises(InvalidInputError, match=message):
        ActionRequest.parse(form, dag_id="d", run_id="r")


def test_illegal_actions_are_refused_naming_the_statuses(h: Harness) -> None:
    deployed = h.model_at(S.DEPLOYED)
    with pytest.raises(IllegalTransitionError, match="On Hold - Development"):
        h.perform("hold", model=deployed.package_arn)
    developing = h.model_at(S.UNDER_DEVELOPMENT)
    with pytest.raises(InvalidInputError, match="not on hold"):
        h.perform("resume", model=developing.package_arn)
    assert ActionKind("hold") is ActionKind.HOLD
