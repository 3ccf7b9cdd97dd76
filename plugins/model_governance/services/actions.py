"""Governance actions after go-live (and before a model exists): hold, resume, model change, decommission,
and the early stages of a use case that starts from governance (docs/after-go-live.md).

``GovernanceActionService.perform`` validates an ``ActionRequest`` against the life cycle graph
(``lifecycle.check_transition``), records the request in the inventory (who asked and why; chained in the
audit record), moves each model's status (a StatusEvent with the requester as actor and the reason) and
writes SageMaker through the one write-back (``GovernanceWriteBack``) with a ``ClientToken`` keyed by the
DAG run, then records what it did. Repeating a request (a retried task, the same DAG run) changes nothing
twice. No Airflow here: the inventory, the entities' connections (``GovernanceConnections``: registry,
endpoints), the governance links, the mail and the run stopper are passed in.

- ``hold`` (a model or a use case): Proposed -> On Hold - Proposal; development or an MLC gate -> On Hold -
  Development; ``resume``: back to the status the hold left.
- ``start_change`` (a Deployed model): -> Model Change in Progress; the next version is the challenger.
- ``decommission`` (a model or a use case): -> Decommissioning (endpoints, card archived) -> Decommissioned.
- ``propose`` (a use case): a governance-started version in its group, Proposed (Proposal/Approved);
  ``advance``: Model Definition, Data Acquisition (Complete), Feature Engineering (Complete);
  ``hand_over``: -> Under Development, and the data science team is emailed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from model_governance import model_cards
from model_governance.exceptions import IllegalTransitionError, InvalidInputError, NotFoundError
from model_governance.inventory import EventSource, Inventory, Model
from model_governance.inventory.models import ActionKind, ActionState, GovernanceAction
from model_governance.lifecycle import (
    DEVELOPMENT_PHASE,
    MLC_GATE_PHASE,
    ON_HOLD,
    GovernanceStatus,
    check_transition,
    may_go_to_sagemaker,
    to_sagemaker,
)
from model_governance.registry import GovernanceLinks
from model_governance.services.endpoints import EndpointResolver, checked_on_decommission
from model_governance.services.writeback import GovernanceWriteBack

log = logging.getLogger(__name__)
S = GovernanceStatus

#: The statuses ``advance`` may move a governance-started model to (the table's early stages).
EARLY_STAGES: tuple[GovernanceStatus, ...] = (
    S.MODEL_DEFINITION,
    S.DATA_ACQUISITION,
    S.DATA_ACQUISITION_COMPLETE,
    S.FEATURE_ENGINEERING,
    S.FEATURE_ENGINEERING_COMPLETE,
)
#: Statuses from which ``hand_over`` gives a governance-started model to the data science team.
HAND_OVER_FROM = frozenset({S.PROPOSED, *EARLY_STAGES})
#: Statuses with nothing left to hold, change or decommission.
_FINAL = frozenset({S.DECOMMISSIONING, S.DECOMMISSIONED})
#: Who a governance-started version says registered it (the package description).
PROPOSED_DESCRIPTION = "Governance-started model for use case {name} (id {id}): proposed, not yet built"

#: Sends mail: ``notify(subject, body, recipients)``; empty recipients: the operators.
Notify = Callable[[str, str, Sequence[str]], None]
#: Stops an implementation run: ``stop_run(run_id, why)`` -> whether it was stopped.
StopRun = Callable[[str, str], bool]


@dataclass(frozen=True)
class ActionRequest:
    """One governance action asked for by a person (from the DAG's form, the REST API or the dashboard).

    :param model: the model version it is about (inventory id or package ARN), or
    :param use_case_id: the use case it is about (exactly one of the two).
    :param to_status: ``advance`` only: the early stage to move to.
    :param dag_id: / :param run_id: the DAG run carrying it: the request's key and SageMaker's ClientTokens.
    """

    action: ActionKind
    requested_by: str
    reason: str
    dag_id: str
    run_id: str
    model: int | str | None = None
    use_case_id: int | None = None
    to_status: GovernanceStatus | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Any], *, dag_id: str, run_id: str) -> ActionRequest:
        """From the DAG's form (``params``): names the field and the fix when something is wrong."""
        raw_action = str(params.get("action") or "").strip()
        try:
            action = ActionKind(raw_action)
        except ValueError:
            known = ", ".join(k.value for k in ActionKind)
            raise InvalidInputError(f"action {raw_action!r} is not one of {known}.") from None
        reason = str(params.get("reason") or "").strip()
        if len(reason) < 3:
            raise InvalidInputError("reason is required: say why (at least 3 characters).")
        who = str(params.get("requested_by") or "").strip()
        if not who:
            raise InvalidInputError("requested_by is required: who asks for this action (email or user).")
        model = str(params.get("model") or "").strip() or None
        use_case = str(params.get("use_case_id") or "").strip() or None
        if (model is None) == (use_case is None):
            raise InvalidInputError(
                "Give exactly one target: model (a model package ARN or inventory id) or use_case_id."
            )
        if use_case is not None and not use_case.isdigit():
            raise InvalidInputError(f"use_case_id {use_case!r} is not a number: give the inventory id.")
        to_status = None
        raw_to = str(params.get("to_status") or "").strip()
        if action is ActionKind.ADVANCE:
            try:
                to_status = GovernanceStatus(raw_to)
            except ValueError:
                to_status = None
            if to_status not in EARLY_STAGES:
                allowed = ", ".join(s.value for s in EARLY_STAGES)
                raise InvalidInputError(f"to_status {raw_to!r}: advance needs one of {allowed}.")
        return cls(
            action=action,
            requested_by=who,
            reason=reason,
            dag_id=dag_id,
            run_id=run_id,
            model=(int(model) if model.isdigit() else model) if model else None,
            use_case_id=int(use_case) if use_case else None,
            to_status=to_status,
        )

    @property
    def target(self) -> str:
        return f"model:{self.model}" if self.model is not None else f"use-case:{self.use_case_id}"

    @property
    def request_key(self) -> str:
        return f"{self.dag_id}/{self.run_id}/{self.action.value}/{self.target}"


@dataclass
class ModelStep:
    """One model's status change by an action, and what SageMaker was told."""

    package_arn: str
    from_status: str
    to_status: str
    sagemaker: str
    written: bool

    def describe(self) -> str:
        told = f"SageMaker {self.sagemaker}" + ("" if self.written else " (already so)")
        return f"{self.package_arn}: {self.from_status} -> {self.to_status}; {told}"


@dataclass
class ActionResult:
    action_id: int
    action: str
    steps: list[ModelStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repeated: bool = False

    def detail(self) -> str:
        return "\n".join([*(s.describe() for s in self.steps), *self.notes]) or "nothing to change"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "action": self.action,
            "models": [vars(step) for step in self.steps],
            "notes": list(self.notes),
            "repeated": self.repeated,
        }


class GovernanceActionService:
    """Performs governance actions (see the module docstring).

    :param connections: the entities' connections (``GovernanceConnections``): each model's registry
        (``.registry``) and endpoints (``.jobs``), a use case group's registry (``of_group``).
    :param links_of: the governance links to write with a status (None: none written).
    :param on_decommission: ``deployment.on_decommission``: ``delete_endpoint`` or ``report``.
    :param notify: mail (the hand-over to the data science team; operators about what an action found).
    :param stop_run: stops a decommissioned model's implementation run (None: it is reported).
    """

    def __init__(
        self,
        *,
        inventory: Inventory,
        connections: Any,
        notify: Notify,
        links_of: Callable[[Model], GovernanceLinks | None] | None = None,
        on_decommission: str = "report",
        stop_run: StopRun | None = None,
    ) -> None:
        self.inventory = inventory
        self.connections = connections
        self.notify = notify
        self.links_of = links_of
        self.on_decommission = checked_on_decommission(on_decommission)
        self.stop_run = stop_run

    # -- entry point -------------------------------------------------------------------------------------

    def perform(self, request: ActionRequest) -> ActionResult:
        """Validate, record and carry out ``request``; a request already done returns what it did."""
        models = self._targets(request)
        self._validate(request, models)
        record, created = self.inventory.record_action_requested(
            request_key=request.request_key,
            action=request.action,
            requested_by=request.requested_by,
            reason=request.reason,
            model_id=models[0].id if request.model is not None else None,
            use_case_id=request.use_case_id if request.model is None else None,
            dag_id=request.dag_id,
            run_id=request.run_id,
        )
        result = ActionResult(record.id, request.action.value, repeated=not created)
        if record.state == ActionState.DONE.value:
            result.notes.append(f"done already: {record.detail}")
            return result
        try:
            self._carry_out(request, record, models, result)
        except Exception as exc:
            self.inventory.complete_action(record.id, failed=True, detail=f"{type(exc).__name__}: {exc}")
            raise
        first = result.steps[0] if result.steps else None
        self.inventory.complete_action(
            record.id,
            detail=result.detail(),
            from_status=first.from_status if first else None,
            to_status=first.to_status if first else None,
        )
        return result

    # -- what the request is about -----------------------------------------------------------------------

    def _targets(self, request: ActionRequest) -> list[Model]:
        if request.model is not None:
            return [self.inventory.get_model(request.model)]
        assert request.use_case_id is not None
        self.inventory.get_use_case(request.use_case_id)  # NotFoundError naming it
        return list(self.inventory.models_of_use_case(request.use_case_id))

    def _validate(self, request: ActionRequest, models: Sequence[Model]) -> None:
        """Refuse a request the life cycle does not allow before anything is recorded or written."""
        action = request.action
        if action is ActionKind.PROPOSE:
            if request.use_case_id is None:
                raise InvalidInputError("propose is about a use case: give use_case_id, not a model.")
            if self.inventory.model_group_of_use_case(request.use_case_id) is None:
                raise InvalidInputError(
                    f"Use case {request.use_case_id} has no SageMaker model group yet: register it "
                    "(use_case_registration) and wait for its approval first."
                )
            return
        if action is ActionKind.START_CHANGE and request.model is None:
            raise InvalidInputError("start_change is about one Deployed model: give model, not use_case_id.")
        if request.model is None and action in (ActionKind.ADVANCE, ActionKind.HAND_OVER):
            models = [m for m in models if S(m.status) in HAND_OVER_FROM]
            if len(models) != 1:
                raise InvalidInputError(
                    f"Use case {request.use_case_id} has {len(models)} governance-started models in an early "
                    "stage; name the model instead."
                )
        if request.model is None:
            return  # use case actions apply to those of its models the action fits (see _carry_out)
        model = models[0]
        target = self._target_status(request, model)
        if target is None:
            return
        current = S(model.status)
        if current is target:
            return  # a repeat: nothing to move
        if action is ActionKind.START_CHANGE and current is not S.DEPLOYED:
            raise IllegalTransitionError(
                f"A model change starts from a Deployed model; {model.package_arn} is {current.value!r}."
            )
        check_transition(current, target)

    def _target_status(self, request: ActionRequest, model: Model) -> GovernanceStatus | None:
        current = S(model.status)
        match request.action:
            case ActionKind.HOLD:
                if current in ON_HOLD:
                    return current
                return S.ON_HOLD_PROPOSAL if current is S.PROPOSED else S.ON_HOLD_DEVELOPMENT
            case ActionKind.RESUME:
                if current not in ON_HOLD:
                    if request.model is not None and not self._repeat(request):
                        raise InvalidInputError(
                            f"Model {model.package_arn} is {current.value!r}, not on hold; nothing to resume."
                        )
                    return None
                return self.inventory.status_before_hold(model)
            case ActionKind.START_CHANGE:
                return S.MODEL_CHANGE_IN_PROGRESS
            case ActionKind.DECOMMISSION:
                return S.DECOMMISSIONED if current is S.DECOMMISSIONED else S.DECOMMISSIONING
            case ActionKind.ADVANCE:
                return request.to_status
            case ActionKind.HAND_OVER:
                return S.UNDER_DEVELOPMENT
        return None

    def _repeat(self, request: ActionRequest) -> bool:
        return self.inventory.governance_action(request.request_key) is not None

    # -- carrying it out ---------------------------------------------------------------------------------

    def _carry_out(
        self,
        request: ActionRequest,
        record: GovernanceAction,
        models: Sequence[Model],
        result: ActionResult,
    ) -> None:
        action = request.action
        if action is ActionKind.PROPOSE:
            self._propose(request, result)
            return
        if request.model is None and action in (ActionKind.ADVANCE, ActionKind.HAND_OVER):
            models = [m for m in models if S(m.status) in HAND_OVER_FROM]
        for model in models:
            fresh = self.inventory.get_model(model.id)
            if action is ActionKind.DECOMMISSION:
                self._decommission(request, fresh, result)
                continue
            target = self._target_status(request, fresh)
            if target is None or (request.model is None and not self._fits(fresh, target)):
                result.notes.append(
                    f"{fresh.package_arn}: {fresh.status}, left as it is ({action.value} does not apply)"
                )
                continue
            self._move(request, fresh, target, result)
            if action is ActionKind.HAND_OVER:
                self._hand_over(request, fresh, result)
        if request.model is None and not models:
            result.notes.append(f"use case {request.use_case_id} has no model versions yet")
        if action is ActionKind.HOLD and request.model is None:
            result.notes.append(
                f"use case {request.use_case_id} on hold: its approvals wait (parked) until it is resumed"
            )

    @staticmethod
    def _fits(model: Model, target: GovernanceStatus) -> bool:
        current = S(model.status)
        if current is target:
            return True
        try:
            check_transition(current, target)
        except IllegalTransitionError:
            return False
        return True

    def _move(
        self, request: ActionRequest, model: Model, target: GovernanceStatus, result: ActionResult
    ) -> None:
        """Inventory first (the system of record), then SageMaker through the one write-back."""
        before = model.status
        self.inventory.transition(
            model,
            target,
            source=EventSource.GOVERNANCE,
            actor=request.requested_by,
            reason=f"{request.action.value}: {request.reason}",
            expected_from=before if before != target.value else None,
        )
        written = self._write(request, model, target)
        pair = to_sagemaker(target)
        result.steps.append(
            ModelStep(model.package_arn, before, target.value, f"{pair.stage}/{pair.stage_status}", written)
        )

    def _write(self, request: ActionRequest, model: Model, target: GovernanceStatus) -> bool:
        registry = self.connections.of_model(model).registry
        links = self.links_of(self.inventory.get_model(model.id)) if self.links_of else None
        outcome = GovernanceWriteBack(registry).write(
            target,
            arn=model.package_arn,
            links=links,
            write_lifecycle=may_go_to_sagemaker(target),
            token_parts=(request.dag_id, request.run_id, "action", request.action.value, str(model.id)),
            description=f"governance {request.action.value} by {request.requested_by}: {request.reason}",
        )
        return outcome.written

    # -- decommission -------------------------------------------------------------------------------------

    def _decommission(self, request: ActionRequest, model: Model, result: ActionResult) -> None:
        if S(model.status) is not S.DECOMMISSIONED:
            self._move(request, model, S.DECOMMISSIONING, result)
            self._endpoints(model, result)
            self._stop_run(model, request, result)
            self._move(request, self.inventory.get_model(model.id), S.DECOMMISSIONED, result)
        registry = self.connections.of_model(model).registry
        package = registry.describe_model_package(model.package_arn)
        body = model_cards.status_move(model.package_arn, package.get("ModelCard"), "Archived")
        if body is not None:
            registry.update_model_package(
                model.package_arn,
                {"ModelCard": body},
                token_parts=(request.dag_id, request.run_id, "action", "card-archived", str(model.id)),
            )
            result.notes.append(f"{model.package_arn}: model card archived")

    def _endpoints(self, model: Model, result: ActionResult) -> None:
        """Endpoints serving the version: deleted or reported, as ``deployment.on_decommission`` says."""
        client = self.connections.of_model(model).jobs
        serving = [
            e
            for e in EndpointResolver(client).endpoints()
            if e.live and model.package_arn.lower() in e.packages()
        ]
        for endpoint in serving:
            if self.on_decommission == "delete_endpoint":
                client.delete_endpoint(endpoint.name)
                result.notes.append(
                    f"endpoint {endpoint.name} deleted (deployment.on_decommission: delete_endpoint)"
                )
            else:
                result.notes.append(
                    f"endpoint {endpoint.name} still serves {model.package_arn}: delete it (or set "
                    "deployment.on_decommission: delete_endpoint); the lifecycle sync flags it until then"
                )
        if serving and self.on_decommission == "report":
            self.notify(
                f"Decommissioned model {model.package_arn} is still served",
                "\n".join(result.notes[-len(serving) :]),
                (),
            )

    def _stop_run(self, model: Model, request: ActionRequest, result: ActionResult) -> None:
        if not model.mlc_run_id or S(model.status) in (S.DEPLOYED, S.REJECTED):
            return
        why = f"model decommissioned by {request.requested_by}: {request.reason}"
        if self.stop_run is None:
            result.notes.append(f"its implementation run {model.mlc_run_id} may still be running")
        elif self.stop_run(model.mlc_run_id, why):
            result.notes.append(f"implementation run {model.mlc_run_id} stopped")

    # -- the early stages ---------------------------------------------------------------------------------

    def _propose(self, request: ActionRequest, result: ActionResult) -> None:
        """A governance-started version in the use case's group, recorded as Proposed."""
        assert request.use_case_id is not None
        use_case = self.inventory.get_use_case(request.use_case_id)
        group = self.inventory.model_group_of_use_case(use_case.id)
        if group is None:
            raise NotFoundError(f"Use case {use_case.id} has no model group.")
        registry = self.connections.of_group(group.id).registry
        stage = to_sagemaker(S.PROPOSED)
        arn = registry.create_model_package(
            group.name,
            description=PROPOSED_DESCRIPTION.format(name=use_case.name, id=use_case.id),
            lifecycle={
                "Stage": stage.stage,
                "StageStatus": stage.stage_status,
                "StageDescription": f"proposed by {request.requested_by}: {request.reason}"[:1024],
            },
            token_parts=(request.dag_id, request.run_id, "action", "propose", str(use_case.id)),
        )
        model, _ = self.inventory.upsert_model(
            package_arn=arn,
            status=S.PROPOSED,
            actor=request.requested_by,
            reason=f"propose: {request.reason}",
            source=EventSource.GOVERNANCE,
            approval_status="PendingManualApproval",
        )
        written = self._write(request, model, S.PROPOSED)
        result.steps.append(
            ModelStep(arn, "(new)", S.PROPOSED.value, f"{stage.stage}/{stage.stage_status}", True)
        )
        if written:
            result.notes.append(f"{arn}: governance links written")

    def _hand_over(self, request: ActionRequest, model: Model, result: ActionResult) -> None:
        use_case_id = self.inventory.use_case_of_group(model.model_group_id)
        use_case = self.inventory.get_use_case(int(use_case_id))
        to = [use_case.data_science_email or use_case.owner]
        self.notify(
            f"Model {model.package_arn} handed over for development ({use_case.name})",
            (
                f"{request.requested_by} handed over the governance-started model of use case "
                f"{use_case.name} to the data science team: {request.reason}\n\n"
                f"Model package: {model.package_arn} (status Under Development, SageMaker "
                "Development/InProgress).\nAdd the model to this package (UpdateModelPackage: "
                "InferenceSpecification, ModelCard) and set its ModelLifeCycle to Development/Complete "
                "when it is ready: the lifecycle sync then starts its implementation MLC."
            ),
            to,
        )
        result.notes.append(f"data science team emailed: {', '.join(to)}")


def held_statuses() -> frozenset[GovernanceStatus]:
    """Statuses ``hold`` applies to: Proposed, development and the MLC gates."""
    return frozenset({S.PROPOSED, *DEVELOPMENT_PHASE, *MLC_GATE_PHASE})


__all__ = [
    "EARLY_STAGES",
    "ActionRequest",
    "ActionResult",
    "GovernanceActionService",
    "ModelStep",
    "held_statuses",
]
