"""The governance status steps of a model version's life cycle, written to the inventory and to SageMaker.

Every status change goes through the inventory's ``transition`` (validated against the life cycle graph,
hash-chained, safe under concurrency) and, where the mapping table lets governance originate the status,
to the package's ``ModelLifeCycle`` and approval status with a ``ClientToken`` derived from the DAG run
and task, so a retried or re-run task writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from model_governance.exceptions import InvalidInputError, NotFoundError
from model_governance.inventory import EventSource
from model_governance.lifecycle import (
    GovernanceStatus,
    from_sagemaker,
    may_go_to_sagemaker,
    onboarding_status,
    parse_status,
)
from model_governance.model_cards import CardFacts, CardStatus
from model_governance.operators.use_case import _GovernanceOperator
from model_governance.registry import MetadataKey

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
    from model_governance.inventory import Model


class _ModelOperator(_GovernanceOperator):
    """A step about one model version, found in the inventory by id."""

    template_fields: Sequence[str] = ("model_id",)

    def __init__(self, *, model_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_id = model_id

    @cached_property
    def model(self) -> Model:
        return self.inventory.get_model(int(self.model_id))

    def registry(self) -> SageMakerRegistryHook:
        from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook

        entity = self.config.business_entity(self.inventory.business_entity_of_model(self.model).name)
        return SageMakerRegistryHook(aws_conn_id=entity.aws_conn_id, region_name=entity.region)

    def move_to(
        self, context: Context, status: GovernanceStatus, reason: str, *, actor: str | None = None
    ) -> None:
        """Record the status (inventory first: the system of record) and write it to SageMaker."""
        ti = context["ti"]
        self.inventory.transition(
            self.model,
            status,
            source=EventSource.GOVERNANCE,
            actor=actor or f"airflow:{ti.dag_id}/{ti.run_id}/{ti.task_id}",
            reason=reason,
        )
        from model_governance.registry import GovernanceLinks
        from model_governance.services.writeback import GovernanceWriteBack

        entity = self.inventory.business_entity_of_model(self.model).name
        row = self.inventory.governance_links(entity, model_ids=[self.model.id]).get(self.model.package_arn)
        # The one write-back the sync uses too: lifecycle (where governance originates the status), approval
        # status and links, in one UpdateModelPackage keyed by this task, only what differs.
        result = GovernanceWriteBack(self.registry()).write(
            status,
            arn=self.model.package_arn,
            links=GovernanceLinks.from_inventory(row, self.config.dashboard_base_url) if row else None,
            write_lifecycle=may_go_to_sagemaker(status),
            token_parts=(ti.dag_id, ti.run_id, ti.task_id),
            description=reason,
        )
        self.log.info(
            "Model %s is now %s: %s (SageMaker: %s)",
            self.model.package_arn,
            status.value,
            reason,
            result.describe() if result.written else "already in step",
        )


class OnboardModelOperator(_GovernanceOperator):
    """Find the model version in SageMaker and the inventory (creating its record); return its id.

    The package's group must be linked to a use case (use_case_registration did that). A version already
    known keeps its status; a new one starts from its ``ModelLifeCycle`` by the mapping table.
    """

    template_fields: Sequence[str] = ("package_arn",)

    def __init__(self, *, package_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.package_arn = package_arn

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
        from model_governance.inventory import parse_model_package_arn

        arn = str(self.package_arn or "").strip()
        parts = parse_model_package_arn(arn)
        group = self.inventory.find_model_group(parts.group_arn)
        if group is None:
            raise NotFoundError(
                f"Model package {arn!r} is in group {parts.group_name!r}, which no use case owns; register "
                "the use case first (use_case_registration) or register the version in its group."
            )
        entity = self.config.business_entity(self.inventory.business_entity_of_group(group.id).name)
        package = SageMakerRegistryHook(aws_conn_id=entity.aws_conn_id, region_name=entity.region)
        described = package.describe_model_package(arn)
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
        self.log.info("Model %s %s in status %s", arn, "onboarded" if created else "found", model.status)
        return {"model_id": model.id, "status": model.status, "created": created}


class SetModelStatusOperator(_ModelOperator):
    """Move the model to ``status`` (a governance status from the table) with ``reason``."""

    template_fields: Sequence[str] = ("model_id", "reason")

    def __init__(self, *, status: GovernanceStatus | str, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status = status
        self.reason = reason

    def execute(self, context: Context) -> str:
        target = parse_status(self.status)
        self.move_to(context, target, self.reason)
        return target.value


class RejectModelOperator(_ModelOperator):
    """A reviewer rejected the model: status Rejected (approval status Rejected), operators notified.

    The run then ends with the reason; the model can come back through a model change.
    """

    template_fields: Sequence[str] = ("model_id", "decision")

    def __init__(self, *, decision: dict[str, Any] | str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.decision = decision

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.notifications.email import notify_operators

        decision = self.decision if isinstance(self.decision, dict) else {}
        who = (decision.get("decided_by") or {}).get("display_name") or "a reviewer"
        reason = f"rejected by {who} in {decision.get('issue_key', 'Jira')}"
        self.move_to(context, GovernanceStatus.REJECTED, reason)
        try:
            notify_operators(f"Model {self.model.package_arn} rejected", reason, config=self.config)
        except Exception:  # the rejection is recorded; a mail outage must not undo that
            self.log.exception("Could not notify operators of the rejection")
        return {"model_id": self.model.id, "status": GovernanceStatus.REJECTED.value, "reason": reason}


class AcceptReviewDocumentOperator(_ModelOperator):
    """The test results review was approved: its documents join the snapshot, the model card says so,
    and the model is Validation Complete."""

    template_fields: Sequence[str] = ("model_id", "snapshot_id", "decision")

    def __init__(
        self, *, snapshot_id: int | str, decision: dict[str, Any] | str | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot_id = snapshot_id
        self.decision = decision

    def execute(self, context: Context) -> dict[str, Any]:
        snapshot_id = int(self.snapshot_id)
        documents = [d for d in self.inventory.documents(self.model, snapshot_id=snapshot_id) if d.kind]
        if not documents:
            raise InvalidInputError(
                f"Snapshot {snapshot_id} of model {self.model.id} has no review document to accept; the "
                "render_review_document task must run first."
            )
        self.inventory.approve_documents([d.id for d in documents])
        snapshot = self.inventory.get_snapshot(snapshot_id)
        decision = self.decision if isinstance(self.decision, dict) else {}
        ti = context["ti"]
        self.registry().fill_model_card(
            self.model.package_arn,
            self._card_facts(snapshot, documents, decision),
            token_parts=(ti.dag_id, ti.run_id, ti.task_id),
            status=CardStatus.PENDING_REVIEW,
        )
        self.move_to(
            context, GovernanceStatus.VALIDATION_COMPLETE, f"review approved in {decision.get('issue_key')}"
        )
        return {"documents": [d.uri for d in documents], "snapshot": snapshot.content_hash}

    def _card_facts(self, snapshot: Any, documents: Sequence[Any], decision: dict[str, Any]) -> CardFacts:
        """The card's governance facts: the use case, the snapshot, its risk test report, the review."""
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


