"""The approval service: one way every gate opens its Jira ticket and takes a verified decision from it.

Every gate uses it (USE_CASE, PIA, TEST_RESULTS_REVIEW and PRODUCTION through ``JiraApprovalSensor`` /
``JiraApprovalOperator``, RISK_TEST_FAILURE through ``RunRiskTestsOperator``): open or find the ticket by its
marker, resolve the people who may not decide it to Jira accounts and record them with the request, and,
when the ticket is moved to Done or Rejected, verify the move against ``approvals.GateRules``; a move that
does not count is answered with a comment saying why, the ticket is moved back and the wait goes on; a
verified decision is recorded with the decider's Jira account (and the justification a policy asked for).
While a gate waits, the service comments its reminders (once each) and tells the operators once when the
wait passes its SLA (``remind``); ``ApprovalWait`` is what a wait carries from one deferral to the next.

Plain class, collaborators passed in (a Jira hook, the inventory, the settings, a registrant lookup, a
notifier), no Airflow import: the Airflow adapters build it, the unit tests give it fakes.

Identities are compared by Jira account only (Cloud ``accountId``, Data Center username). Emails and
SageMaker identities are resolved to accounts through ``approvals.identity_map`` first, then (emails) the
Jira user search; an identity that resolves to nothing makes every move refused until it is mapped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from model_governance.approvals import (
    ALLOW,
    AUTOMATION,
    OWNER,
    REGISTRANT,
    REQUESTER,
    Comment,
    Decision,
    Exclusion,
    GateRules,
    Outcome,
    Person,
    approval_marker,
    failed_gated_tests,
    justification_of,
    same_account,
)
from model_governance.config import VERSION_GATES, ApprovalKind, GovernanceConfig
from model_governance.exceptions import (
    ApprovalMissingError,
    ApprovalRejectedError,
    InvalidInputError,
    JiraError,
)

if TYPE_CHECKING:
    from model_governance.inventory import Approval, Inventory, Model

log = logging.getLogger(__name__)


class TicketPort(Protocol):
    """What opening, commenting on and moving a ticket needs of Jira: the approval service's and the
    monitoring findings' (``services.monitoring``) port. ``hooks.jira.JiraHook`` provides it; the ports
    mirror the hook's signatures so the services take fakes in unit tests."""

    @property
    def settings(self) -> Any: ...  # done_status, rejected_status, reopen_status, flavor, project_key

    def create_ticket(
        self,
        *,
        marker: str,
        project_key: str,
        summary: str,
        description: Any,
        issue_type: str = ...,
        labels: Sequence[str] = ...,
    ) -> Any: ...

    def comment(self, key: str, body: str, *, marker: str | None = None) -> None: ...

    def transition(self, key: str, to_status: str) -> None: ...

    def browse_url(self, key: str) -> str: ...


class JiraPort(TicketPort, Protocol):
    """What the approval service needs of Jira besides tickets: decisions, comments, people and groups."""

    def decision(self, key: str) -> Decision | None: ...

    def status_of(self, key: str) -> str: ...

    def comments(self, key: str) -> list[Comment]: ...

    def user_groups(self, person: Any) -> list[str]: ...

    def find_users(self, identifier: str) -> list[Person]: ...

    def myself(self) -> Person: ...

    def attachment_digests(self, key: str) -> list[tuple[str, str, str | None]]: ...


