"""The governance status steps of a model version's life cycle, written to the inventory and to SageMaker.

Every status change goes through the inventory's ``transition`` (validated against the life cycle graph,
hash-chained, safe under concurrency) and, where the mapping table lets governance originate the status,
to the package's ``ModelLifeCycle`` and approval status with a ``ClientToken`` derived from the DAG run
and task, so a retried or re-run task writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from model_governance.exceptions import InvalidInputError, NotFoundError
from model_governance.operators.base import GovernanceBaseOperator, ModelOperator, task_key

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.lifecycle import GovernanceStatus
    from model_governance.model_cards import CardFacts


class OnboardModelOperator(GovernanceBaseOperator):
    """Find the model version in SageMaker and the inventory (creating its record); return its id.

    The package's group must be linked to a use case (use_case_registration did that). A version already
    known keeps its status; a new one starts from its ``ModelLifeCycle`` by the mapping table.
    """

    template_fields: Sequence[str] = ("package_arn",)

    def __init__(self, *, package_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.package_arn = package_arn

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.inventory import parse_model_package_arn
        from model_governance.lifecycle import from_sagemaker, onboarding_status

        arn = str(self.package_arn or "").strip()
        parts = parse_model_package_arn(arn)
        group = self.inventory.find_model_group(parts.group_arn)
        if group is None:
            raise NotFoundError(
                f"Model package {arn!r} is in group {parts.group_name!r}, which no use case owns; register "
                "the use case first (use_case_registration) or register the version in its group."
            )
        described = self.connections.of_group(group.id).registry.describe_model_package(arn)
        lifecycle = described.get("ModelLifeCycle") or {}
        # Only the statuses the table lets SageMaker originate are taken (issue 13): a version registered at a
        # governance-owned stage starts at Development Complete; the lifecycle sync reverts and reports it.
        status = onboarding_status(
            from_sagemaker(lifecycle.get("Stage", ""), lifecycle.get("StageStatus", ""))
        )
        model, created = self.inventory.upsert_model(
            package_arn=described["ModelPackageArn"],
            status=status,
            actor="sagemaker",
            reason=f"onboarded from SageMaker (lifecycle {lifecycle or 'not set'})",
            approval_status=described.get("ModelApprovalStatus"),
            sagemaker_last_modified=described.get("LastModifiedTime"),
        )
        # This run is the version's implementation run: the lifecycle sync must not start another one.
        self.inventory.claim_mlc_run(model.id, context["ti"].run_id)
        from model_governance.services.challengers import link_if_challenger

        link_if_challenger(self.inventory, model)  # a model change's next version: its challenger
        self.log.info("Model %s %s in status %s", arn, "onboarded" if created else "found", model.status)
        return {"model_id": model.id, "status": model.status, "created": created}


class SetModelStatusOperator(ModelOperator):
    """Move the model to ``status`` (a governance status from the table) with ``reason``."""

    template_fields: Sequence[str] = ("model_id", "reason")

    def __init__(self, *, status: GovernanceStatus | str, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status = status
        self.reason = reason

    def execute(self, context: Context) -> str:
        from model_governance.lifecycle import parse_status

        target = parse_status(self.status)
        self.move_to(context, target, self.reason)
        return target.value


class RejectModelOperator(ModelOperator):
    """A reviewer rejected the model: status Rejected (approval status Rejected), operators notified.

    The run then ends with the reason; the model can come back through a model change.
    """

    template_fields: Sequence[str] = ("model_id", "decision")

    def __init__(self, *, decision: dict[str, Any] | str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.decision = decision

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.lifecycle import GovernanceStatus

        decision = self.decision if isinstance(self.decision, dict) else {}
        who = (decision.get("decided_by") or {}).get("display_name") or "a reviewer"
        reason = f"rejected by {who} in {decision.get('issue_key', 'Jira')}"
        self.move_to(context, GovernanceStatus.REJECTED, reason)
        # The rejection is recorded; a mail outage must not undo that.
        self.notify(f"Model {self.model.package_arn} rejected", reason)
        return {"model_id": self.model.id, "status": GovernanceStatus.REJECTED.value, "reason": reason}


class _DecidedSnapshotStep(ModelOperator):
    """A step that follows an approval of a snapshot: the snapshot and the decision the approval returned."""

    template_fields: Sequence[str] = ("model_id", "snapshot_id", "decision")

    def __init__(
        self, *, snapshot_id: int | str, decision: dict[str, Any] | str | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot_id = snapshot_id
        self.decision = decision

    def decided(self) -> dict[str, Any]:
        return self.decision if isinstance(self.decision, dict) else {}


class AcceptReviewDocumentOperator(_DecidedSnapshotStep):
    """The test results review was approved: its documents join the snapshot, the model card says so,
    and the model is Validation Complete."""

    template_fields: Sequence[str] = ("model_id", "snapshot_id", "decision")

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.lifecycle import GovernanceStatus
        from model_governance.model_cards import CardStatus

        snapshot_id = int(self.snapshot_id)
        documents = [d for d in self.inventory.documents(self.model, snapshot_id=snapshot_id) if d.kind]
        if not documents:
            raise InvalidInputError(
                f"Snapshot {snapshot_id} of model {self.model.id} has no review document to accept; the "
                "render_review_document task must run first."
            )
        self.inventory.approve_documents([d.id for d in documents])
        snapshot = self.inventory.get_snapshot(snapshot_id)
        decision = self.decided()
        self.entity.registry.fill_model_card(
            self.model.package_arn,
            self._card_facts(snapshot, documents, decision),
            token_parts=task_key(context),
            status=CardStatus.PENDING_REVIEW,
        )
        self.move_to(
            context, GovernanceStatus.VALIDATION_COMPLETE, f"review approved in {decision.get('issue_key')}"
        )
        return {"documents": [d.uri for d in documents], "snapshot": snapshot.content_hash}

    def _card_facts(self, snapshot: Any, documents: Sequence[Any], decision: dict[str, Any]) -> CardFacts:
        """The card's governance facts: the use case, the snapshot, its risk test report, the review."""
        from model_governance.model_cards import CardFacts

        use_case = self.inventory.get_use_case(self.model.model_group.use_case_id)
        run = self.inventory.latest_risk_test_run(self.model)
        report = run.report if run is not None and run.snapshot_id == snapshot.id else None
        details = {"use_case_id": str(use_case.id), "model_id": str(self.model.id)}
        if decision.get("issue_key"):
            details["review_approved_in"] = str(decision["issue_key"])
        details.update({f"review_document:{d.media_type}": d.sha256 for d in documents if d.sha256})
        return CardFacts.from_manifest(
            snapshot.manifest,
            use_case_description=use_case.description,
            owner=use_case.owner,
            business_entity=use_case.business_entity.name,
            snapshot=snapshot.content_hash,
            risk_report=report,
            risk_report_uri=run.report_uri if report is not None and run is not None else None,
            details=details,
        )


