"""The keyed audit chain against tampering, on SQLite and PostgreSQL (inventory/audit.py, migration 0006).

Each attack is what someone with write access to the database (or its owner, who can drop triggers) would
do; each must be caught by ``verify_audit_trail`` with a message naming the record.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from model_governance.exceptions import ConfigurationError, RegistryError
from model_governance.inventory import Inventory
from model_governance.inventory.audit import (
    AUDIT_KEYS_ENV,
    Anchor,
    AuditKeyring,
    event_hash,
    model_chain,
    verify_chain,
)
from model_governance.inventory.db import make_engine, migrate
from model_governance.lifecycle import GovernanceStatus as S
from tests.integration.inventory.conftest import ACCOUNT, GROUP_ARN, PACKAGE_ARN

KEYS = AuditKeyring("k1", {"k1": "first-audit-key-0123456789"})
GUARDED = ("mg_audit_link", "mg_status_event", "mg_approval")


class MemoryAnchors:
    """An anchor store outside the database under test (S3 in production; tested in test_audit_s3)."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, int], Anchor] = {}

    def put(self, anchor: Anchor) -> None:
        self.stored.setdefault((anchor.chain, anchor.seq), anchor)

    def newest(self, chain: str) -> Anchor | None:
        mine = [a for (c, _), a in self.stored.items() if c == chain]
        return max(mine, key=lambda a: a.seq) if mine else None


@pytest.fixture
def anchors() -> MemoryAnchors:
    return MemoryAnchors()


@pytest.fixture
def keyed(inventory_url: str, anchors: MemoryAnchors) -> Inventory:
    inv = Inventory.from_url(inventory_url, audit_keyring=KEYS, anchors=anchors, upgrade_schema=True)
    inv.ensure_business_entity(name="retail", account_id=ACCOUNT, region="us-east-1", aws_conn_id="aws")
    return inv


@pytest.fixture
def model(keyed: Inventory) -> int:
    use_case = keyed.create_use_case(
        business_entity="retail", name="churn", risk_level="High", owner="owner@example.com"
    )
    keyed.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    created, _ = keyed.upsert_model(
        package_arn=PACKAGE_ARN, status=S.DEVELOPMENT_COMPLETE, actor="sync", reason="onboarded"
    )
    return created.id


def _approve(inventory: Inventory, model_id: int, kind: str, key: str) -> None:
    inventory.record_approval_requested(kind=kind, jira_key=key, model_id=model_id, requested_by="dag")
    inventory.record_approval_decision(
        key,
        approved=True,
        decided_by="acc-reviewer",
        decided_at=datetime.now(UTC),
        decision_status="Approved",
    )


def _move(inventory: Inventory, model_id: int, *targets: S) -> None:
    for target in targets:
        inventory.transition(model_id, target, source="governance", actor="dag", reason="step")


def _govern(inventory: Inventory, model_id: int) -> None:
    """The MLC's facts, in its order, up to Approved for Deployment."""
    _move(inventory, model_id, S.PRE_IMPLEMENTATION_REVIEW)
    _approve(inventory, model_id, "PIA", "MLC-1")
    snapshot = inventory.record_snapshot(
        model_id, content_hash="a" * 64, uri="s3://b/snap.json", manifest={"auc": 0.91, "n": [1, 2]}
    )
    inventory.start_risk_test_run(model_id, run_key="d/r/t", snapshot_id=snapshot.id)
    inventory.finish_risk_test_run("d/r/t", passed=True, report={"results": [{"id": "x", "passed": True}]})
    document = inventory.record_document(
        model_id, kind="review", media_type="text/html", sha256="b" * 64, uri="s3://b/doc.html", size=10
    )
    _approve(inventory, model_id, "TEST_RESULTS_REVIEW", "MLC-2")
    inventory.approve_documents([document.id])
    _move(inventory, model_id, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL)
    _approve(inventory, model_id, "PRODUCTION", "MLC-3")
    _move(inventory, model_id, S.APPROVED_FOR_DEPLOYMENT)
    inventory.mark_snapshot_deployed(snapshot.id)