@dataclass(frozen=True)
class ApprovalRequest:
    """One gate of one DAG run: what the approval is about and who asked.

    :param kind: an ``ApprovalKind`` value.
    :param model_id: / :param use_case_id: what it is about (at most one; neither: nothing is recorded
        and no risk-level policy applies beyond the settings' approver groups).
    :param owner: the owner who may not decide; None takes the use case's owner from the inventory.
    :param requester: who asked for the approval (may not decide either); None: the use case's
        requester for a USE_CASE approval, nobody otherwise.
    :param approver_groups: Jira groups allowed to decide; None takes them from the policy.
    :param marker_kind: what the ticket marker is derived from besides the run (default: ``kind``); the
        risk-test-failure loop opens one ticket per attempt.
    :param documents: (file name, SHA-256) of the files governance attached for the reviewer (the review
        document): an approval counts only while each is on the ticket unchanged and alone under its name.
    """

    kind: str
    dag_id: str
    run_id: str
    task_id: str
    model_id: int | None = None
    use_case_id: int | None = None
    owner: str | None = None
    requester: str | None = None
    approver_groups: tuple[str, ...] | None = None
    marker_kind: str | None = None
    documents: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        try:
            ApprovalKind(self.kind)
        except ValueError:
            known = ", ".join(k.value for k in ApprovalKind)
            raise InvalidInputError(f"Approval kind {self.kind!r} is not one of {known}.") from None
        if self.model_id is not None and self.use_case_id is not None:
            raise InvalidInputError("An approval is about a model or a use case, not both: give one id.")

    @property
    def marker(self) -> str:
        return approval_marker(
            dag_id=self.dag_id, run_id=self.run_id, task_id=self.task_id, kind=self.marker_kind or self.kind
        )


@dataclass(frozen=True)
class TicketText:
    summary: str
    description: Any
    project_key: str
    issue_type: str = "Task"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenedTicket:
    key: str
    url: str
    created: bool
    exclusions: tuple[Exclusion, ...]


@dataclass(frozen=True)
class ApprovalWait:
    """One wait on a ticket, carried from one deferral to the next: since when, how many reminders were
    commented and whether the operators were told it waits past its SLA."""

    issue_key: str
    waiting_since: datetime
    reminders_sent: int = 0
    escalated: bool = False

    @classmethod
    def resumed(
        cls, issue_key: str | None, reminders_sent: int, waiting_since: str | None, escalated: bool
    ) -> ApprovalWait:
        """The wait as the deferral's kwargs carried it (no start recorded: it starts now)."""
        since = datetime.fromisoformat(waiting_since) if waiting_since else datetime.now(UTC)
        return cls(issue_key or "", since, reminders_sent, escalated)

    def kwargs(self) -> dict[str, Any]:
        """What the deferral carries to the resumed task (JSON: the trigger's kwargs are serialized)."""
        return {
            "issue_key": self.issue_key,
            "reminders_sent": self.reminders_sent,
            "waiting_since": self.waiting_since.isoformat(),
            "escalated": self.escalated,
        }

    def remind_at(self, remind_every: timedelta | None) -> str | None:
        """When the next reminder is due (ISO), or None without reminders."""
        if remind_every is None:
            return None
        return (self.waiting_since + remind_every * (self.reminders_sent + 1)).isoformat()

    def remaining(self, timeout: timedelta | float | None) -> timedelta | None:
        """What is left of the task's ``timeout`` (measured from the start of the wait; one second at
        least), or None without one."""
        if timeout is None:
            return None
        total = timeout if isinstance(timeout, timedelta) else timedelta(seconds=timeout)
        return max(timedelta(seconds=1), total - (datetime.now(UTC) - self.waiting_since))


#: Reads who registered a model version in SageMaker: the package's ``CreatedBy`` (a UserContext), or None.
RegistrantLookup = Callable[["Model"], Mapping[str, Any] | None]
#: Tells the operators something (subject, body); must not raise.
Notifier = Callable[[str, str], None]


