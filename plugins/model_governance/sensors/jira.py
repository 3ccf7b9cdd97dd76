"""Wait for a verified decision on a Jira approval ticket: deferred, separation of duties checked, recorded.

A thin adapter over ``services.approvals.ApprovalService``, which every gate uses. ``ApprovalWaitMixin`` is
the wait itself, written once for ``JiraApprovalSensor`` (and so ``JiraApprovalOperator``) and for the
risk-test-failure loop of ``RunRiskTestsOperator``: defer on the ticket through the shared Jira trigger,
check the event the task resumes with, and return the verified decision or defer again. What a wait
carries from one deferral to the next, its reminders and its escalation are the service's
(``ApprovalWait``, ``ApprovalService.remind``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from model_governance.exceptions import InvalidInputError, JiraError, NotFoundError
from model_governance.hooks.jira import JiraHook
from model_governance.operators.base import GovernanceBaseOperator, idempotent_retries

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.approvals import Decision
    from model_governance.inventory import Inventory, Model
    from model_governance.services.approvals import ApprovalRequest, ApprovalService, ApprovalWait

#: Approvals wait for weeks; Airflow's 7-day sensor default would fail them.
WAIT_A_YEAR = timedelta(days=365)


class ApprovalWaitMixin(GovernanceBaseOperator):
    """Wait on a Jira approval ticket for a verified decision; mixed into a governance operator.

    The task sets ``jira_conn_id`` (None: ``jira.conn_id``), ``poll_interval`` (None:
    ``jira.poll_interval_seconds``), ``direct_check_interval`` and ``search_lag_margin``; ``ticket_noun``
    names its tickets in errors. ``approvals`` is the approval service, built over ``approval_inventory()``.
    """

    #: How errors name the ticket waited on.
    ticket_noun = "Approval ticket"
    jira_conn_id: str | None
    poll_interval: float | None
    direct_check_interval: float
    search_lag_margin: float

    @cached_property
    def hook(self) -> JiraHook:
        return JiraHook(self.jira_conn_id or self.config.jira.conn_id)

    def approval_inventory(self) -> Inventory | None:
        """Where requests and decisions are recorded (None: nothing to record them about)."""
        return self.inventory

    @cached_property
    def approvals(self) -> ApprovalService:
        """The approval service: this task's Jira hook, the inventory, operator mail, and the version's
        registrant read from SageMaker (``CreatedBy``) through the model's business entity."""
        from model_governance.services.approvals import ApprovalService

        def registrant_of(model: Model) -> Mapping[str, Any] | None:
            registry = self.connections.of_model(model).registry
            return registry.describe_model_package(model.package_arn).get("CreatedBy")

        return ApprovalService(
            jira=self.hook,
            config=self.config,
            inventory=self.approval_inventory(),
            registrant_of=registrant_of,
            notify=self.notify,
            record=getattr(self, "record_decision", True),
        )

    def defer_on_ticket(
        self,
        issue_key: str,
        *,
        kwargs: dict[str, Any],
        timeout: timedelta | None,
        remind_at: str | None = None,
    ) -> NoReturn:
        """Defer on the shared Jira approval trigger until ``issue_key`` is decided (or a reminder is due);
        the task resumes in ``execute_complete`` with ``kwargs``."""
        from model_governance.triggers.jira import JiraApprovalTrigger

        settings = self.hook.settings
        poll = (
            self.poll_interval if self.poll_interval is not None else self.config.jira.poll_interval_seconds
        )
        # A decided ticket parked while its model is on hold: look again after a poll interval, not at once.
        parked = getattr(self.__dict__.get("approvals"), "parked", None)
        self.defer(
            trigger=JiraApprovalTrigger(
                jira_conn_id=self.hook.jira_conn_id,
                project_key=issue_key.rsplit("-", 1)[0],
                issue_key=issue_key,
                done_status=settings.done_status,
                rejected_status=settings.rejected_status,
                poll_interval=float(poll),
                direct_check_interval=self.direct_check_interval,
                search_lag_margin=self.search_lag_margin,
                remind_at=remind_at,
                **({"start_delay": float(poll)} if parked else {}),
            ),
            method_name="execute_complete",
            kwargs=kwargs,
            timeout=timeout,
        )

    def resumed_decision(
        self,
        request: ApprovalRequest,
        event: Any,
        issue_key: str | None,
        *,
        wait_again: Callable[[], NoReturn],
        on_reminder: Callable[[], NoReturn] | None = None,
    ) -> Decision:
        """Back from the trigger: the ticket's verified decision; a refused move (or one undone since)
        calls ``wait_again``, a due reminder ``on_reminder``; both defer, so neither returns."""
        from model_governance.triggers.jira import DECIDED, DELETED, REMINDER_DUE

        if not isinstance(event, dict) or "status" not in event or not issue_key:
            raise JiraError(
                f"Unexpected resume of task {self.task_id!r}: event {event!r} from the Jira approval "
                f"trigger, ticket {issue_key!r}. Clear the task to go back to its ticket."
            )
        status = event["status"]
        if status == DELETED:
            raise NotFoundError(
                f"{self.ticket_noun} {issue_key} was deleted before it was decided; clear this task to open "
                "a new ticket, or restore the ticket in Jira."
            )
        if status == REMINDER_DUE and on_reminder is not None:
            on_reminder()
        if status != DECIDED:
            raise JiraError(
                f"The Jira approval trigger for {self.ticket_noun.lower()} {issue_key} reported "
                f"{status!r}: {event}"
            )
        decision = self.approvals.verified_decision(request, issue_key)
        if decision is None:  # refused (and moved back), or moved on again since the trigger saw it
            wait_again()
        assert decision is not None  # wait_again defers
        return decision


