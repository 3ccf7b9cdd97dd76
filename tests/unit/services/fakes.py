"""Fakes of the inventory, the Jira port and the clock for the monitoring and revalidation service tests:
in memory, holding only what the services read and write, with the inventory's rules (one open finding per
model and breach kind, counters that only move forward, one revalidation per run key)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from model_governance.exceptions import JiraError, NotFoundError
from model_governance.inventory.monitoring import PushRecord

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Clock:
    """An injectable clock, moved by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class FakeModel:
    id: int
    status: str
    model_group_id: int
    version: int = 1
    updated_at: datetime = T0

    @property
    def package_arn(self) -> str:
        group = f"group-{self.model_group_id}"
        return f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{group}/{self.version}"

    @property
    def model_group(self) -> Any:
        return SimpleNamespace(name=f"group-{self.model_group_id}")


@dataclass
class FakeFinding:
    id: int
    model_id: int
    kind: str
    value: float
    threshold: float | None
    direction: str | None
    source: str
    first_seen: datetime
    last_seen: datetime
    state: str = "open"
    breaches: int = 1
    jira_key: str | None = None
    jira_breaches: int = 0
    jira_closed: bool = False
    owner_notified: bool = False
    action: str | None = None
    cleared_at: datetime | None = None
    cleared_value: float | None = None


@dataclass
class FakeRevalidation:
    id: int
    model_id: int
    run_key: str
    due_at: datetime
    state: str = "RUNNING"
    risk_test_run_key: str | None = None
    passed: bool | None = None
    document_uri: str | None = None
    jira_key: str | None = None
    decided_at: datetime | None = None
    valid_until: datetime | None = None


@dataclass
class FakeSchedule:
    model_id: int
    due_at: datetime
    interval_days: int
    last_revalidated_at: datetime | None = None
    approval_jira_key: str | None = None


@dataclass
class FakeInventory:
    """Use cases (risk level, owner) by group id, models, findings, revalidations, status history."""

    models: dict[int, FakeModel] = field(default_factory=dict)
    use_cases: dict[int, Any] = field(default_factory=dict)
    findings_: list[FakeFinding] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    history: dict[int, list[Any]] = field(default_factory=dict)
    schedules: dict[int, FakeSchedule] = field(default_factory=dict)
    revalidations_: list[FakeRevalidation] = field(default_factory=list)
    fail_update_once: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- models and use cases ------------------------------------------------------------------------

    def add_model(
        self, *, risk_level: str = "High", status: str = "Deployed", deployed_at: datetime = T0
    ) -> FakeModel:
        model_id = next(self._ids)
        self.use_cases[model_id] = SimpleNamespace(
            id=model_id, risk_level=risk_level, owner=f"owner-{model_id}@example.com"
        )
        model = FakeModel(id=model_id, status=status, model_group_id=model_id, updated_at=deployed_at)
        self.models[model_id] = model
        if status == "Deployed":
            self.history[model_id] = [SimpleNamespace(to_status="Deployed", created_at=deployed_at)]
        return model

    def _id(self, model: Any) -> int:
        model_id = model.id if isinstance(model, FakeModel) else int(model)
        if model_id not in self.models:
            raise NotFoundError(f"Model id {model_id} is not in the inventory.")
        return model_id

    def get_model(self, model: Any) -> FakeModel:
        return self.models[self._id(model)]

    def use_case_of_group(self, group_id: int) -> int:
        return group_id

    def get_use_case(self, use_case_id: int) -> Any:
        return self.use_cases[use_case_id]

    def status_history(self, model: Any) -> list[Any]:
        return list(self.history.get(self._id(model), []))

    def list_models(self, *, status: Any, limit: int, after_id: int = 0) -> list[FakeModel]:
        wanted = getattr(status, "value", status)
        found = [m for _, m in sorted(self.models.items()) if m.status == wanted and m.id > after_id]
        return found[:limit]

    # -- findings -------------------------------------------------------------------------------------

    def _open(self, model_id: int, kind: str) -> FakeFinding | None:
        return next(
            (f for f in self.findings_ if f.model_id == model_id and f.kind == kind and f.state == "open"),
            None,
        )

    def record_breach(
        self,
        model: Any,
        *,
        kind: str,
        value: float,
        threshold: Any,
        direction: Any,
        source: str,
        at: datetime,
    ) -> tuple[FakeFinding, bool]:
        model_id = self._id(model)
        found = self._open(model_id, kind)
        if found is not None:
            found.breaches += 1
            if at >= found.last_seen:
                found.last_seen, found.value = at, value
                found.threshold, found.direction, found.source = threshold, direction, source
            return found, False
        finding = FakeFinding(
            id=len(self.findings_) + 1,
            model_id=model_id,
            kind=kind,
            value=value,
            threshold=threshold,
            direction=direction,
            source=source,
            first_seen=at,
            last_seen=at,
        )
        self.findings_.append(finding)
        return finding, True

    def record_clear(self, model: Any, *, kind: str, value: float, at: datetime) -> FakeFinding | None:
        found = self._open(self._id(model), kind)
        if found is None or at < found.last_seen:
            return None
        found.state, found.cleared_at, found.cleared_value = "closed", at, value
        return found

    def record_monitoring_value(
        self,
        model: Any,
        *,
        name: str,
        value: float,
        recorded_at: datetime,
        source: str,
        threshold: Any,
        direction: Any,
        breached: bool | None,
    ) -> PushRecord:
        model_id = self._id(model)
        metric = SimpleNamespace(id=len(self.metrics) + 1, model_id=model_id, name=name, value=value)
        self.metrics.append({"model_id": model_id, "name": name, "value": value, "breached": breached})
        if breached is None:
            return PushRecord(metric)  # type: ignore[arg-type]
        if breached:
            found, opened = self.record_breach(
                model_id,
                kind=name,
                value=value,
                threshold=threshold,
                direction=direction,
                source=source,
                at=recorded_at,
            )
            return PushRecord(metric, found, opened=opened)  # type: ignore[arg-type]
        cleared = self.record_clear(model_id, kind=name, value=value, at=recorded_at)
        return PushRecord(metric, cleared, cleared=cleared is not None)  # type: ignore[arg-type]

    def findings(self, *, model: Any = None, state: Any = None) -> list[FakeFinding]:
        return [
            f
            for f in self.findings_
            if (model is None or f.model_id == self._id(model)) and (state is None or f.state == state)
        ]

    def findings_to_carry(self, *, limit: int = 500) -> list[FakeFinding]:
        behind = [
            f
            for f in self.findings_
            if (
                f.state == "open" and (f.jira_key is None or f.jira_breaches < f.breaches or f.action is None)
            )
            or (f.state == "closed" and not f.jira_closed)
        ]
        return behind[:limit]

    def update_finding(self, finding_id: int, **values: Any) -> FakeFinding:
        for name in list(self.fail_update_once):
            if name in values:
                self.fail_update_once.discard(name)
                raise RuntimeError(f"the inventory went away while recording {name}")
        found = next(f for f in self.findings_ if f.id == finding_id)
        for name, value in values.items():
            if name == "jira_breaches":
                value = max(int(value), found.jira_breaches)
            setattr(found, name, value)
        return found

    # -- revalidation ---------------------------------------------------------------------------------

    def revalidation_schedule(self, model: Any) -> FakeSchedule | None:
        return self.schedules.get(self._id(model))

    def schedule_revalidation(
        self,
        model: Any,
        *,
        due_at: datetime,
        interval_days: int,
        last_revalidated_at: datetime | None = None,
        approval_jira_key: str | None = None,
    ) -> FakeSchedule:
        model_id = self._id(model)
        row = self.schedules.setdefault(model_id, FakeSchedule(model_id, due_at, interval_days))
        row.due_at, row.interval_days = due_at, interval_days
        if last_revalidated_at is not None:
            row.last_revalidated_at = last_revalidated_at
        if approval_jira_key is not None:
            row.approval_jira_key = approval_jira_key
        return row

    def start_revalidation(self, model: Any, *, run_key: str, due_at: datetime) -> FakeRevalidation:
        found = next((r for r in self.revalidations_ if r.run_key == run_key), None)
        if found is not None:
            if found.state == "FAILED":
                found.state = "RUNNING"
            return found
        row = FakeRevalidation(len(self.revalidations_) + 1, self._id(model), run_key, due_at)
        self.revalidations_.append(row)
        return row

    def update_revalidation(self, run_key: str, **values: Any) -> FakeRevalidation:
        found = next(r for r in self.revalidations_ if r.run_key == run_key)
        for name, value in values.items():
            setattr(found, name, value)
        return found

    def revalidations(self, model: Any) -> list[FakeRevalidation]:
        return [r for r in self.revalidations_ if r.model_id == self._id(model)]

    def revalidations_in_flight(self) -> dict[int, FakeRevalidation]:
        return {r.model_id: r for r in self.revalidations_ if r.state == "RUNNING"}