class ApprovalService:
    """Open approval tickets and take verified decisions from them (see the module docstring)."""

    def __init__(
        self,
        *,
        jira: JiraPort,
        config: GovernanceConfig,
        inventory: Inventory | None = None,
        registrant_of: RegistrantLookup | None = None,
        notify: Notifier | None = None,
        record: bool = True,
    ) -> None:
        self.jira = jira
        self.config = config
        self.inventory = inventory
        self.registrant_of = registrant_of
        self.notify = notify or (lambda subject, body: None)
        #: False: read the inventory (risk level, other gates) but record nothing in it.
        self.record = record
        #: Why the last ``verified_decision`` parked a decided ticket (its model or use case on hold).
        self.parked: str | None = None

    # -- opening ----------------------------------------------------------------------------------------

    def open(self, request: ApprovalRequest, text: TicketText) -> OpenedTicket:
        """The gate's ticket (found by its marker, else created), its exclusions resolved and recorded."""
        ticket = self.jira.create_ticket(
            marker=request.marker,
            project_key=text.project_key,
            summary=text.summary,
            description=text.description,
            issue_type=text.issue_type,
            labels=list(text.labels),
        )
        exclusions = self.record_request(request, ticket.key)
        unresolved = [e for e in exclusions if not e.resolved]
        if unresolved:
            names = "; ".join(f"the {e.role} {e.who} ({e.note})" for e in unresolved)
            self.jira.comment(
                ticket.key,
                f"Separation of duties cannot be checked yet: {names} could not be matched to a Jira "
                "account. Until an operator maps them in the approvals.identity_map setting, no move of "
                "this ticket counts.",
                marker="mg-unresolved-identities",
            )
            self.notify(
                f"Approval {ticket.key}: identities to map before it can be decided",
                f"{self.jira.browse_url(ticket.key)}\n{names}\nAdd them to approvals.identity_map (a Jira "
                "account, or null for no person).",
            )
        return OpenedTicket(ticket.key, ticket.url, ticket.created, exclusions)

    def record_request(self, request: ApprovalRequest, key: str) -> tuple[Exclusion, ...]:
        """Record the open approval with its exclusions (idempotent by key); returns the exclusions."""
        existing = self._recorded(key)
        if existing is not None and existing.excluded is not None:
            return self._refreshed(key, tuple(Exclusion.from_dict(e) for e in existing.excluded))
        exclusions = self.exclusions(request)
        if existing is not None:  # recorded before exclusions were kept
            assert self.inventory is not None
            self.inventory.update_approval_exclusions(key, [e.to_dict() for e in exclusions])
        elif self.record and self.inventory is not None and (request.model_id or request.use_case_id):
            self.inventory.record_approval_requested(
                kind=request.kind,
                jira_key=key,
                model_id=request.model_id,
                use_case_id=request.use_case_id,
                requested_by=request.requester,
                dag_id=request.dag_id,
                run_id=request.run_id,
                task_id=request.task_id,
                excluded=[e.to_dict() for e in exclusions],
            )
        return exclusions

    # -- who may not decide -----------------------------------------------------------------------------

    def exclusions(self, request: ApprovalRequest) -> tuple[Exclusion, ...]:
        """The owner, the requester, (for a model) the version's registrant, and the connection's own
        user, as Jira accounts."""
        owner, requester, model = request.owner, request.requester, None
        if self.inventory is not None and (request.model_id or request.use_case_id):
            use_case_id = request.use_case_id
            if request.model_id:
                model = self.inventory.get_model(int(request.model_id))
                use_case_id = self.inventory.use_case_of_group(model.model_group_id)
            use_case = self.inventory.get_use_case(int(use_case_id))  # type: ignore[arg-type]
            owner = owner or use_case.owner
            if requester is None and request.kind == ApprovalKind.USE_CASE:
                requester = use_case.requested_by
        found: list[Exclusion] = []
        if owner:
            found.append(self.resolve_person(OWNER, owner))
        if requester and not any(same_account(requester, e.who) for e in found):
            found.append(self.resolve_person(REQUESTER, requester))
        if model is not None:
            found.append(self.resolve_registrant(model))
        bot = self.jira.myself()
        if bot.account:
            found.append(Exclusion(AUTOMATION, bot.label, (bot.account,), True, "the Jira connection's user"))
        return tuple(found)

    def resolve_person(self, role: str, who: str) -> Exclusion:
        """An email or Jira account from our records, as Jira accounts (identity_map first)."""
        mapped, hit = self._mapped(who)
        if hit:
            if mapped is None:
                return Exclusion(role, who, (), True, "mapped to no Jira account in approvals.identity_map")
            return self._resolve(role, who, mapped, via="approvals.identity_map")
        return self._resolve(role, who, who, via=None)

    def resolve_registrant(self, model: Model) -> Exclusion:
        """Who registered the version in SageMaker (``CreatedBy``), as Jira accounts."""
        created_by = self.registrant_of(model) if self.registrant_of is not None else None
        return self.resolve_identities(REGISTRANT, registrant_identities(created_by or {}))

    def resolve_identities(self, role: str, identities: Sequence[str]) -> Exclusion:
        """A SageMaker identity (its names, most specific first) as Jira accounts: identity_map, else an
        email the identity carries, else unresolved."""
        if not identities:
            return Exclusion(role, "unknown", (), True, "SageMaker records no identity for whoever did it")
        who, aliases = identities[0], tuple(identities[1:])
        for identity in identities:
            mapped, hit = self._mapped(identity)
            if hit:
                if mapped is None:
                    note = f"{identity} is mapped to no person in approvals.identity_map"
                    return Exclusion(role, who, (), True, note, aliases)
                return replace(
                    self._resolve(role, who, mapped, via="approvals.identity_map"), aliases=aliases
                )
        for identity in identities:
            email = _email_in(identity)
            if email:
                return replace(
                    self._resolve(role, who, email, via=f"the email in {identity}"), aliases=aliases
                )
        note = f"{', '.join(identities)}: not in approvals.identity_map"
        return Exclusion(role, who, (), False, note, aliases)

    def _mapped(self, identity: str) -> tuple[str | None, bool]:
        """The identity_map value of ``identity``: exact (any case), else the longest ``*`` prefix."""
        wanted = identity.strip().casefold()
        best: tuple[int, str | None] | None = None
        for key, value in self.config.approvals.identity_map.items():
            pattern = key.strip().casefold()
            if pattern == wanted:
                return value, True
            prefix = pattern.endswith("*") and wanted.startswith(pattern[:-1])
            if prefix and (best is None or len(pattern) > best[0]):
                best = (len(pattern), value)
        return (best[1], True) if best is not None else (None, False)

    def _resolve(self, role: str, who: str, identifier: str, *, via: str | None) -> Exclusion:
        source = f" (via {via})" if via else ""
        candidates = self.jira.find_users(identifier)
        if "@" not in identifier:
            accounts = tuple(p.account for p in candidates if p.account)
            if accounts:
                return Exclusion(role, who, accounts[:1], True, f"Jira account {accounts[0]}{source}")
            return Exclusion(role, who, (), False, f"no Jira account {identifier!r}{source}")
        accounts, how = accounts_for_email(identifier, candidates)
        if accounts:
            return Exclusion(role, who, accounts, True, f"{how}{source}")
        return Exclusion(
            role,
            who,
            (),
            False,
            f"Jira finds no user by {identifier}{source} (Cloud may not find users who hide their email)",
        )

    def _refreshed(self, key: str, exclusions: tuple[Exclusion, ...]) -> tuple[Exclusion, ...]:
        """Stored exclusions; the unresolved ones tried again (the identity_map may have been fixed)."""
        if all(e.resolved for e in exclusions):
            return exclusions
        refreshed = tuple(e if e.resolved else self._retry(e) for e in exclusions)
        if refreshed != exclusions and self.inventory is not None:
            self.inventory.update_approval_exclusions(key, [e.to_dict() for e in refreshed])
        return refreshed

    def _retry(self, exclusion: Exclusion) -> Exclusion:
        if exclusion.role == REGISTRANT:
            return self.resolve_identities(REGISTRANT, [exclusion.who, *exclusion.aliases])
        return self.resolve_person(exclusion.role, exclusion.who)

    # -- the rules of a gate ----------------------------------------------------------------------------

    def rules(self, request: ApprovalRequest, key: str | None = None) -> GateRules:
        """What makes a move of ``key`` count: exclusions, approver groups and the risk-level policy.

        Without ``key`` (before the ticket exists, for its text) the exclusions are resolved but not
        recorded, and no other gate is looked at.
        """
        exclusions = self.record_request(request, key) if key else self.exclusions(request)
        kind = ApprovalKind(request.kind)
        model, risk_level = self._subject(request)
        policy = self.config.approvals.policy(risk_level) if risk_level else None
        if request.approver_groups is not None:
            groups: Sequence[str] = request.approver_groups
        elif policy is not None and kind in policy.approver_groups:
            groups = policy.approver_groups[kind]
        else:
            groups = self.config.jira.approver_groups.get(kind, [])
        other_gates: dict[str, str] = {}
        failed: tuple[str, ...] = ()
        if model is not None and policy is not None:
            if key and not policy.one_person_many_gates and kind in VERSION_GATES:
                other_gates = self._other_gate_approvers(model.id, kind.value)
            if kind == ApprovalKind.TEST_RESULTS_REVIEW and policy.failed_tests != ALLOW:
                failed = self.failed_tests(model, request)
        return GateRules(
            kind=kind.value,
            exclusions=exclusions,
            approver_groups=tuple(groups),
            one_person_many_gates=policy.one_person_many_gates if policy else True,
            other_gates=other_gates,
            failed_tests=failed,
            failed_tests_action=policy.failed_tests if policy else ALLOW,
            risk_level=str(risk_level) if risk_level else None,
        )

    def _subject(self, request: ApprovalRequest) -> tuple[Model | None, str | None]:
        """The model the approval is about (if any) and its use case's risk level."""
        if self.inventory is None or not (request.model_id or request.use_case_id):
            return None, None
        model = None
        use_case_id = request.use_case_id
        if request.model_id:
            model = self.inventory.get_model(int(request.model_id))
            use_case_id = self.inventory.use_case_of_group(model.model_group_id)
        return model, self.inventory.get_use_case(int(use_case_id)).risk_level  # type: ignore[arg-type]

    def _other_gate_approvers(self, model_id: int, kind: str) -> dict[str, str]:
        """Jira account -> another gate of this version they approved (PIA, review, production); the
        same gate approved in an earlier run of the version is not another gate."""
        assert self.inventory is not None
        gates = {k.value for k in VERSION_GATES} - {kind}
        found: dict[str, str] = {}
        for approval in self.inventory.approvals(model_id=model_id):
            if approval.state == "APPROVED" and approval.kind in gates and approval.decided_by_account:
                found.setdefault(approval.decided_by_account, f"{approval.kind} ({approval.jira_key})")
        return found

    def failed_tests(self, model: Model, request: ApprovalRequest) -> tuple[str, ...]:
        """The failed gated risk tests of the version's latest finished run in this DAG run, else of its
        latest finished run anywhere (a review task used outside the MLC DAG)."""
        assert self.inventory is not None
        for prefix in (f"{request.dag_id}/{request.run_id}/", ""):
            runs = [
                run
                for run in self.inventory.risk_test_runs(model, run_key_prefix=prefix)
                if run.state == "SUCCEEDED"
            ]
            if runs:
                return tuple(failed_gated_tests(max(runs, key=lambda run: run.id).report))
        return ()

    def duties(self, request: ApprovalRequest) -> dict[str, Any]:
        """What the ticket text says about who may decide and what applies (the template's ``extra``)."""
        rules = self.rules(request)
        return {
            "risk_level": rules.risk_level,
            "approver_groups": list(rules.approver_groups),
            "excluded": [{"role": e.role, "who": e.who} for e in rules.exclusions],
            "one_person_many_gates": rules.one_person_many_gates,
            "version_gate": request.kind in {k.value for k in VERSION_GATES},
            "failed_tests": list(rules.failed_tests),
            "failed_tests_action": rules.failed_tests_action,
        }

    # -- deciding ---------------------------------------------------------------------------------------

    def is_decided(self, key: str) -> bool:
        """Whether the ticket stands in the Done or Rejected status now."""
        settings = self.jira.settings
        return self.jira.status_of(key).lower() in (
            settings.done_status.lower(),
            settings.rejected_status.lower(),
        )

    def verified_decision(self, request: ApprovalRequest, key: str) -> Decision | None:
        """The ticket's decision if the gate's rules accept it (recorded then); otherwise the move is
        refused (comment, moved back, operators told, refusal recorded) and None is returned. None also
        when the ticket is not decided (any more)."""
        decision = self.jira.decision(key)
        if decision is None:
            return None  # moved on again (e.g. reopened) since the trigger saw it
        if self.park_while_on_hold(request, key):
            return None
        if decision.outcome is Outcome.APPROVED:
            problem = self.documents_changed(request, key) or self.withdrawn_earlier_gates(request, key)
            if problem is not None:
                self.refuse(key, decision, problem)
                return None
        rules = self.rules(request, key)
        mover = decision.decided_by
        groups = self.jira.user_groups(mover) if rules.approver_groups and mover.account else []
        justification = None
        if rules.needs_justification and decision.outcome is Outcome.APPROVED and mover.account:
            justification = justification_of(self.jira.comments(key), mover, decision.decided_at)
        refusal = rules.refusal(decision, groups, justification)
        if refusal is not None:
            self.refuse(key, decision, refusal)
            return None
        self.record_decision(key, decision, justification)
        return decision

    def withdrawn_earlier_gates(self, request: ApprovalRequest, key: str) -> str | None:
        """Why an earlier gate of this version in this run no longer stands (its ticket reopened, rejected,
        or moved to Done by someone other than its verified approver since); None when each does. A
        withdrawn approval must stop the gates after it, not only its own task, which has finished."""
        if self.inventory is None or request.model_id is None or request.kind not in VERSION_GATES:
            return None
        earlier = {kind.value for kind in VERSION_GATES[: VERSION_GATES.index(ApprovalKind(request.kind))]}
        problems = []
        for approval in self.inventory.approvals(model_id=request.model_id):
            if (
                approval.kind not in earlier
                or approval.state != "APPROVED"
                or (approval.dag_id, approval.run_id) != (request.dag_id, request.run_id)
                or approval.jira_key == key
            ):
                continue
            try:
                now = self.jira.decision(approval.jira_key)
            except JiraError as exc:
                if getattr(exc, "status_code", None) != 404:
                    raise
                problems.append(
                    f"the {approval.kind} approval {approval.jira_key} given by {approval.decided_by} no "
                    "longer stands in Jira (the ticket is gone; restore it)"
                )
                continue
            if (
                now is not None
                and now.outcome is Outcome.APPROVED
                and now.decided_by.matches(approval.decided_by_account)
            ):
                continue
            change = "reopened" if now is None else f"moved to {now.status} by {now.decided_by.label}"
            problems.append(
                f"the {approval.kind} approval {approval.jira_key} given by {approval.decided_by} no longer "
                f"stands in Jira ({change})"
            )
        if not problems:
            return None
        return (
            "; ".join(problems)
            + ". This gate waits until its approver moves that ticket back to Done, or reject this ticket"
        )

    def documents_changed(self, request: ApprovalRequest, key: str) -> str | None:
        """Why the ticket no longer shows the reviewer the documents governance attached (one missing or
        changed, or a file someone else attached under its name, which the reviewer could have opened
        instead); None when each is there unchanged."""
        if not request.documents:
            return None
        attached = self.jira.attachment_digests(key)
        automation = self.jira.myself().account
        problems = []
        for filename, digest in request.documents:
            same_name = [(sha, author) for name, sha, author in attached if name == filename]
            if digest not in (sha for sha, _ in same_name):
                problems.append(
                    f"{filename} (SHA-256 {digest[:12]}...) is no longer attached as governance attached it"
                )
            elif any(sha != digest and author != automation for sha, author in same_name):
                problems.append(f"another file was attached under the name {filename}")
        if not problems:
            return None
        return (
            "the ticket does not show the documents governance attached for this decision: "
            + "; ".join(problems)
            + ". Remove the other files of that name; if the document itself is gone, clear the approval "
            "task in Airflow to attach it again. Then decide again"
        )

    def park_while_on_hold(self, request: ApprovalRequest, key: str) -> bool:
        """True when the approval's model (or its use case) is on hold (governance action ``hold``): the
        decision is not taken yet, the ticket says so once, and the wait goes on until the resume."""
        self.parked = None
        if self.inventory is None or not (request.model_id or request.use_case_id):
            return False
        hold = self.inventory.current_hold(model_id=request.model_id, use_case_id=request.use_case_id)
        if hold is None:
            return False
        self.parked = (
            f"on hold since {hold.created_at:%Y-%m-%d %H:%M} UTC by {hold.requested_by}: {hold.reason}"
        )
        self.jira.comment(
            key,
            f"This decision is parked: the {'model' if hold.model_id else 'use case'} is {self.parked}. It "
            "counts once the hold is resumed (governance action resume); nothing needs to be moved again.",
            marker=f"mg-on-hold-{hold.id}",
        )
        return True

    def record_decision(self, key: str, decision: Decision, justification: str | None = None) -> None:
        if self._recorded(key) is None:
            return
        assert self.inventory is not None
        mover = decision.decided_by
        self.inventory.record_approval_decision(
            key,
            approved=decision.outcome is Outcome.APPROVED,
            decided_by=mover.email or mover.identity,
            decided_at=decision.decided_at,
            decision_status=decision.status,
            decided_by_account=mover.account,
            justification=justification,
        )

    def refuse(self, key: str, decision: Decision, reason: str) -> None:
        """Answer a move that does not count: a comment saying why, the ticket moved back, operators told."""
        reopen = self.jira.settings.reopen_status
        mover = decision.decided_by
        log.warning("Refusing the %s move of %s by %s: %s", decision.status, key, mover.label, reason)
        self.jira.comment(
            key,
            f"This move to {decision.status} by {mover.label} does not count: {reason}. The ticket has been "
            f"moved back to {reopen}; a reviewer allowed to decide must move it.",
            # One comment per refused move and reason: a retried task finds it, another reason is said.
            marker=(
                f"mg-refused-{int(decision.decided_at.timestamp())}-{_short(mover.account)}-"
                f"{hashlib.sha256(reason.encode()).hexdigest()[:8]}"
            ),
        )
        self.jira.transition(key, reopen)
        if self._recorded(key) is not None:
            assert self.inventory is not None
            self.inventory.record_approval_refusal(
                key,
                {
                    "at": decision.decided_at.isoformat(),
                    "by": mover.label,
                    "account": mover.account,
                    "status": decision.status,
                    "reason": reason,
                },
            )
        self.notify(
            f"Approval {key}: decision by {mover.label} refused",
            f"{self.jira.browse_url(key)}\n{reason}\nThe ticket was moved back to {reopen}.",
        )

    # -- waiting --------------------------------------------------------------------------------------

    def remind(self, wait: ApprovalWait, *, escalate_after: timedelta | None = None) -> ApprovalWait:
        """A due reminder: comment it on the ticket (once: by its number), tell the operators once when it
        has waited ``escalate_after``; returns the wait with the reminder counted."""
        key, since = wait.issue_key, wait.waiting_since
        number = wait.reminders_sent + 1
        waited = datetime.now(UTC) - since
        self.jira.comment(
            key,
            f"Reminder: this approval has been waiting {waited.days} days {waited.seconds // 3600} hours. "
            "Move the ticket to Done to approve or Rejected to reject.",
            marker=f"mg-reminder-{number}",
        )
        escalated = wait.escalated
        if escalate_after is not None and not escalated and waited >= escalate_after:
            self.notify(
                f"Approval {key} waiting past its SLA",
                f"{self.jira.browse_url(key)} has waited since {since.isoformat()} ({waited}).",
            )
            escalated = True
        return replace(wait, reminders_sent=number, escalated=escalated)

    def settled_decision(self, request: ApprovalRequest, key: str) -> Decision | None:
        """The verified decision of a ticket decided already (a retry, a cleared task, a quick reviewer),
        else None: settled without waiting."""
        if not self.is_decided(key):
            return None
        return self.verified_decision(request, key)

    def _recorded(self, key: str) -> Approval | None:
        """The inventory's record of the approval, when this service records and there is one."""
        if not self.record or self.inventory is None:
            return None
        return self.inventory.approval(key)