class MarkApprovedForDeploymentOperator(_ModelOperator):
    """Production approval granted: status Approved for Deployment (approval status Approved) and the
    snapshot marked as the one deployed in production."""

    template_fields: Sequence[str] = ("model_id", "snapshot_id", "decision")

    def __init__(
        self, *, snapshot_id: int | str, decision: dict[str, Any] | str | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot_id = snapshot_id
        self.decision = decision

    def execute(self, context: Context) -> dict[str, Any]:
        decision = self.decision if isinstance(self.decision, dict) else {}
        self.move_to(
            context,
            GovernanceStatus.APPROVED_FOR_DEPLOYMENT,
            f"production approval granted in {decision.get('issue_key', 'Jira')}",
        )
        snapshot = self.inventory.mark_snapshot_deployed(int(self.snapshot_id))
        ti = context["ti"]
        self.registry().set_model_card_status(
            self.model.package_arn, CardStatus.APPROVED, token_parts=(ti.dag_id, ti.run_id, ti.task_id)
        )
        return {
            "model_id": self.model.id,
            "snapshot": snapshot.content_hash,
            "deployed_at": str(snapshot.deployed_at),
        }


class WaitForDeploymentSensor(BaseSensorOperator, _ModelOperator):
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
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("poke_interval", 60)
        kwargs.setdefault("timeout", timedelta(days=90))
        super().__init__(**kwargs)

    def poke(self, context: Context) -> bool:
        from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook
        from model_governance.services.endpoints import DeploymentCheck

        if self.inventory.get_model(self.model.id).status == GovernanceStatus.DEPLOYED.value:
            return True  # the lifecycle sync recorded it, with the same evidence
        described = self.registry().describe_model_package(self.model.package_arn)
        lifecycle = described.get("ModelLifeCycle") or {}
        if (
            from_sagemaker(lifecycle.get("Stage", ""), lifecycle.get("StageStatus", ""))
            is not GovernanceStatus.DEPLOYED
        ):
            return False
        entity = self.config.business_entity(self.inventory.business_entity_of_model(self.model).name)
        check = DeploymentCheck(
            inventory=self.inventory,
            client=SageMakerJobsHook(aws_conn_id=entity.aws_conn_id, region_name=entity.region),
        )
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