def _drop_guards(inventory: Inventory) -> None:
    """What a database owner can always do first: the chain and the anchors must still catch them."""
    with inventory.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            for name in list(names):
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            for table in (*GUARDED, "mg_snapshot", "mg_risk_test_run", "mg_document"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _problems(inventory: Inventory, model_id: int) -> list[str]:
    report = inventory.verify_audit_trail(model_id)
    assert not report.ok
    return report.problems


def test_a_governed_model_verifies_with_every_fact_chained(keyed: Inventory, model: int) -> None:
    _govern(keyed, model)
    report = keyed.verify_audit_trail(model)
    assert report.ok, report.problems
    links = keyed.audit_links(model_chain(model))
    kinds = {(link.kind, link.action) for link in links}
    assert {
        ("status_event", "status"),
        ("approval", "requested"),
        ("approval", "decided"),
        ("snapshot", "recorded"),
        ("snapshot", "deployed"),
        ("risk_test_run", "started"),
        ("risk_test_run", "finished"),
        ("document", "recorded"),
        ("document", "approved"),
    } <= kinds
    assert report.links_checked == len(links) == 17
    assert [link.seq for link in links] == list(range(1, 18))
    assert {link.key_id for link in links} == {"k1"}
    # Anchored with each decision: the newest anchor is the last decision's head.
    assert report.anchor_seq == 16  # Approved for Deployment; marking the snapshot deployed is no decision


def test_forged_append_with_a_recomputed_hash(keyed: Inventory, model: int) -> None:
    """An illegal jump Pre Implementation Review -> Deployed, appended in order with a correct unkeyed
    hash: the database accepts it (it is in order) and the old hash chain sees nothing; the key does."""
    _move(keyed, model, S.PRE_IMPLEMENTATION_REVIEW)
    last = keyed.status_history(model)[-1]
    now = datetime.now(UTC)
    fields = {
        "model_id": model,
        "seq": 3,
        "from_status": "Pre Implementation Review",
        "to_status": "Deployed",
        "source": "sagemaker",
        "actor": "sagemaker",
        "reason": "forged",
        "created_at": now,
        "prev_hash": last.hash,
    }
    with keyed.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mg_status_event (model_id, seq, from_status, to_status, source, actor, reason, "
                "created_at, prev_hash, hash) VALUES (:model_id, :seq, :from_status, :to_status, :source, "
                ":actor, :reason, :created_at, :prev_hash, :hash)"
            ),
            {**fields, "hash": event_hash(**fields)},
        )
        conn.execute(
            text("UPDATE mg_model SET status = 'Deployed', status_version = 3 WHERE id = :id"), {"id": model}
        )
    current = keyed.get_model(model)
    assert verify_chain(model, keyed.status_history(model), current.status, current.status_version).ok
    problems = _problems(keyed, model)
    assert any("status event seq 3 is not in the audit chain model/" in p for p in problems), problems

    # The forger also appends a link, MACed with a guessed key: its MAC fails, and the step is illegal.
    head = keyed.chain_head(model_chain(model))
    assert head is not None
    with keyed.engine.begin() as conn:
        event_id = conn.execute(text("SELECT id FROM mg_status_event WHERE seq = 3")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO mg_audit_link (chain, seq, kind, record_id, action, record, prev_mac, mac, "
                "key_id, created_at) VALUES (:chain, :seq, 'status_event', :rid, 'status', :record, :prev, "
                ":mac, 'k1', :at)"
            ),
            {
                "chain": head.chain,
                "seq": head.seq + 1,
                "rid": event_id,
                "record": '{"from_status":"Pre Implementation Review","to_status":"Deployed"}',
                "prev": head.mac,
                "mac": "0" * 64,
                "at": now,
            },
        )
    problems = _problems(keyed, model)
    seq = head.seq + 1
    assert any(f"link seq {seq} (status_event id {event_id}, status) fails its MAC" in p for p in problems)
    assert any(f"link seq {seq}" in p and "illegal status step" in p for p in problems), problems


