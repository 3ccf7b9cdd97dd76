"""Chain heads anchored in S3 (the AWS sandbox): one object per decision, written once, and a database
rolled back behind them is caught."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from model_governance.inventory import Inventory
from model_governance.inventory.audit import Anchor, AuditKeyring, model_chain
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.services.evidence import S3AnchorStore, anchor_key
from sandbox.aws.pytest_fixtures import AwsClients
from tests.integration.inventory.conftest import ACCOUNT, GROUP_ARN, PACKAGE_ARN

KEYS = AuditKeyring("k1", {"k1": "first-audit-key-0123456789"})


def test_decisions_are_anchored_in_s3_and_a_rollback_is_caught(
    aws_clients: AwsClients, tmp_path: Path
) -> None:
    bucket = f"governance-{uuid.uuid4().hex[:8]}"
    aws_clients.s3.create_bucket(Bucket=bucket)
    store = S3AnchorStore(lambda: aws_clients.s3, bucket)
    inventory = Inventory.from_url(
        f"sqlite:///{tmp_path / 'inv.db'}", audit_keyring=KEYS, anchors=store, upgrade_schema=True
    )
    inventory.ensure_business_entity(name="retail", account_id=ACCOUNT, region="us-east-1", aws_conn_id="a")
    use_case = inventory.create_use_case(business_entity="retail", name="c", risk_level="Low", owner="o@x.io")
    inventory.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    model, _ = inventory.upsert_model(
        package_arn=PACKAGE_ARN, status=S.DEVELOPMENT_COMPLETE, actor="s", reason="r"
    )
    inventory.transition(model.id, S.PRE_IMPLEMENTATION_REVIEW, source="governance", actor="dag", reason="r")
    inventory.record_approval_requested(kind="PIA", jira_key="MLC-1", model_id=model.id)
    inventory.record_approval_decision(
        "MLC-1", approved=True, decided_by="acc", decided_at=datetime.now(UTC), decision_status="Approved"
    )
    chain = model_chain(model.id)
    listed = aws_clients.s3.list_objects_v2(Bucket=bucket, Prefix=f"audit-anchors/{chain}/")
    assert [item["Key"] for item in listed["Contents"]] == [anchor_key(chain, seq) for seq in (1, 2, 4)]
    newest = store.newest(chain)
    assert newest is not None and newest.seq == 4 and newest.authentic(KEYS)
    assert [a.seq for a in store.anchors(chain)] == [1, 2, 4]

    # A retried task anchors the same head again: the object is written once, never replaced.
    head = inventory.chain_head(chain)
    assert head is not None
    before = aws_clients.s3.get_object(Bucket=bucket, Key=anchor_key(chain, 4))["Body"].read()
    store.put(Anchor(chain, 4, head.mac, "k1", datetime.now(UTC)).signed(KEYS))
    assert aws_clients.s3.get_object(Bucket=bucket, Key=anchor_key(chain, 4))["Body"].read() == before

    report = inventory.verify_audit_trail(model.id)
    assert report.ok and report.anchor_seq == 4, report.problems

    # The owner drops the guards, deletes the decision and its link, reopens the approval: S3 still knows.
    with inventory.engine.begin() as conn:
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
            conn.execute(text(f"DROP TRIGGER {name}"))
        conn.execute(text("DELETE FROM mg_audit_link WHERE chain = :c AND seq = 4"), {"c": chain})
        conn.execute(
            text(
                "UPDATE mg_approval SET state = 'OPEN', decided_by = NULL, decided_at = NULL, "
                "decision_status = NULL WHERE jira_key = 'MLC-1'"
            )
        )
    problems = inventory.verify_audit_trail(model.id).problems
    assert any(f"chain {chain} ends at seq 3 but was anchored at seq 4" in p for p in problems), problems
    inventory.engine.dispose()
