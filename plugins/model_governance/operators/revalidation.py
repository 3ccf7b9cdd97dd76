"""The ``model_revalidation`` DAG's steps, thin adapters over ``services.revalidation``:
``DueRevalidationsOperator`` lists the Deployed models due, ``RevalidateModelOperator`` (mapped, one per
model) runs the standard risk tests on the production data, renders the revalidation document and opens
the REVALIDATION approval ticket through the approval service (it is a ``JiraApprovalOperator``), waits
for the verified decision in the triggerer and records it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from model_governance.operators.base import GovernanceBaseOperator
from model_governance.operators.jira import JiraApprovalOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.approvals import Decision
    from model_governance.services.revalidation import RevalidationService


class DueRevalidationsOperator(GovernanceBaseOperator):
    """The model ids due for revalidation (overdue first), for the mapped revalidation task."""

    def execute(self, context: Context) -> list[int]:
        from model_governance.services.revalidation import RevalidationService

        due = RevalidationService(inventory=self.inventory, config=self.config).due()
        self.log.info("Due for revalidation: %s", [d.to_dict() for d in due])
        return [d.model_id for d in due]


class RevalidateModelOperator(JiraApprovalOperator):
    """Revalidate one Deployed model: tests on production data, document, REVALIDATION approval.

    :param model_id: the model (templated; mapped over the due models).
    """

    template_fields: Sequence[str] = JiraApprovalOperator.template_fields

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("approval_kind", "REVALIDATION")
        kwargs.setdefault("raise_on_reject", False)
        super().__init__(**kwargs)
        self._run_key = ""

    def run_key(self, context: Context) -> str:
        from model_governance.services.revalidation import revalidation_key

        ti = context["ti"]
        return revalidation_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))

    def service(self, *, jobs: bool = False) -> RevalidationService:
        """The service over the model's business entity; ``jobs``: with the SageMaker jobs hook even when
        the runner is no longer ``processing`` (resuming from a job started before a settings change)."""
        from model_governance.services.revalidation import RevalidationService

        model = self.inventory.get_model(int(self.model_id or 0))
        entity = self.connections.of_model(model)
        return RevalidationService(
            inventory=self.inventory,
            config=self.config,
            s3_client=entity.s3_client,
            aws_conn_id=entity.aws_conn_id,
            evidence=entity.evidence(self.config.governance_bucket),
            registry=entity.registry,
            # The worker runner (the default) needs no SageMaker jobs hook.
            jobs=entity.jobs if jobs or self.config.risk_tests.runner == "processing" else None,
        )

    def execute(self, context: Context) -> Any:
        service = self.service()
        model = self.inventory.get_model(int(self.model_id or 0))
        key = self._run_key = self.run_key(context)
        service.start(model, key)
        return self._tested(context, service, model, service.test(model, key))

    def _tested(self, context: Context, service: RevalidationService, model: Any, tested: Any) -> Any:
        """After the tests (or, with the Processing job runner, wait for the job first): the document and
        the REVALIDATION ticket."""
        from model_governance.services.approvals import airflow_run_url
        from model_governance.services.risk_tests import AwaitJob

        if isinstance(tested, AwaitJob):
            self._wait_on_job(model, tested.name, tested.attempt)
        key = self._run_key
        self.log.info("Revalidation tests of %s: %s", model.package_arn, tested)
        ti = context["ti"]
        document = service.document(
            model, key, airflow_run_url=airflow_run_url(self.config.airflow_base_url, ti.dag_id, ti.run_id)
        )
        self.attachment_uris = {**document["attachment_uris"], **dict(self.attachment_uris or {})}  # type: ignore[arg-type]
        return super().execute(context)

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        *args: Any,
        job_name: str | None = None,
        attempt: int | None = None,
        **kwargs: Any,
    ) -> Any:
        self._run_key = self.run_key(context)
        if job_name is None:  # back from the REVALIDATION ticket
            return super().execute_complete(context, event, *args, **kwargs)
        from model_governance.exceptions import RegistryError
        from model_governance.triggers.sagemaker import FAILED, SUCCESS

        service = self.service(jobs=True)
        model = self.inventory.get_model(int(self.model_id or 0))
        # Raised through the service, which records the revalidation FAILED (not running): a retry
        # reconnects to the job, and a task that fails for good leaves the model to the next daily run.
        if not isinstance(event, dict) or event.get("name") != job_name:
            service.fail(
                self._run_key,
                RegistryError(
                    f"Unexpected resume of task {self.task_id!r}: event {event!r} for Processing job "
                    f"{job_name!r}. Clear the task to reconnect to its Processing job."
                ),
            )
        if event.get("status") not in (SUCCESS, FAILED):  # a failed job: the service raises with its reason
            service.fail(
                self._run_key,
                RegistryError(
                    f"Waiting for SageMaker Processing job {job_name} ended {event.get('status')!r}: "
                    f"{event.get('message') or event}. Clear the task to reconnect to the job (it is not "
                    "submitted again)."
                ),
            )
        return self._tested(
            context, service, model, service.job_ended(model, self._run_key, attempt, job_name)
        )

    def _wait_on_job(self, model: Any, name: str, attempt: int) -> NoReturn:
        """Wait in the triggerer for the revalidation's Processing job, as the MLC's risk test step does."""
        from model_governance.triggers.sagemaker import PROCESSING_JOB, SageMakerWaitTrigger

        entity = self.connections.of_model(model)
        assert entity.aws_conn_id is not None  # a business entity always names its connection
        settings = self.config.risk_tests
        self.defer(
            trigger=SageMakerWaitTrigger(
                resource=PROCESSING_JOB,
                name=name,
                aws_conn_id=entity.aws_conn_id,
                region_name=entity.region,
                poll_interval=settings.poll_interval_seconds,
            ),
            method_name="execute_complete",
            kwargs={"attempt": attempt, "job_name": name},
            timeout=timedelta(seconds=settings.max_runtime_seconds + 3600),
        )

    def _conclude(self, decision: Decision) -> dict[str, Any]:
        """Record the verified decision as the revalidation's outcome (Done: valid one interval)."""
        from model_governance.approvals import Outcome

        model = self.inventory.get_model(int(self.model_id or 0))
        result = self.service().decided(model, self._run_key, decision)
        if decision.outcome is not Outcome.APPROVED:
            self.notify(
                f"Revalidation of {model.package_arn} rejected ({decision.issue_key})",
                "The model stays due for revalidation (overdue on the dashboard once past its due date).",
            )
        return {**super()._conclude(decision), "revalidation": result}