# -- pure helpers -----------------------------------------------------------------------------------------


#: The statuses an MLC run grants only on verified approvals, and the gates each needs in that run: every
#: gate up to the one that grants it (the audit's ``APPROVAL_REQUIRED`` checks the same after the fact).
GRANTED_BY_GATES: Mapping[str, tuple[ApprovalKind, ...]] = {
    "Validation Complete": VERSION_GATES[:2],
    "Approved for Deployment": VERSION_GATES,
}


def require_gates_passed(
    approvals: Iterable[Any], *, status: str, model_arn: str, dag_id: str, run_id: str
) -> None:
    """Refuse ``status`` unless each gate that grants it has a verified approval in this run: the latest
    approval its run opened of each kind is APPROVED in the inventory (recorded only after the Jira ticket's
    decision was verified). What the Airflow UI can change (a task marked success, an XCom) never counts.

    :param approvals: the model's approval records (``Inventory.approvals(model_id=...)``).
    :raises ApprovalMissingError: naming each gate without one, and the way out.
    """
    needed = GRANTED_BY_GATES.get(status)
    if not needed:
        return
    latest: dict[str, Any] = {}
    for approval in sorted(approvals, key=lambda a: a.id):
        if (approval.dag_id, approval.run_id) == (dag_id, run_id):
            latest[approval.kind] = approval
    missing = []
    for kind in needed:
        approval = latest.get(kind.value)
        if approval is None:
            missing.append(f"{kind.value}: no approval was opened in this run")
        elif approval.state != "APPROVED":
            missing.append(f"{kind.value}: {approval.jira_key} is {approval.state}")
    if missing:
        raise ApprovalMissingError(
            f"Model {model_arn} cannot become {status!r} in run {dag_id}/{run_id}: no verified approval for "
            f"{'; '.join(missing)}. An approval task marked success by hand does not approve; clear that "
            "approval task so it waits for the decision in Jira."
        )