class MarkApprovedForDeploymentOperator(_DecidedSnapshotStep):
    """Production approval granted: status Approved for Deployment (approval status Approved) and the
    snapshot marked as the one deployed in production."""

    template_fields: Sequence[str] = ("model_id", "snapshot_id", "decision")

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.lifecycle import GovernanceStatus
        from model_governance.model_cards import CardStatus

        decision = self.decided()
        self.move_to(
            context,
            GovernanceStatus.APPROVED_FOR_DEPLOYMENT,
            f"production approval granted in {decision.get('issue_key', 'Jira')}",
        )
        snapshot = self.inventory.mark_snapshot_deployed(int(self.snapshot_id))
        self.entity.registry.set_model_card_status(
            self.model.package_arn, CardStatus.APPROVED, token_parts=task_key(context)
        )
        return {
            "model_id": self.model.id,
            "snapshot": snapshot.content_hash,
            "deployed_at": str(snapshot.deployed_at),
        }


class WaitForDeploymentSensor(BaseSensorOperator, ModelOperator):
    """Wait until SageMaker reports the package Deployment/Complete and an endpoint serves the approved
    version, then record the model Deployed.

    Deployed is a status only SageMaker originates (the table's direction), so governance waits for it
    rather than writing it; and it means served (``services/endpoints.py``): endpoint -> configuration ->
    model -> a container naming the package, or the snapshot's image and model data. Deployment/Complete
    with no endpoint serving it is not recorded: the sensor keeps waiting and says why. Reschedule mode: no
    worker slot is held between checks.
    """

    template_fields: Sequence[str] = ("model_id",)

    def __init__(self, **kwargs: Any) -> None:
        # No poke_interval given: ``deployment.poll_interval_seconds``, read when the task runs (not at
        # parse time, which must not load the configuration).
        self._poke_interval_from_config = "poke_interval" not in kwargs
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("poke_interval", 60)
        kwargs.setdefault("timeout", timedelta(days=90))
        super().__init__(**kwargs)

    def execute(self, context: Context) -> Any:
        if self._poke_interval_from_config:
            self.poke_interval = float(self.config.deployment.poll_interval_seconds)
        return super().execute(context)

    def poke(self, context: Context) -> bool:
        from model_governance.inventory import EventSource
        from model_governance.lifecycle import GovernanceStatus, from_sagemaker
        from model_governance.registry import MetadataKey
        from model_governance.services.endpoints import DeploymentCheck

        if self.inventory.get_model(self.model.id).status == GovernanceStatus.DEPLOYED.value:
            return True  # the lifecycle sync recorded it, with the same evidence
        described = self.entity.registry.describe_model_package(self.model.package_arn)
        lifecycle = described.get("ModelLifeCycle") or {}
        if (
            from_sagemaker(lifecycle.get("Stage", ""), lifecycle.get("StageStatus", ""))
            is not GovernanceStatus.DEPLOYED
        ):
            return False
        check = DeploymentCheck(inventory=self.inventory, client=self.entity.jobs)
        named = (described.get("CustomerMetadataProperties") or {}).get(MetadataKey.ENDPOINT)
        evidence = check.evidence(self.model, candidates=[named] if named else [])
        if evidence is None:
            self.log.warning(
                "SageMaker reports Deployment/Complete for %s but no endpoint serves it (by "
                "ModelPackageName, or by the snapshot's image and model data); not recording Deployed yet",
                self.model.package_arn,
            )
            return False
        self.inventory.transition(
            self.model,
            GovernanceStatus.DEPLOYED,
            source=EventSource.SAGEMAKER,
            actor="sagemaker",
            reason=f"SageMaker reports Deployment/Complete; {evidence.describe()}",
        )
        return True