def test_deleted_tail_with_rollback(keyed: Inventory, model: int) -> None:
    """Triggers dropped, the last status change deleted with its link, the model rolled back: a shorter,
    self-consistent chain. Only the anchor written with that decision shows it."""
    _govern(keyed, model)
    _drop_guards(keyed)
    with keyed.engine.begin() as conn:
        cut = conn.execute(
            text(
                "SELECT MIN(seq) FROM mg_audit_link WHERE chain = :c AND kind = 'status_event' "
                "AND record_id = (SELECT id FROM mg_status_event WHERE model_id = :m AND seq = 5)"
            ),
            {"c": model_chain(model), "m": model},
        ).scalar_one()
        conn.execute(
            text("DELETE FROM mg_audit_link WHERE chain = :c AND seq >= :s"),
            {"c": model_chain(model), "s": cut},
        )
        conn.execute(text("DELETE FROM mg_status_event WHERE model_id = :m AND seq = 5"), {"m": model})
        conn.execute(
            text("UPDATE mg_model SET status = 'Awaiting Approval', status_version = 4 WHERE id = :m"),
            {"m": model},
        )
        conn.execute(text("UPDATE mg_snapshot SET deployed_at = NULL"))
    problems = _problems(keyed, model)
    assert any(
        f"chain model/{model} ends at seq {cut - 1} but was anchored at seq" in p and "rolled back" in p
        for p in problems
    ), problems


def test_deleted_event_without_its_link(keyed: Inventory, model: int) -> None:
    _govern(keyed, model)
    _drop_guards(keyed)
    with keyed.engine.begin() as conn:
        event_id = conn.execute(text("SELECT id FROM mg_status_event WHERE seq = 3")).scalar_one()
        conn.execute(text("DELETE FROM mg_status_event WHERE id = :id"), {"id": event_id})
    problems = _problems(keyed, model)
    assert any(
        f"status_event id {event_id} of chain model/{model} link seq" in p and "missing" in p
        for p in problems
    )


def test_edited_approval(keyed: Inventory, model: int) -> None:
    _govern(keyed, model)
    with pytest.raises(Exception, match="immutable"), keyed.engine.begin() as conn:
        conn.execute(text("UPDATE mg_approval SET decided_by = 'mallory' WHERE jira_key = 'MLC-3'"))
    _drop_guards(keyed)
    with keyed.engine.begin() as conn:
        conn.execute(text("UPDATE mg_approval SET decided_by = 'mallory' WHERE jira_key = 'MLC-3'"))
    problems = _problems(keyed, model)
    assert any(
        "approval id" in p and "(PRODUCTION MLC-3) differs from its audit record" in p for p in problems
    ), problems


def test_truncated_tables(keyed: Inventory, model: int) -> None:
    _govern(keyed, model)
    postgres = keyed.engine.dialect.name == "postgresql"
    for table in GUARDED:
        statement = f"TRUNCATE {table} CASCADE" if postgres else f"DELETE FROM {table}"
        with pytest.raises(Exception, match=r"append-only|never deleted"), keyed.engine.begin() as conn:
            conn.execute(text(statement))
    _drop_guards(keyed)
    with keyed.engine.begin() as conn:
        conn.execute(text("TRUNCATE mg_audit_link" if postgres else "DELETE FROM mg_audit_link"))
    problems = _problems(keyed, model)
    assert any("status event seq 1 is not in the audit chain" in p for p in problems), problems
    assert any("approval id" in p and "MLC-2) is not in the audit chain" in p for p in problems), problems
    assert any("ends at seq 0 but was anchored at seq" in p for p in problems), problems


def test_database_restored_from_an_older_backup(
    keyed: Inventory, model: int, anchors: MemoryAnchors, inventory_url: str, tmp_path: Path
) -> None:
    _move(keyed, model, S.PRE_IMPLEMENTATION_REVIEW)
    _approve(keyed, model, "PIA", "MLC-1")
    backup_url, cleanup = _backup(keyed, inventory_url, tmp_path)
    try:
        _approve(keyed, model, "TEST_RESULTS_REVIEW", "MLC-2")
        _move(keyed, model, S.VALIDATION_COMPLETE)
        assert keyed.verify_audit_trail(model).ok
        restored = Inventory.from_url(backup_url, audit_keyring=KEYS, anchors=anchors)
        report = restored.verify_audit_trail(model)
        restored.engine.dispose()
        assert any(
            f"chain model/{model} ends at seq 4 but was anchored at seq 7" in p and "older backup" in p
            for p in report.problems
        ), report.problems
    finally:
        cleanup()


