"""Step 4 of the MLC: run the standard risk tests on a snapshot's data, in the worker or as a SageMaker
Processing job (setting ``risk_tests.runner``).

The Airflow adapter of ``services.risk_tests.RiskTestsService`` (which holds the attempts, the runs, the
reports and the failure tickets; see there): this task builds the service for its model and DAG run, and
does what the service says next: return the result, wait in the triggerer for the Processing job or for
the RISK_TEST_FAILURE ticket (``ApprovalWaitMixin``, the same wait as every approval), or fail without
retries when the snapshot's pinned data changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from model_governance.exceptions import JiraError
from model_governance.operators.base import ModelOperator
from model_governance.sensors.jira import ApprovalWaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.services.risk_tests import RiskTestsService, Step

#: Failure tickets wait for weeks; Airflow's 7-day sensor default would fail them.
WAIT_A_YEAR = timedelta(days=365)


def run_key_prefix(dag_id: str, run_id: str, task_id: str) -> str:
    """Where this task's attempts are recorded (``services.risk_tests.run_key_prefix``)."""
    from model_governance.services.risk_tests import run_key_prefix as prefix

    return prefix(dag_id, run_id, task_id)


class RunRiskTestsOperator(ModelOperator, ApprovalWaitMixin):
    """Run the standard risk tests on a snapshot; a job that fails to run opens a ticket, Done re-runs it.

    :param model_id: the inventory id of the model version (templated).
    :param snapshot_id: the inventory id of the snapshot to test (templated).
    :param max_reruns: how many times a failed job may be run again after its ticket is moved to Done.
    :param jira_conn_id: the Jira connection of the failure tickets; None takes ``jira.conn_id``.
    :param poll_interval: seconds between the shared Jira searches while waiting; None takes
        ``jira.poll_interval_seconds``.
    :param direct_check_interval: / :param search_lag_margin: as for ``JiraApprovalTrigger``.
    :param wait_timeout: how long a failure ticket may stay undecided.
    :param workers: threads of the engine (default: up to 4).
    """

    template_fields: Sequence[str] = ("model_id", "snapshot_id")
    ui_color = "#fdf3e6"
    ticket_noun = "Risk test failure ticket"

    def __init__(
        self,
        *,
        snapshot_id: int | str,
        max_reruns: int = 2,
        jira_conn_id: str | None = None,
        poll_interval: float | None = None,
        direct_check_interval: float = 1800.0,
        search_lag_margin: float = 120.0,
        wait_timeout: timedelta = WAIT_A_YEAR,
        workers: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot_id = snapshot_id
        self.max_reruns = max_reruns
        self.jira_conn_id = jira_conn_id
        self.poll_interval = poll_interval
        self.direct_check_interval = direct_check_interval
        self.search_lag_margin = search_lag_margin
        self.wait_timeout = wait_timeout
        self.workers = workers

    def execute(self, context: Context) -> dict[str, Any]:
        return self._follow(context, self.service(context).start())

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        attempt: int | None = None,
        issue_key: str | None = None,
        job_name: str | None = None,
    ) -> dict[str, Any]:
        service = self.service(context)
        if job_name is not None:
            return self._follow(context, service.job_ended(event, attempt, job_name))
        if not issue_key or isinstance(attempt, bool) or not isinstance(attempt, int):
            raise JiraError(
                f"Unexpected resume of task {self.task_id!r}: event {event!r}, attempt {attempt!r}, "
                f"ticket {issue_key!r}. Clear the task to go back to its risk test failure ticket."
            )
        decision = self.resumed_decision(
            service.failure_request(attempt),
            event,
            issue_key,
            wait_again=lambda: self._wait_on_ticket(attempt, issue_key),
        )
        return self._follow(context, service.decided(attempt, issue_key, decision))

    def service(self, context: Context) -> RiskTestsService:
        from model_governance.services.risk_tests import RiskTestsService

        return RiskTestsService(
            config=self.config,
            inventory=self.inventory,
            model=self.model,
            snapshot_id=self.snapshot_id,
            ti=context["ti"],
            entity=self.entity,
            evidence=self.evidence,
            approvals=self.approvals,
            jira=self.hook,
            set_status=lambda status, reason: self.move_to(context, status, reason),
            notify=self.notify,
            log=self.log,
            max_reruns=self.max_reruns,
            workers=self.workers,
        )

    def _follow(self, context: Context, step: Step) -> dict[str, Any]:
        """Do what the service says next: return its result, wait, or fail without retries."""
        from airflow.sdk.exceptions import AirflowFailException

        from model_governance.services.risk_tests import AwaitJob, AwaitTicket, Finished

        if isinstance(step, Finished):
            return step.result
        if isinstance(step, AwaitJob):
            self._wait_on_job(step.name, step.attempt)
        if isinstance(step, AwaitTicket):
            self._wait_on_ticket(step.attempt, step.issue_key)
        raise AirflowFailException(step.message) from step.error

    def _wait_on_ticket(self, attempt: int, issue_key: str) -> NoReturn:
        kwargs = {"attempt": attempt, "issue_key": issue_key}
        self.defer_on_ticket(issue_key, kwargs=kwargs, timeout=self.wait_timeout)

    def _wait_on_job(self, name: str, attempt: int) -> NoReturn:
        from model_governance.triggers.sagemaker import PROCESSING_JOB

        settings = self.config.risk_tests
        self.defer_on_sagemaker(
            PROCESSING_JOB,
            name,
            poll_interval=settings.poll_interval_seconds,
            timeout=timedelta(seconds=settings.max_runtime_seconds + 3600),
            kwargs={"attempt": attempt, "job_name": name},
        )
