"""The audit pack (``python -m model_governance.evidence export|verify``) against the AWS sandbox: a governed
model's pack verifies offline, and one flipped byte in any file fails verification naming that file."""

from __future__ import annotations

import hashlib
import shutil
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from model_governance.evidence.__main__ import main
from model_governance.inventory import Inventory
from model_governance.inventory.audit import AUDIT_KEYS_ENV, AuditKeyring
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.services.evidence import S3AnchorStore, export_pack, verify_pack
from sandbox.aws.pytest_fixtures import CREDENTIALS, AwsClients
from tests.integration.inventory.conftest import ACCOUNT, GROUP_ARN, PACKAGE_ARN

SECRET = "pack-test-audit-key-0123456789"
KEYS = AuditKeyring("k1", {"k1": SECRET})


def _governed(url: str, s3: object, bucket: str) -> Inventory:
    inventory = Inventory.from_url(
        url, audit_keyring=KEYS, anchors=S3AnchorStore(s3, bucket), upgrade_schema=True
    )
    inventory.ensure_business_entity(name="retail", account_id=ACCOUNT, region="us-east-1", aws_conn_id="a")
    use_case = inventory.create_use_case(
        business_entity="retail", name="c", risk_level="High", owner="o@x.io"
    )
    inventory.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    model, _ = inventory.upsert_model(
        package_arn=PACKAGE_ARN, status=S.DEVELOPMENT_COMPLETE, actor="s", reason="r"
    )
    inventory.transition(model.id, S.PRE_IMPLEMENTATION_REVIEW, source="governance", actor="dag", reason="r")
    snapshot = inventory.record_snapshot(
        model.id, content_hash="c" * 64, uri=f"s3://{bucket}/s.json", manifest={}
    )
    inventory.start_risk_test_run(model.id, run_key="k", snapshot_id=snapshot.id)
    inventory.finish_risk_test_run("k", passed=True, report={"results": [{"id": "auc", "value": 0.9}]})
    body = b"<html><body>review <b>document</b></body></html>"
    s3.put_object(Bucket=bucket, Key="docs/review.html", Body=body)  # type: ignore[attr-defined]
    document = inventory.record_document(
        model.id,
        kind="review",
        media_type="text/html",
        sha256=hashlib.sha256(body).hexdigest(),
        uri=f"s3://{bucket}/docs/review.html",
        snapshot_id=snapshot.id,
    )
    inventory.record_approval_requested(kind="TEST_RESULTS_REVIEW", jira_key="MLC-2", model_id=model.id)
    inventory.record_approval_decision(
        "MLC-2", approved=True, decided_by="acc", decided_at=datetime.now(UTC), decision_status="Approved"
    )
    inventory.approve_documents([document.id])
    inventory.transition(model.id, S.VALIDATION_COMPLETE, source="governance", actor="dag", reason="r")
    return inventory


@pytest.fixture
def pack(aws_clients: AwsClients, tmp_path: Path) -> tuple[Path, Inventory]:
    bucket = f"governance-{uuid.uuid4().hex[:8]}"
    aws_clients.s3.create_bucket(Bucket=bucket)
    inventory = _governed(f"sqlite:///{tmp_path / 'inv.db'}", aws_clients.s3, bucket)

    def fetch(uri: str) -> bytes:
        name, key = uri[len("s3://") :].split("/", 1)
        return bytes(aws_clients.s3.get_object(Bucket=name, Key=key)["Body"].read())

    return export_pack(inventory, PACKAGE_ARN, tmp_path / "evidence", fetch=fetch), inventory


def test_a_pack_is_self_contained_and_verifies(pack: tuple[Path, Inventory], tmp_path: Path) -> None:
    folder, _ = pack
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {"manifest.json", "index.html", "chain.json", "anchors.json", "approvals.json"} <= set(names)
    assert any(name.startswith("documents/") and name.endswith("review.html") for name in names)
    assert "MLC-2" in (folder / "index.html").read_text()
    assert verify_pack(folder, KEYS) == []
    archive = tmp_path / "evidence.zip"
    assert zipfile.is_zipfile(archive) and verify_pack(archive, KEYS) == []


def test_one_flipped_byte_in_any_file_is_named(pack: tuple[Path, Inventory], tmp_path: Path) -> None:
    folder, _ = pack
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        copy = tmp_path / f"flipped-{uuid.uuid4().hex[:6]}"
        shutil.copytree(folder, copy)
        target = copy / name
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
        problems = verify_pack(copy, KEYS)
        assert problems and any(p.startswith(f"{name}:") for p in problems), (name, problems)


def test_a_pack_from_a_rolled_back_inventory_fails_on_its_anchors(
    pack: tuple[Path, Inventory], tmp_path: Path
) -> None:
    """The owner drops the guards and cuts the chain's tail, then exports: the pack is internally consistent
    (fresh digests, a valid manifest MAC) but ends before the anchors it carries from S3."""
    _, inventory = pack
    with inventory.engine.begin() as conn:
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
            conn.execute(text(f"DROP TRIGGER {name}"))
        top = conn.execute(text("SELECT MAX(seq) FROM mg_audit_link")).scalar_one()
        conn.execute(text("DELETE FROM mg_audit_link WHERE seq = :s"), {"s": top})
        conn.execute(text("DELETE FROM mg_status_event WHERE seq = 3"))
        conn.execute(text("UPDATE mg_model SET status = 'Pre Implementation Review', status_version = 2"))
    folder = export_pack(inventory, PACKAGE_ARN, tmp_path / "rolled-back", make_zip=False)
    problems = verify_pack(folder, KEYS)
    assert any(
        p.startswith("chain.json: chain model/")
        and f"ends at seq {top - 1} but was anchored at seq {top}" in p
        for p in problems
    ), problems


def test_the_command_line_exports_and_verifies(
    aws_clients: AwsClients,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = f"governance-{uuid.uuid4().hex[:8]}"
    aws_clients.s3.create_bucket(Bucket=bucket)
    url = f"sqlite:///{tmp_path / 'inv.db'}"
    _governed(url, aws_clients.s3, bucket).engine.dispose()
    monkeypatch.setenv(AUDIT_KEYS_ENV, f"k1:{SECRET}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_clients.sandbox.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", aws_clients.sandbox.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    out = tmp_path / "cli-pack"
    code = main(
        ["export", "--model", PACKAGE_ARN, "--out", str(out), "--inventory-url", url, "--bucket", bucket]
    )
    assert code == 0
    assert main(["verify", str(out)]) == 0
    assert f"evidence pack {out}: verified" in capsys.readouterr().out
    (out / "approvals.json").write_bytes((out / "approvals.json").read_bytes().replace(b"acc", b"mal"))
    assert main(["verify", str(out)]) == 1
    assert "approvals.json: does not match its digest in manifest.json" in capsys.readouterr().out
    monkeypatch.delenv(AUDIT_KEYS_ENV)
    assert main(["verify", str(out)]) == 2
    assert "MODEL_GOVERNANCE_AUDIT_KEYS" in capsys.readouterr().err