def _backup(inventory: Inventory, url: str, tmp_path: Path) -> tuple[str, object]:
    """A copy of the database as it is now: a file copy on SQLite, a template copy on PostgreSQL."""
    inventory.engine.dispose()
    if url.startswith("sqlite"):
        source = Path(url.removeprefix("sqlite:///"))
        with inventory.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        inventory.engine.dispose()
        copy = tmp_path / "backup.db"
        shutil.copyfile(source, copy)
        return f"sqlite:///{copy}", lambda: None
    base, name = url.rsplit("/", 1)
    backup = f"mg_backup_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{backup}" TEMPLATE "{name}"'))

    def cleanup() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{backup}" WITH (FORCE)'))
        admin.dispose()

    return f"{base}/{backup}", cleanup


def test_database_guards(keyed: Inventory, model: int) -> None:
    _move(keyed, model, S.PRE_IMPLEMENTATION_REVIEW)
    keyed.record_approval_requested(kind="PIA", jira_key="MLC-1", model_id=model)
    head = keyed.chain_head(model_chain(model))
    assert head is not None
    insert_link = (
        "INSERT INTO mg_audit_link (chain, seq, kind, record_id, action, record, prev_mac, mac, key_id, "
        "created_at) VALUES (:c, :s, 'approval', 1, 'x', '{}', :p, :m, 'k1', :at)"
    )
    now = datetime.now(UTC)
    for seq, prev in ((head.seq + 2, head.mac), (head.seq + 1, "f" * 64), (head.seq, head.prev_mac)):
        with pytest.raises(Exception, match=r"append-only in order|UNIQUE|unique"), keyed.engine.begin() as c:
            c.execute(text(insert_link), {"c": head.chain, "s": seq, "p": prev, "m": "0" * 64, "at": now})
    with pytest.raises(Exception, match="append-only"), keyed.engine.begin() as conn:
        conn.execute(text("UPDATE mg_audit_link SET record = '{}'"))
    with pytest.raises(Exception, match="append-only"), keyed.engine.begin() as conn:
        conn.execute(text("DELETE FROM mg_audit_link"))
    with pytest.raises(Exception, match="append-only in order"), keyed.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mg_status_event (model_id, seq, from_status, to_status, source, actor, reason, "
                "created_at, prev_hash, hash) VALUES (:m, 5, 'Pre Implementation Review', 'Deployed', 's', "
                "'a', '', :at, NULL, 'h')"
            ),
            {"m": model, "at": now},
        )
    # An open approval may be decided (once); a decided one never changes again.
    keyed.record_approval_decision(
        "MLC-1", approved=True, decided_by="acc", decided_at=now, decision_status="Approved"
    )
    with pytest.raises(Exception, match="immutable"), keyed.engine.begin() as conn:
        conn.execute(text("UPDATE mg_approval SET state = 'OPEN' WHERE jira_key = 'MLC-1'"))
    with pytest.raises(Exception, match="never deleted"), keyed.engine.begin() as conn:
        conn.execute(text("DELETE FROM mg_approval"))
    assert keyed.verify_audit_trail(model).ok


def test_step_without_its_approval_is_reported(keyed: Inventory, model: int) -> None:
    """The MLC never does it, but a writer with the key and no approval would: verify names the step."""
    _move(keyed, model, S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE)
    problems = _problems(keyed, model)
    assert any(
        "(status_event id" in p
        and "moves to 'Validation Complete' without a verified TEST_RESULTS_REVIEW" in p
        for p in problems
    ), problems