def concluded(decision: Decision, *, raise_on_reject: bool = True) -> dict[str, Any]:
    """A verified decision as a gate returns it (a dict); a rejection raises ``ApprovalRejectedError``
    carrying it unless ``raise_on_reject`` is False (to branch on it)."""
    result = decision.to_dict()
    if decision.outcome is Outcome.REJECTED and raise_on_reject:
        who = decision.decided_by.label
        raise ApprovalRejectedError(
            f"{decision.issue_key} was rejected by {who} at {decision.decided_at.isoformat()}.", result
        )
    return result


def airflow_run_url(base: str, dag_id: str, run_id: str) -> str | None:
    """The DAG run's page in the Airflow UI, for tickets and documents; None without an http(s) base."""
    from urllib.parse import quote

    base = base.rstrip("/")
    if not base.startswith(("http://", "https://")):
        return None
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def accounts_for_email(email: str, candidates: Iterable[Person]) -> tuple[tuple[str, ...], str]:
    """The accounts an email names among user-search ``candidates``, and how they were chosen.

    A candidate whose visible email is exactly ``email`` is the person. Without one, every candidate whose
    email is hidden may be them (Cloud's search matches prefixes and hides emails), so all of those are
    taken: excluding one account too many is safe, missing the person is not.
    """
    wanted = email.strip().casefold()
    people = [p for p in candidates if p.account]
    exact = tuple(p.account for p in people if p.email and p.email.strip().casefold() == wanted)
    if exact:
        return tuple(a for a in exact if a), f"Jira account {exact[0]} (email {email})"
    hidden = tuple(p.account for p in people if not p.email)
    if hidden:
        return tuple(a for a in hidden if a), (
            f"Jira account(s) {', '.join(a for a in hidden if a)} whose hidden email may be {email}"
        )
    return (), ""


def registrant_identities(created_by: Mapping[str, Any]) -> list[str]:
    """The identities of a SageMaker ``UserContext`` (CreatedBy), most specific first, without repeats."""
    iam = created_by.get("IamIdentity") or {}
    values = [
        created_by.get("UserProfileName"),
        created_by.get("UserProfileArn"),
        iam.get("SourceIdentity"),
        iam.get("Arn"),
    ]
    found: list[str] = []
    for value in values:
        if isinstance(value, str) and value.strip() and value not in found:
            found.append(value.strip())
    return found


def _email_in(identity: str) -> str | None:
    """An email an identity carries (an SSO role session is often named after the person's email)."""
    tail = identity.rsplit("/", 1)[-1]
    if "@" in tail and "." in tail.split("@", 1)[1]:
        return tail
    return None


def _short(account: str | None) -> str:
    import hashlib

    return hashlib.sha256((account or "unknown").encode("utf-8")).hexdigest()[:8]