class FakeJira:
    """Tickets found again by marker, comments kept once per marker, moves read back; ``direct_to_done``
    False is a workflow with no move from Open to Done (400, as Jira answers)."""

    def __init__(self, *, direct_to_done: bool = True, fail_create: int = 0) -> None:
        self.settings = SimpleNamespace(done_status="Done", project_key="MLC")
        self.tickets: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[tuple[str, str | None]]] = {}
        self.direct_to_done = direct_to_done
        self.fail_create = fail_create
        self.creates = 0

    def create_ticket(
        self, *, marker: str, project_key: str, summary: str, description: Any, **kw: Any
    ) -> Any:
        self.creates += 1
        if self.fail_create:
            self.fail_create -= 1
            raise JiraError("Jira answered 503")
        for key, ticket in self.tickets.items():
            if ticket["marker"] == marker:
                return SimpleNamespace(key=key, created=False)
        key = f"{project_key}-{len(self.tickets) + 1}"
        self.tickets[key] = {
            "marker": marker,
            "summary": summary,
            "description": description,
            "status": "Open",
            "labels": tuple(kw.get("labels", ())),
        }
        return SimpleNamespace(key=key, created=True)

    def comment(self, key: str, body: str, *, marker: str | None = None) -> None:
        kept = self.comments.setdefault(key, [])
        if marker is not None and any(m == marker for _, m in kept):
            return
        kept.append((body, marker))

    def transition(self, key: str, to_status: str) -> None:
        ticket = self.tickets[key]
        if ticket["status"] == to_status:
            return
        if to_status == "Done" and ticket["status"] == "Open" and not self.direct_to_done:
            error = JiraError(f"no transition from Open to {to_status}")
            error.status_code = 400  # type: ignore[attr-defined]
            raise error
        ticket["status"] = to_status

    def browse_url(self, key: str) -> str:
        return f"https://jira.example.com/browse/{key}"

    def bodies(self, key: str) -> list[str]:
        return [body for body, _ in self.comments.get(key, [])]
