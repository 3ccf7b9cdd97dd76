"""SyncRegistryOperator as an adapter of LifecycleSync (a fake here): one entity's hooks, its queue's
messages, and a registry that cannot be synced recorded and named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest

import model_governance.sync as sync_module
from model_governance.exceptions import RegistryError
from model_governance.operators.sync import SyncRegistryOperator
from model_governance.sync import SyncReport
from tests.unit.operators.fakes import CONN_ID, ENTITY, REGION, Hooks, config, context, inventory, wire


class FakeSync:
    made: list[dict[str, Any]] = []  # noqa: RUF012
    fail: Exception | None = None

    def __init__(self, **kwargs: Any) -> None:
        FakeSync.made.append(kwargs)

    def apply_messages(self, messages: Any) -> SyncReport:
        report = SyncReport(business_entity=ENTITY, mode="events")
        report.done_messages = list(messages)
        return report

    def reconcile(self, *, full: bool) -> SyncReport:
        if FakeSync.fail is not None:
            raise FakeSync.fail
        return SyncReport(business_entity=ENTITY, mode="full" if full else "incremental")


@pytest.fixture(autouse=True)
def fake_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeSync.made, FakeSync.fail = [], None
    monkeypatch.setattr(sync_module, "LifecycleSync", FakeSync)


def _operator(hooks: Hooks, inv: Any) -> SyncRegistryOperator:
    inv.pending_mlc_runs.return_value = [MagicMock(mlc_run_id="run-1", package_arn="arn:p")]
    return wire(
        SyncRegistryOperator(task_id="sync", business_entity=ENTITY, full="true"), inventory=inv, hooks=hooks
    )


def test_one_entitys_registry_is_synced_through_its_own_hooks() -> None:
    hooks, inv = Hooks(), inventory()
    result = _operator(hooks, inv).execute(context("sync"))
    assert result["runs"] == [{"trigger_run_id": "run-1", "conf": {"package_arn": "arn:p"}}]
    assert [r["mode"] for r in result["reports"]] == ["full"]
    (made,) = FakeSync.made
    assert made["registry"] is hooks.registry and made["endpoints"].registry is hooks.registry
    assert {(kind, conn, region) for kind, conn, region in hooks.made} == {
        ("registry", CONN_ID, REGION),
        ("jobs", CONN_ID, REGION),
    }, "each hook made once for the entity"
    assert inv.ensure_business_entity.call_args.kwargs["name"] == ENTITY


def test_a_registry_that_cannot_be_synced_is_recorded_and_named() -> None:
    hooks, inv = Hooks(), inventory()
    FakeSync.fail = RegistryError("throttled")
    with pytest.raises(RegistryError, match=f"business entity '{ENTITY}' .*connection '{CONN_ID}'"):
        _operator(hooks, inv).execute(context("sync"))
    assert inv.record_sync_issue.call_args.kwargs["business_entity"] == ENTITY
    assert not inv.resolve_sync_issues.called


class FakeSettler:
    made: list[dict[str, Any]] = []  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        FakeSettler.made.append(kwargs)

    def settle(self, report: SyncReport) -> None:
        FakeSettler.made[-1]["settled"] = [m.message_id for m in report.done_messages]


def test_queued_messages_are_applied_then_settled_on_the_entitys_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import model_governance.services.sync_queue as sync_queue
    from model_governance.operators.sync import events_asset_name

    FakeSettler.made = []
    monkeypatch.setattr(sync_queue, "QueueSettler", FakeSettler)
    queue = "https://sqs.eu-west-1.amazonaws.com/1/events.fifo"
    settings = config(
        business_entities=[
            {
                "name": ENTITY,
                "account_id": "123456789012",
                "region": REGION,
                "aws_conn_id": CONN_ID,
                "sqs_queue_url": queue,
            }
        ]
    )
    hooks, inv = Hooks(), inventory()
    inv.pending_mlc_runs.return_value = []
    inv.sync_watermark.return_value.last_full_at = None  # never: a full reconcile is due
    step = wire(SyncRegistryOperator(task_id="sync", business_entity=ENTITY), inventory=inv, hooks=hooks)
    step.__dict__["config"] = settings
    asset = MagicMock()
    asset.name = events_asset_name(ENTITY)
    batch = [{"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}"}]
    event = MagicMock(
        extra={"payload": {"message_batch": batch}}, timestamp=datetime(2026, 12, 7, tzinfo=UTC)
    )
    result = step.execute({**context("sync"), "triggering_asset_events": {asset: [event]}})
    assert [r["mode"] for r in result["reports"]] == ["events", "full"]
    (settler,) = FakeSettler.made
    assert settler["client"] is hooks.sqs.get_conn.return_value and settler["queue_url"] == queue
    assert (settler["business_entity"], settler["settled"]) == (ENTITY, ["m1"])
    assert settler["settings"] is settings.sync and settler["inventory"] is inv


class FakeInletEvents:
    """``context["inlet_events"]`` as the Task SDK gives it: the inlet assets' recorded events, ``after``
    (inclusive) a time; a key that is not an inlet raises KeyError."""

    def __init__(self, events: dict[str, list[Any]]) -> None:
        self.events = events
        self.after_asked: list[str] = []

    def __getitem__(self, ref: Any) -> Any:
        recorded = self.events[ref.name]
        outer = self

        class Accessor:
            def after(self, since: str) -> list[Any]:
                outer.after_asked.append(since)
                return [e for e in recorded if e.timestamp >= datetime.fromisoformat(since)]

        return Accessor()


def _event(at: datetime, *messages: tuple[str, str], event_id: int = 0) -> Any:
    batch = [{"MessageId": m, "ReceiptHandle": r, "Body": "{}"} for m, r in messages]
    return MagicMock(extra={"payload": {"message_batch": batch}}, timestamp=at, id=event_id)


def test_events_the_scheduler_gave_to_no_run_are_taken_by_the_run_after_them() -> None:
    """Airflow can record an asset event between creating a run and deleting its queue rows: no run gets
    it. The run's task takes every event of its entity recorded since its first triggering event; the
    newest receipt handle of a message delivered twice wins; a reconcile on the clock takes none."""
    from model_governance.operators.sync import events_asset_name, queued_messages

    t0 = datetime(2026, 12, 7, 6, 24, 5, tzinfo=UTC)
    mine, other = events_asset_name(ENTITY), events_asset_name("other-entity")
    triggering_asset = MagicMock()
    triggering_asset.name = mine
    triggering = _event(t0, ("m1", "r1"), event_id=5)
    orphan = _event(t0 + timedelta(seconds=2), ("m2", "r2"), ("m1", "r1-again"), event_id=6)
    earlier = _event(t0 - timedelta(minutes=3), ("m0", "r0"), event_id=4)  # a run before took it
    inlets = FakeInletEvents(
        {mine: [earlier, triggering, orphan], other: [_event(t0, ("x", "rx"), event_id=7)]}
    )
    context = {"triggering_asset_events": {triggering_asset: [triggering]}, "inlet_events": inlets}

    taken = {m.message_id: m.receipt_handle for m in queued_messages(context, ENTITY)}  # type: ignore[arg-type]
    assert taken == {"m1": "r1-again", "m2": "r2"}
    assert inlets.after_asked == [t0.isoformat()]
    # another entity of the same run: its events since the run's first triggering event
    assert [m.message_id for m in queued_messages(context, "other-entity")] == ["x"]  # type: ignore[arg-type]
    # a run on the clock (no triggering event) reads no inlet events
    assert queued_messages({"inlet_events": inlets}, ENTITY) == []  # type: ignore[arg-type]
    # a DAG parsed before the inlets were declared: the triggering events only
    del inlets.events[mine]
    assert [m.message_id for m in queued_messages(context, ENTITY)] == ["m1"]  # type: ignore[arg-type]
