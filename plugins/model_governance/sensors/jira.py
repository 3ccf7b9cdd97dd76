"""Wait for a verified decision on a Jira approval ticket: deferred, four-eyes checked, recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from model_governance.approvals import ApproverPolicy, Decision, Outcome
from model_governance.config import ApprovalKind
from model_governance.exceptions import (
    ApprovalRejectedError,
    InvalidInputError,
    JiraError,
    NotFoundError,
)
from model_governance.hooks.jira import JiraHook
from model_governance.triggers.jira import DECIDED, DELETED, REMINDER_DUE, JiraApprovalTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.inventory import Inventory

#: Approvals wait for weeks; Airflow's 7-day sensor default would fail them.
WAIT_A_YEAR = timedelta(days=365)


class JiraApprovalSensor(BaseSensorOperator):
    """Wait until a reviewer allowed to decide moves ``issue_key`` to Done (approved) or Rejected.

    A move by someone the four-eyes policy refuses (the owner, the requester, or a non-member of the
    approver groups) is answered with a ticket comment, the ticket is moved back, operators are notified,
    and the wait goes on. The verified decision is recorded in the governance inventory.

    Approved returns the decision (a dict: issue_key, outcome, status, decided_by, decided_at). Rejected
    raises ``ApprovalRejectedError`` carrying it, or returns it when ``raise_on_reject`` is False (to branch).

    :param issue_key: the ticket to watch (templated).
    :param approval_kind: an ``ApprovalKind`` value (USE_CASE, PIA, RISK_TEST_FAILURE, ...).
    :param model_owner: / :param requester: emails or Jira ids that may not decide (templated).
    :param approver_groups: Jira groups allowed to decide; None takes them from the settings for this kind.
    :param model_id: / :param use_case_id: what the approval is about, for the inventory (templated).
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
        # Every step of an approval is idempotent, so retries are safe; they also absorb Airflow's stale
        # defer-exit race (apache/airflow#72716), which fails a resumed task without running it.
        kwargs.setdefault("retries", 2)
        kwargs.setdefault("retry_delay", timedelta(seconds=30))
        super().__init__(**kwargs)
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

    @cached_property
    def hook(self) -> JiraHook:
        return JiraHook(self.jira_conn_id)

    # -- entry points ---------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        key = self._require_issue_key()
        if not self.deferrable:
            return super().execute(context)
        # A ticket decided already (a retry, a cleared task, a quick reviewer) is settled here rather than
        # through the triggerer: cheaper, and clear of Airflow's stale defer-exit race (see the trigger).
        settings = self.hook.settings
        if self.hook.status_of(key).lower() in (
            settings.done_status.lower(),
            settings.rejected_status.lower(),
        ):
            decision = self._verified_decision(key)
            if decision is not None:
                return self._conclude(context, decision)
        self._defer(key, reminders_sent=0, waiting_since=datetime.now(UTC), escalated=False)
        return None

    def poke(self, context: Context) -> PokeReturnValue | bool:
        key = self._require_issue_key()
        status = self.hook.status_of(key)
        settings = self.hook.settings
        if status.lower() not in (settings.done_status.lower(), settings.rejected_status.lower()):
            return False
        decision = self._verified_decision(key)
        if decision is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._conclude(context, decision))

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        issue_key: str | None = None,
        reminders_sent: int = 0,
        waiting_since: str | None = None,
        escalated: bool = False,
    ) -> Any:
        if not isinstance(event, dict) or "status" not in event or not issue_key:
            raise JiraError(f"Unexpected event from the Jira approval trigger: {event!r}")
        since = datetime.fromisoformat(waiting_since) if waiting_since else datetime.now(UTC)
        status = event["status"]
        if status == DELETED:
            raise NotFoundError(
                f"Approval ticket {issue_key} was deleted before it was decided; clear this task to open a "
                "new ticket, or restore the ticket in Jira."
            )
        if status == REMINDER_DUE:
            escalated = self._remind(issue_key, reminders_sent + 1, since, escalated)
            self._defer(
                issue_key, reminders_sent=reminders_sent + 1, waiting_since=since, escalated=escalated
            )
        if status != DECIDED:
            raise JiraError(f"Jira approval trigger for {issue_key} reported {status!r}: {event}")
        decision = self._verified_decision(issue_key)
        if decision is None:
            self._defer(issue_key, reminders_sent=reminders_sent, waiting_since=since, escalated=escalated)
        assert decision is not None  # _defer does not return
        return self._conclude(context, decision)

    # -- steps ----------------------------------------------------------------------------------------

    def _require_issue_key(self) -> str:
        if not self.issue_key:
            raise InvalidInputError(f"Task {self.task_id!r} needs the approval ticket's issue_key.")
        return str(self.issue_key)

    def _project_of(self, key: str) -> str:
        return self.project_key or key.rsplit("-", 1)[0]

    def _defer(self, key: str, *, reminders_sent: int, waiting_since: datetime, escalated: bool) -> None:
        remind_at = None
        if self.remind_every is not None:
            remind_at = (waiting_since + self.remind_every * (reminders_sent + 1)).isoformat()
        remaining = None
        if self.timeout is not None:
            total = self.timeout if isinstance(self.timeout, timedelta) else timedelta(seconds=self.timeout)
            remaining = max(timedelta(seconds=1), total - (datetime.now(UTC) - waiting_since))
        settings = self.hook.settings
        self.defer(
            trigger=JiraApprovalTrigger(
                jira_conn_id=self.jira_conn_id,
                project_key=self._project_of(key),
                issue_key=key,
                done_status=settings.done_status,
                rejected_status=settings.rejected_status,
                poll_interval=self._poll_interval(),
                direct_check_interval=self.direct_check_interval,
                search_lag_margin=self.search_lag_margin,
                remind_at=remind_at,
            ),
            method_name="execute_complete",
            kwargs={
                "issue_key": key,
                "reminders_sent": reminders_sent,
                "waiting_since": waiting_since.isoformat(),
                "escalated": escalated,
            },
            timeout=remaining,
        )

    def _poll_interval(self) -> float:
        if self.poll_interval is not None:
            return float(self.poll_interval)
        from model_governance.config import load_config

        return load_config().jira.poll_interval_seconds

    def _policy(self) -> ApproverPolicy:
        groups = self.approver_groups
        if groups is None:
            from model_governance.config import load_config

            groups = load_config().jira.approver_groups.get(ApprovalKind(self.approval_kind), [])
        return ApproverPolicy(owner=self._owner(), requester=self.requester, approver_groups=tuple(groups))

    def _owner(self) -> str | None:
        """The owner who may not approve: as given, or the use case's owner from the inventory."""
        if self.model_owner or not (self.model_id or self.use_case_id):
            return self.model_owner
        inventory = self._inventory()
        use_case_id = (
            inventory.use_case_of_group(inventory.get_model(int(self.model_id)).model_group_id)
            if self.model_id
            else int(self.use_case_id)  # type: ignore[arg-type]
        )
        return inventory.get_use_case(use_case_id).owner

    def _verified_decision(self, key: str) -> Decision | None:
        """The ticket's decision if the policy accepts its mover; otherwise refuse it and return None."""
        decision = self.hook.decision(key)
        if decision is None:
            return None  # moved on again (e.g. reopened) since the trigger saw it
        policy = self._policy()
        groups = self.hook.user_groups(decision.decided_by) if policy.approver_groups else []
        refusal = policy.refusal(decision, groups)
        if refusal is None:
            return decision
        self._refuse(key, decision, refusal)
        return None

    def _refuse(self, key: str, decision: Decision, refusal: str) -> None:
        reopen = self.hook.settings.reopen_status
        self.log.warning("Refusing the %s move of %s: %s", decision.status, key, refusal)
        self.hook.comment(
            key,
            f"This move to {decision.status} does not count: {refusal}. The ticket has been moved back to "
            f"{reopen}; a reviewer allowed to decide must move it.",
            marker=f"mg-refused-{int(decision.decided_at.timestamp())}",
        )
        self.hook.transition(key, reopen)
        self._notify(
            f"Approval {key}: decision by {decision.decided_by.identity} refused",
            f"{self.hook.browse_url(key)}\n{refusal}\nThe ticket was moved back to {reopen}.",
        )

    def _remind(self, key: str, number: int, since: datetime, escalated: bool) -> bool:
        waited = datetime.now(UTC) - since
        self.hook.comment(
            key,
            f"Reminder: this approval has been waiting {waited.days} days {waited.seconds // 3600} hours. "
            "Move the ticket to Done to approve or Rejected to reject.",
            marker=f"mg-reminder-{number}",
        )
        if self.escalate_after is not None and not escalated and waited >= self.escalate_after:
            self._notify(
                f"Approval {key} waiting past its SLA",
                f"{self.hook.browse_url(key)} has waited since {since.isoformat()} ({waited}).",
            )
            return True
        return escalated

    def _notify(self, subject: str, body: str) -> None:
        from model_governance.notifications.email import notify_operators

        try:
            notify_operators(subject, body)
        except Exception:  # a mail outage must not lose the approval; the log keeps the message
            self.log.exception("Could not notify operators: %s", subject)

    def _conclude(self, context: Context, decision: Decision) -> dict[str, Any]:
        result = decision.to_dict()
        if self.record_decision and (self.model_id or self.use_case_id):
            self._record(context, decision)
        if decision.outcome is Outcome.REJECTED and self.raise_on_reject:
            who = decision.decided_by.display_name or decision.decided_by.identity
            raise ApprovalRejectedError(
                f"{decision.issue_key} was rejected by {who} at {decision.decided_at.isoformat()}.", result
            )
        return result

    def _record_request(self, context: Context, key: str) -> None:
        """Record the open approval in the inventory (idempotent by Jira key)."""
        ti = context["ti"]
        self._inventory().record_approval_requested(
            kind=self.approval_kind,
            jira_key=key,
            model_id=int(self.model_id) if self.model_id else None,
            use_case_id=int(self.use_case_id) if self.use_case_id and not self.model_id else None,
            requested_by=self.requester,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
        )

    def _record(self, context: Context, decision: Decision) -> None:
        self._record_request(context, decision.issue_key)
        self._inventory().record_approval_decision(
            decision.issue_key,
            approved=decision.outcome is Outcome.APPROVED,
            decided_by=decision.decided_by.email or decision.decided_by.identity,
            decided_at=decision.decided_at,
            decision_status=decision.status,
        )

    def _inventory(self) -> Inventory:
        from model_governance.hooks.inventory import GovernanceInventoryHook

        return GovernanceInventoryHook().get_conn()