class JiraApprovalSensor(BaseSensorOperator, ApprovalWaitMixin):
    """Wait until a reviewer allowed to decide moves ``issue_key`` to Done (approved) or Rejected.

    Who may decide is the approval service's rule (docs/approvals.md): never the use case's owner, the
    requester or the version's registrant (compared by Jira account), only members of the gate's approver
    groups, one gate per person where the risk level says so, and at the test results review the risk
    level's failed-tests policy. A move that does not count is answered with a ticket comment, the ticket
    is moved back, operators are notified, and the wait goes on. The verified decision is recorded in the
    governance inventory.

    Approved returns the decision (a dict: issue_key, outcome, status, decided_by, decided_at). Rejected
    raises ``ApprovalRejectedError`` carrying it, or returns it when ``raise_on_reject`` is False (to branch).

    :param issue_key: the ticket to watch (templated).
    :param approval_kind: an ``ApprovalKind`` value (USE_CASE, PIA, RISK_TEST_FAILURE, ...).
    :param model_owner: the owner who may not decide (an email or Jira account; templated); None takes
        the use case's owner from the inventory.
    :param requester: who asked for the approval (may not decide; templated).
    :param approver_groups: Jira groups allowed to decide; None takes them from the settings (the risk
        level's ``approvals.policies``, else ``jira.approver_groups``).
    :param model_id: / :param use_case_id: what the approval is about, for the inventory (templated).
    :param record_decision: record the request and the decision in the inventory.
    :param deferrable: wait in the triggerer (default) rather than in a worker slot.
    :param poll_interval: seconds between the shared Jira searches (and pokes when not deferrable);
        None takes ``jira.poll_interval_seconds`` from the settings.
    :param remind_every: comment a reminder on the ticket at this interval while undecided.
    :param escalate_after: notify operators once when undecided this long.
    """

    template_fields: Sequence[str] = ("issue_key", "model_owner", "requester", "model_id", "use_case_id")
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        approval_kind: str,
        issue_key: str | None = None,
        jira_conn_id: str = JiraHook.default_conn_name,
        project_key: str | None = None,
        model_owner: str | None = None,
        requester: str | None = None,
        approver_groups: Sequence[str] | None = None,
        model_id: int | str | None = None,
        use_case_id: int | str | None = None,
        record_decision: bool = True,
        raise_on_reject: bool = True,
        deferrable: bool = True,
        poll_interval: float | None = None,
        direct_check_interval: float = 1800.0,
        search_lag_margin: float = 120.0,
        remind_every: timedelta | None = None,
        escalate_after: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", WAIT_A_YEAR)
        kwargs.setdefault("poke_interval", poll_interval or 60.0)
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**idempotent_retries(kwargs))
        self.approval_kind = approval_kind
        self.issue_key = issue_key
        self.jira_conn_id = jira_conn_id
        self.project_key = project_key
        self.model_owner = model_owner
        self.requester = requester
        self.approver_groups = approver_groups
        self.model_id = model_id
        self.use_case_id = use_case_id
        self.record_decision = record_decision
        self.raise_on_reject = raise_on_reject
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.direct_check_interval = direct_check_interval
        self.search_lag_margin = search_lag_margin
        self.remind_every = remind_every
        self.escalate_after = escalate_after

    def approval_inventory(self) -> Inventory | None:
        return self.inventory if self.model_id or self.use_case_id else None

    def approval_request(self, context: Context) -> ApprovalRequest:
        from model_governance.services.approvals import ApprovalRequest

        ti = context["ti"]
        return ApprovalRequest(
            kind=self.approval_kind,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            model_id=int(self.model_id) if self.model_id else None,
            use_case_id=int(self.use_case_id) if self.use_case_id and not self.model_id else None,
            owner=self.model_owner or None,
            requester=self.requester or None,
            approver_groups=None if self.approver_groups is None else tuple(self.approver_groups),
        )

    # -- entry points ---------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        key = self._require_issue_key()
        request = self.approval_request(context)
        # Who may not decide is fixed when the wait starts (the operator did it when opening the ticket).
        self.approvals.record_request(request, key)
        if not self.deferrable:
            return super().execute(context)
        # A ticket decided already (a retry, a cleared task, a quick reviewer) is settled here rather than
        # through the triggerer: cheaper, and clear of Airflow's stale defer-exit race (see the trigger).
        decision = self.approvals.settled_decision(request, key)
        if decision is not None:
            return self._conclude(decision)
        from model_governance.services.approvals import ApprovalWait

        self._defer(ApprovalWait(key, datetime.now(UTC)))

    def poke(self, context: Context) -> PokeReturnValue | bool:
        key = self._require_issue_key()
        decision = self.approvals.settled_decision(self.approval_request(context), key)
        if decision is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._conclude(decision))

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        issue_key: str | None = None,
        reminders_sent: int = 0,
        waiting_since: str | None = None,
        escalated: bool = False,
    ) -> Any:
        from model_governance.services.approvals import ApprovalWait

        wait = ApprovalWait.resumed(issue_key, reminders_sent, waiting_since, escalated)
        decision = self.resumed_decision(
            self.approval_request(context),
            event,
            issue_key,
            wait_again=lambda: self._defer(wait),
            on_reminder=lambda: self._defer(self.approvals.remind(wait, escalate_after=self.escalate_after)),
        )
        return self._conclude(decision)

    # -- steps ----------------------------------------------------------------------------------------

    def _require_issue_key(self) -> str:
        if not self.issue_key:
            raise InvalidInputError(f"Task {self.task_id!r} needs the approval ticket's issue_key.")
        return str(self.issue_key)

    def _defer(self, wait: ApprovalWait) -> NoReturn:
        remind_at = wait.remind_at(self.remind_every)
        timeout = wait.remaining(self.timeout)
        self.defer_on_ticket(wait.issue_key, kwargs=wait.kwargs(), timeout=timeout, remind_at=remind_at)

    def _conclude(self, decision: Decision) -> dict[str, Any]:
        from model_governance.services.approvals import concluded

        return concluded(decision, raise_on_reject=self.raise_on_reject)