def test_use_case_approvals_have_their_own_chain(
    keyed: Inventory, model: int, anchors: MemoryAnchors
) -> None:
    use_case_id = keyed.use_case_of_group(keyed.get_model(model).model_group_id)
    keyed.record_approval_requested(kind="USE_CASE", jira_key="MLC-9", use_case_id=use_case_id)
    keyed.record_approval_decision(
        "MLC-9", approved=True, decided_by="acc", decided_at=datetime.now(UTC), decision_status="Approved"
    )
    assert keyed.verify_use_case_audit_trail(use_case_id) == []
    assert anchors.newest(f"use-case/{use_case_id}") is not None
    _drop_guards(keyed)
    with keyed.engine.begin() as conn:
        conn.execute(text("UPDATE mg_approval SET state = 'REJECTED' WHERE jira_key = 'MLC-9'"))
    problems = keyed.verify_use_case_audit_trail(use_case_id)
    assert any("(USE_CASE MLC-9) differs from its audit record" in p for p in problems), problems


class FlakyAnchors(MemoryAnchors):
    """S3 down for the first write."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def put(self, anchor: Anchor) -> None:
        if self.down:
            self.down = False
            raise RegistryError("S3 is down")
        super().put(anchor)


def test_an_anchor_store_outage_does_not_undo_the_write_and_a_retry_anchors(
    inventory_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyAnchors()
    inventory = Inventory.from_url(inventory_url, audit_keyring=KEYS, anchors=flaky, upgrade_schema=True)
    inventory.ensure_business_entity(name="retail", account_id=ACCOUNT, region="us-east-1", aws_conn_id="a")
    use_case = inventory.create_use_case(business_entity="retail", name="c", risk_level="Low", owner="o@x.io")
    inventory.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    model_id = inventory.upsert_model(
        package_arn=PACKAGE_ARN, status=S.DEVELOPMENT_COMPLETE, actor="s", reason="r"
    )[0].id
    assert "head seq 1 was not anchored: S3 is down" in caplog.text
    flaky.down = True
    _move(inventory, model_id, S.PRE_IMPLEMENTATION_REVIEW)  # recorded, not anchored
    assert flaky.newest(model_chain(model_id)) is None
    _move(inventory, model_id, S.PRE_IMPLEMENTATION_REVIEW)  # the task's retry: a no-op that anchors the head
    newest = flaky.newest(model_chain(model_id))
    assert newest is not None and newest.seq == 2
    inventory.record_approval_requested(kind="PIA", jira_key="MLC-1", model_id=model_id)
    flaky.down = True
    decide: dict[str, Any] = {
        "approved": True,
        "decided_by": "acc",
        "decided_at": datetime.now(UTC),
        "decision_status": "Done",
    }
    inventory.record_approval_decision("MLC-1", **decide)
    assert flaky.newest(model_chain(model_id)).seq == 2  # type: ignore[union-attr]
    inventory.record_approval_decision("MLC-1", **decide)  # the retry anchors the decision
    newest = flaky.newest(model_chain(model_id))
    assert newest is not None and newest.seq == 4
    assert inventory.verify_audit_trail(model_id).ok
    inventory.engine.dispose()


def test_rotated_key_still_verifies_old_links(inventory_url: str, anchors: MemoryAnchors) -> None:
    old = Inventory.from_url(inventory_url, audit_keyring=KEYS, anchors=anchors, upgrade_schema=True)
    old.ensure_business_entity(name="retail", account_id=ACCOUNT, region="us-east-1", aws_conn_id="aws")
    use_case = old.create_use_case(business_entity="retail", name="c", risk_level="Low", owner="o@x.io")
    old.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    created, _ = old.upsert_model(
        package_arn=PACKAGE_ARN, status=S.DEVELOPMENT_COMPLETE, actor="s", reason="r"
    )
    old.engine.dispose()
    rotated = AuditKeyring("k2", {"k1": "first-audit-key-0123456789", "k2": "second-audit-key-0123456789"})
    new = Inventory.from_url(inventory_url, audit_keyring=rotated, anchors=anchors)
    _move(new, created.id, S.PRE_IMPLEMENTATION_REVIEW)
    assert [link.key_id for link in new.audit_links(model_chain(created.id))] == ["k1", "k2"]
    assert new.verify_audit_trail(created.id).ok
    only_new = Inventory(new.engine, audit_keyring=AuditKeyring("k2", {"k2": "second-audit-key-0123456789"}))
    problems = only_new.verify_audit_trail(created.id).problems
    assert any("signed with key id 'k1', which the keyring lacks" in p for p in problems), problems
    new.engine.dispose()


def test_a_missing_key_says_what_to_set(
    keyed: Inventory, model: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(AUDIT_KEYS_ENV, raising=False)
    unkeyed = Inventory(keyed.engine)
    with pytest.raises(ConfigurationError, match=r"model_governance_audit.*MODEL_GOVERNANCE_AUDIT_KEYS"):
        unkeyed.transition(model, S.PRE_IMPLEMENTATION_REVIEW, source="governance", actor="a", reason="r")
    assert keyed.get_model(model).status_version == 1  # nothing written without the key


def test_migration_chains_the_rows_already_there(inventory_url: str) -> None:
    """An inventory from before revision 0006 (old hash-chained events, a decided approval) verifies after
    the upgrade: the migration chains its rows with the key it is given."""
    engine = make_engine(inventory_url)
    migrate(engine, "0005")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mg_business_entity (id, name, account_id, region, aws_conn_id, created_at) "
                "VALUES (1, 'retail', :a, 'us-east-1', 'aws', :t)"
            ),
            {"a": ACCOUNT, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mg_use_case (id, business_entity_id, name, description, risk_level, owner, "
                "model_type, status, created_at, updated_at) VALUES (1, 1, 'c', '', 'Low', 'o', 'SAGEMAKER', "
                "'Approved', :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mg_model_group (id, use_case_id, business_entity_id, name, arn, created_at) "
                "VALUES (1, 1, 1, 'Churn-Model', :arn, :t)"
            ),
            {"arn": GROUP_ARN, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mg_model (id, model_group_id, package_arn, version, status, status_version, "
                "created_at, updated_at) VALUES (1, 1, :arn, 1, 'Pre Implementation Review', 2, :t, :t)"
            ),
            {"arn": PACKAGE_ARN, "t": now},
        )
        prev = None
        for seq, (origin, target) in enumerate(
            [(None, "Development Complete"), ("Development Complete", "Pre Implementation Review")], start=1
        ):
            fields = {
                "model_id": 1,
                "seq": seq,
                "from_status": origin,
                "to_status": target,
                "source": "governance",
                "actor": "dag",
                "reason": "old",
                "created_at": now,
                "prev_hash": prev,
            }
            prev = event_hash(**fields)
            conn.execute(
                text(
                    "INSERT INTO mg_status_event (model_id, seq, from_status, to_status, source, actor, "
                    "reason, created_at, prev_hash, hash) VALUES (:model_id, :seq, :from_status, :to_status, "
                    ":source, :actor, :reason, :created_at, :prev_hash, :hash)"
                ),
                {**fields, "hash": prev},
            )
        conn.execute(
            text(
                "INSERT INTO mg_approval (kind, model_id, jira_key, state, decided_by, decided_at, "
                "decision_status, created_at) "
                "VALUES ('PIA', 1, 'MLC-1', 'APPROVED', 'acc', :t, 'Approved', :t)"
            ),
            {"t": now},
        )
    migrate(engine, audit_keyring=KEYS)
    inventory = Inventory(engine, audit_keyring=KEYS)
    report = inventory.verify_audit_trail(1)
    assert report.ok, report.problems
    assert report.links_checked == 3
    engine.dispose()


def test_migrating_existing_rows_without_a_key_says_what_to_set(
    inventory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(inventory_url)
    migrate(engine, "0005")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mg_business_entity (id, name, account_id, region, aws_conn_id, created_at) "
                "VALUES (1, 'retail', :a, 'us-east-1', 'aws', :t)"
            ),
            {"a": ACCOUNT, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mg_use_case (id, business_entity_id, name, description, risk_level, owner, "
                "model_type, status, created_at, updated_at) VALUES (1, 1, 'c', '', 'Low', 'o', 'SAGEMAKER', "
                "'Proposed', :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mg_approval (kind, use_case_id, jira_key, state, created_at) "
                "VALUES ('USE_CASE', 1, 'MLC-1', 'OPEN', :t)"
            ),
            {"t": now},
        )
    monkeypatch.delenv(AUDIT_KEYS_ENV, raising=False)
    with pytest.raises(ConfigurationError, match=AUDIT_KEYS_ENV):
        migrate(engine)
    engine.dispose()
