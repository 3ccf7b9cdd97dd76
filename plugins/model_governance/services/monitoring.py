"""Monitoring that acts: a monitoring value past its threshold opens one Jira finding per model and breach
kind, updated while the breach lasts and closed when it clears; the owner is told, and the risk level's
``monitoring.on_breach`` policy may move a Deployed model to Model Change in Progress.

Two halves, so the push API never waits on Jira:

- ``record`` (the push API, in the request; inventory only): the value is stored and, with a threshold,
  judged in the same transaction; a breaching value opens the model's finding of that breach kind (the
  metric name) or updates the open one, a passing value clears it. One open finding per model and kind,
  however many pushes arrive or race (the inventory's unique open key).
- ``carry`` (the ``model_monitoring`` DAG, every few minutes): each finding whose Jira side is behind is
  brought up to date through the Jira hook's idempotent operations: the ticket created with a marker label
  (``mg-finding-<model>-<kind>-<finding id>``) and found again by it, a comment per new breach count and
  on clearing (each with its own marker, so a retry adds none twice), the move to Done read back. Then the
  owner is notified once and the breach policy applied once.

Why not Jira in the request: Jira's create has no idempotency key and answers in seconds under load (429s
with Retry-After); a monitoring pusher must get its 201 at once, and a finding must not be lost because
Jira was slow. The breach is recorded in the same transaction as the value (``record``): a push that
fails stores nothing, and its retry stores the value once. The DAG is the one writer to Jira, retried by
Airflow.

No Airflow here: the operator passes the Jira hook, the inventory, the settings, the owner notifier and
the governed status move (inventory transition + the one write-back, ``services.writeback``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from model_governance.lifecycle import GovernanceStatus

if TYPE_CHECKING:
    from model_governance.config import GovernanceConfig
    from model_governance.inventory import Inventory, Metric, Model, MonitoringFinding

    # What findings need of Jira: open, comment on and move tickets (``hooks.jira.JiraHook`` provides it).
    from model_governance.services.approvals import TicketPort as FindingJira

log = logging.getLogger(__name__)

#: Jira labels allow no spaces; a marker is at most this long.
MARKER_LIMIT = 200
_LABEL_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


#: Tells a person something: (recipient email, subject, body); must not raise.
OwnerNotifier = Callable[[str, str, str], None]
#: Moves a model to a governance status (inventory first, then SageMaker): (model, status, reason).
StatusMover = Callable[["Model", GovernanceStatus, str], None]


@dataclass(frozen=True)
class Evaluation:
    """What one pushed value did: ``breached`` None when it had no threshold."""

    breached: bool | None
    finding_id: int | None = None
    opened: bool = False
    cleared: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CarryResult:
    """What one pass of ``carry`` did, for the task's log and return value."""

    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    model_changes: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields by name; ``failed`` keyed by the finding id as a string (a JSON object's keys)."""
        return {**asdict(self), "failed": {str(k): v for k, v in self.failed.items()}}


def breached(value: float, threshold: float | None, direction: str | None) -> bool | None:
    """Whether ``value`` is past its threshold (None without one): ``higher_is_better`` breaches below
    the threshold, ``lower_is_better`` above it."""
    if threshold is None or direction is None:
        return None
    if direction == "higher_is_better":
        return value < threshold
    if direction == "lower_is_better":
        return value > threshold
    raise ValueError(f"direction {direction!r} is not higher_is_better or lower_is_better")


def finding_marker(model_id: int, kind: str, finding_id: int) -> str:
    """The ticket's marker label: the model, the breach kind and the finding (a breach that recurs after
    it cleared is a new finding, so a new ticket)."""
    slug = _LABEL_UNSAFE.sub("-", kind.lower()).strip("-.") or "metric"
    head, tail = f"mg-finding-{int(model_id)}-", f"-{int(finding_id)}"
    return head + slug[: MARKER_LIMIT - len(head) - len(tail)] + tail


class MonitoringService:
    """Judge monitoring values, and carry the findings into Jira (see the module docstring)."""

    def __init__(
        self,
        *,
        inventory: Inventory,
        config: GovernanceConfig | None = None,
        jira: FindingJira | None = None,
        notify_owner: OwnerNotifier | None = None,
        move_model: StatusMover | None = None,
        dashboard_url: str | None = None,
    ) -> None:
        self.inventory = inventory
        self._config = config
        self.jira = jira
        self.notify_owner = notify_owner or (lambda to, subject, body: None)
        self.move_model = move_model
        self.dashboard_url = dashboard_url or (config.dashboard_base_url if config else None)

    @property
    def config(self) -> GovernanceConfig:
        """The settings (``carry`` needs them; ``record`` does not, so the push API passes none)."""
        if self._config is None:
            raise RuntimeError("MonitoringService.carry needs the settings")
        return self._config

    # -- the push API's half: inventory only ----------------------------------------------------------

    def record(
        self,
        model: int | str | Model,
        *,
        metric: str,
        value: float,
        threshold: float | None,
        direction: str | None,
        source: str,
        at: datetime,
    ) -> tuple[Metric, Evaluation]:
        """Store a pushed value and record what it means for the finding, in one inventory transaction: a
        push answered with an error stored nothing, so pushing it again stores the value once."""
        verdict = breached(value, threshold, direction)
        done = self.inventory.record_monitoring_value(
            model,
            name=metric,
            value=value,
            recorded_at=at,
            source=source,
            threshold=threshold,
            direction=direction,
            breached=verdict,
        )
        finding_id = done.finding.id if done.finding is not None else None
        return done.metric, Evaluation(verdict, finding_id, opened=done.opened, cleared=done.cleared)

    # -- the DAG's half: Jira, the owner, the policy --------------------------------------------------

    def carry(self, *, limit: int | None = None) -> CarryResult:
        """Bring every finding whose Jira side is behind up to date; one finding's failure is recorded in
        the result and the others go on (the next run tries it again)."""
        result = CarryResult()
        limit = limit or self.config.monitoring.max_findings_per_run
        for finding in self.inventory.findings_to_carry(limit=limit):
            try:
                self.carry_one(finding, result)
            except Exception as exc:  # one finding's failure must not stop the others
                log.exception("Monitoring finding %s could not be carried into Jira", finding.id)
                result.failed[finding.id] = f"{type(exc).__name__}: {exc}"[:500]
        return result

    def carry_one(self, finding: MonitoringFinding, result: CarryResult | None = None) -> MonitoringFinding:
        result = result if result is not None else CarryResult()
        jira = self._jira()
        model = self.inventory.get_model(finding.model_id)
        marker = finding_marker(model.id, finding.kind, finding.id)
        key = finding.jira_key
        if key is None:
            ticket = jira.create_ticket(
                marker=marker,
                project_key=self._project(),
                summary=self._summary(model, finding),
                description=self._description(model, finding),
                issue_type=self.config.jira.issue_type,
                labels=("model-governance", "monitoring-finding"),
            )
            key = ticket.key
            finding = self.inventory.update_finding(finding.id, jira_key=key, jira_breaches=1)
            result.opened.append(key)
            log.info(
                "Monitoring finding %s: ticket %s %s",
                finding.id,
                key,
                "opened" if ticket.created else "found",
            )
        if finding.state == "open":
            if finding.jira_breaches < finding.breaches:
                jira.comment(
                    key,
                    f"Still breaching: {finding.breaches} breaching value(s) of {finding.kind} so far; "
                    f"latest {finding.value:g} at {finding.last_seen.isoformat()} from {finding.source} "
                    f"({self._bound(finding)}).",
                    marker=f"{marker}-seen-{finding.breaches}",
                )
                finding = self.inventory.update_finding(finding.id, jira_breaches=finding.breaches)
                result.updated.append(key)
            if not finding.owner_notified:
                self._tell_owner(model, finding, key, opened=True)
                finding = self.inventory.update_finding(finding.id, owner_notified=True)
            if finding.action is None:
                action = self._apply_policy(model, finding, key)
                finding = self.inventory.update_finding(finding.id, action=action[:200])
                if action == "model_change":
                    result.model_changes.append(model.id)
            return finding
        # Closed: say so on the ticket, then move it to Done (read back: a lost answer is not re-sent).
        jira.comment(
            key,
            f"Cleared: {finding.kind} was {finding.cleared_value:g} at "
            f"{finding.cleared_at.isoformat() if finding.cleared_at else 'unknown'}, within its threshold "
            f"({self._bound(finding)}). The finding is closed.",
            marker=f"{marker}-cleared",
        )
        self._close(key)
        finding = self.inventory.update_finding(finding.id, jira_closed=True)
        if self.config.monitoring.notify_owner:
            self._tell_owner(model, finding, key, opened=False)
        result.closed.append(key)
        return finding

    # -- steps ----------------------------------------------------------------------------------------

    def _close(self, key: str) -> None:
        """Move the ticket to the done status; through ``monitoring.close_via`` when the workflow has no
        direct move (each move is read back, so a repeat is a no-op)."""
        from model_governance.exceptions import JiraError

        jira = self._jira()
        done = jira.settings.done_status
        try:
            jira.transition(key, done)
            return
        except JiraError as exc:
            if getattr(exc, "status_code", None) != 400 or not self.config.monitoring.close_via:
                raise
        for status in self.config.monitoring.close_via:
            try:
                jira.transition(key, status)
            except JiraError as exc:
                if getattr(exc, "status_code", None) != 400:
                    raise
        jira.transition(key, done)

    def _jira(self) -> FindingJira:
        if self.jira is None:
            raise RuntimeError("MonitoringService.carry needs a Jira hook")
        return self.jira

    def _project(self) -> str:
        jira = self._jira()
        return str(getattr(jira.settings, "project_key", None) or self.config.jira.project_key)

    def _risk_level(self, model: Model) -> tuple[str, str]:
        use_case = self.inventory.get_use_case(self.inventory.use_case_of_group(model.model_group_id))
        return use_case.risk_level, use_case.owner

    def _apply_policy(self, model: Model, finding: MonitoringFinding, key: str) -> str:
        """The risk level's ``monitoring.on_breach``: ``finding`` does nothing more; ``model_change`` moves
        a Deployed model to Model Change in Progress (once: the recorded action is not applied again)."""
        risk_level, _ = self._risk_level(model)
        action = self.config.monitoring.action(risk_level)
        if action != "model_change":
            return "finding"
        current = self.inventory.get_model(model.id).status
        if current == GovernanceStatus.MODEL_CHANGE_IN_PROGRESS.value:
            return "model_change (already in progress)"
        if current != GovernanceStatus.DEPLOYED.value:
            return f"model_change not applied: the model is {current}, not Deployed"
        if self.move_model is None:
            raise RuntimeError("the model_change policy needs a status mover")
        reason = (
            f"monitoring finding {key}: {finding.kind} {finding.value:g} breached its threshold "
            f"({self._bound(finding)}); risk level {risk_level} policy model_change"
        )
        self.move_model(model, GovernanceStatus.MODEL_CHANGE_IN_PROGRESS, reason)
        self._jira().comment(
            key,
            f"Risk level {risk_level} policy (monitoring.on_breach = model_change): the model was moved to "
            "Model Change in Progress. A new model version goes through the implementation life cycle.",
            marker=f"{finding_marker(model.id, finding.kind, finding.id)}-model-change",
        )
        return "model_change"

    def _tell_owner(self, model: Model, finding: MonitoringFinding, key: str, *, opened: bool) -> None:
        if not self.config.monitoring.notify_owner:
            return
        _, owner = self._risk_level(model)
        url = self._jira().browse_url(key)
        name = f"{model.model_group.name} version {model.version}"
        if opened:
            subject = f"Monitoring finding {key}: {finding.kind} of {name} breached its threshold"
            body = (
                f"{finding.kind} was {finding.value:g} at {finding.last_seen.isoformat()} "
                f"({self._bound(finding)}), reported by {finding.source}.\n"
                f"Ticket: {url}\n{self._dashboard(model)}"
            )
        else:
            subject = f"Monitoring finding {key} closed: {finding.kind} of {name} is within its threshold"
            body = f"Cleared with {finding.cleared_value:g}.\nTicket: {url}\n{self._dashboard(model)}"
        try:
            self.notify_owner(owner, subject, body)
        except Exception:  # a mail outage must not stop the finding
            log.exception("Could not notify %s: %s", owner, subject)

    def _dashboard(self, model: Model) -> str:
        if not self.dashboard_url:
            return ""
        return f"Dashboard: {self.dashboard_url.rstrip('/')}/models/{model.id}"

    @staticmethod
    def _bound(finding: MonitoringFinding) -> str:
        if finding.threshold is None:
            return "no threshold"
        sign = ">=" if finding.direction == "higher_is_better" else "<="
        return f"passes when {sign} {finding.threshold:g}"

    def _summary(self, model: Model, finding: MonitoringFinding) -> str:
        return (
            f"Monitoring finding: {finding.kind} of {model.model_group.name} version {model.version} "
            "breached its threshold"
        )

    def _description(self, model: Model, finding: MonitoringFinding) -> str:
        risk_level, owner = self._risk_level(model)
        lines = [
            "h2. Monitoring finding",
            f"The monitored value *{finding.kind}* of model {model.model_group.name} version "
            f"{model.version} breached its threshold.",
            "",
            f"* Value: {finding.value:g} at {finding.last_seen.isoformat()} (first seen "
            f"{finding.first_seen.isoformat()})",
            f"* Threshold: {self._bound(finding)}",
            f"* Reported by: {finding.source}",
            f"* Model package: {model.package_arn}",
            f"* Governance status: {model.status}; risk level {risk_level}; owner {owner}",
            f"* Policy for risk level {risk_level}: {self.config.monitoring.action(risk_level)}",
        ]
        if self.dashboard_url:
            lines.append(f"* Dashboard: {self.dashboard_url.rstrip('/')}/models/{model.id}")
        lines += [
            "",
            "This ticket is updated while the breach lasts and moved to Done when a value within the "
            "threshold is reported. Record the investigation here.",
        ]
        return "\n".join(lines)
