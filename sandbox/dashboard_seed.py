"""A realistic governance inventory for the dashboard's tests and demos: two business entities, several
use cases, ~60 model versions across the life cycle with hash-chained histories, approvals (some overdue),
a failed and passing risk tests from the real engine, documents, sync issues and monitoring metrics.

Everything goes through the inventory's repository methods, except back-dating: ``created_at`` of a few
approvals is moved into the past with one UPDATE so they are overdue against the approval SLA.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from model_governance.inventory import Approval, Inventory, SyncIssueKind
from model_governance.lifecycle import GovernanceStatus as S

RETAIL = ("retail-bank", "123456789012", "us-east-1")
INSURANCE = ("insurance", "210987654321", "eu-west-1")

#: (entity, use case, risk level, number of model versions); None versions: no group (not approved).
USE_CASES: list[tuple[tuple[str, str, str], str, str, int | None]] = [
    (RETAIL, "credit-risk", "High", 14),
    (RETAIL, "card-fraud", "High", 12),
    (RETAIL, "churn", "Medium", 10),
    (INSURANCE, "claims-triage", "Medium", 10),
    (INSURANCE, "pricing", "High", 9),
    (INSURANCE, "marketing-propensity", "Low", 7),
    (RETAIL, "collections-nudge", "Low", None),
]

#: The MLC path a version walks (each step a governance transition), and where models stop on it.
MLC_PATH = [
    S.DEVELOPMENT_COMPLETE,
    S.PRE_IMPLEMENTATION_REVIEW,
    S.VALIDATION_COMPLETE,
    S.AWAITING_APPROVAL,
    S.APPROVED_FOR_DEPLOYMENT,
    S.DEPLOYED,
]
STOPS = [
    S.DEPLOYED,
    S.DEPLOYED,
    S.AWAITING_APPROVAL,
    S.VALIDATION_COMPLETE,
    S.PRE_IMPLEMENTATION_REVIEW,
    S.DEVELOPMENT_COMPLETE,
    S.APPROVED_FOR_DEPLOYMENT,
    S.UNDER_DEVELOPMENT,
    S.REJECTED,
    S.DEPLOYED,
]


@dataclass
class Seeded:
    """What the seed made, for assertions."""

    model_ids: dict[str, int] = field(default_factory=dict)  # "group/version" -> id
    failed_risk_model: int = 0
    drift_model: int = 0
    rejected_models: list[int] = field(default_factory=list)
    overdue_keys: list[str] = field(default_factory=list)
    documents: dict[int, Any] = field(default_factory=dict)  # model id -> Document
    total_models: int = 0


def risk_reports() -> tuple[dict[str, Any], dict[str, Any]]:
    """A passing and a failing report from the real risk test engine on generated credit data."""
    import numpy as np

    from model_governance.documents.sample import SCHEMA, credit_applications
    from model_governance.risk_tests import run_risk_tests

    rng = np.random.default_rng(20261130)
    baseline = credit_applications(rng, 6000, drifted=False)
    steady = credit_applications(rng, 3000, drifted=False)
    drifted = credit_applications(rng, 3000, drifted=True)
    passing = run_risk_tests(
        baseline,
        steady,
        SCHEMA,
        risk_level="Low",
        threshold_overrides={"Low": {"performance.auc": 0.6}},
        workers=1,
    ).to_dict()
    failing = run_risk_tests(baseline, drifted, SCHEMA, risk_level="High", workers=1).to_dict()
    return passing, failing


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def seed_inventory(
    inventory: Inventory,
    *,
    now: datetime | None = None,
    reports: tuple[dict[str, Any], dict[str, Any]] | None = None,
    store_document: Callable[[str, bytes], str] | None = None,
    bucket: str = "model-governance",
) -> Seeded:
    """Fill ``inventory``. ``store_document(key, content) -> s3 uri`` puts document bytes somewhere
    downloadable (the S3 sandbox); without it documents get an s3:// URI that is not backed by an object."""
    now = now or datetime.now(UTC)
    passing, failing = reports or risk_reports()
    out = Seeded()
    for name, account, region in {RETAIL, INSURANCE}:
        inventory.ensure_business_entity(
            name=name, account_id=account, region=region, aws_conn_id=f"aws_{name.replace('-', '_')}"
        )
    jira = iter(range(101, 100000))
    for (entity, account, region), use_case_name, level, versions in USE_CASES:
        use_case = inventory.create_use_case(
            business_entity=entity,
            name=use_case_name,
            risk_level=level,
            owner=f"{use_case_name}-owner@example.com",
            description=f"{use_case_name.replace('-', ' ')} models",
            data_science_email="ds@example.com",
            requested_by="proposer@example.com",
            exist_ok=True,
        )
        key = f"MLC-{next(jira)}"
        inventory.record_approval_requested(
            kind="USE_CASE", jira_key=key, use_case_id=use_case.id, requested_by="proposer@example.com"
        )
        if versions is None:
            continue  # still proposed: its approval stays open
        inventory.record_approval_decision(
            key,
            approved=True,
            decided_by="risk.committee@example.com",
            decided_at=now,
            decision_status="Done",
        )
        inventory.set_use_case_status(use_case.id, "Approved")
        group = "".join(part.capitalize() for part in use_case_name.split("-")) + "-Model"
        inventory.link_model_group(
            use_case_id=use_case.id,
            name=group,
            arn=f"arn:aws:sagemaker:{region}:{account}:model-package-group/{group}",
        )
        for version in range(1, versions + 1):
            arn = f"arn:aws:sagemaker:{region}:{account}:model-package/{group.lower()}/{version}"
            stop = STOPS[(version + len(use_case_name)) % len(STOPS)]
            start = stop if stop == S.UNDER_DEVELOPMENT else S.DEVELOPMENT_COMPLETE
            model, _ = inventory.upsert_model(
                package_arn=arn, status=start, actor="lifecycle-sync", reason="onboarded from SageMaker"
            )
            out.model_ids[f"{group}/{version}"] = model.id
            run_id = f"mlc__{group.lower()}__{version}"
            target_index = MLC_PATH.index(stop) if stop in MLC_PATH else (1 if stop == S.REJECTED else 0)
            for step in MLC_PATH[1 : target_index + 1]:
                inventory.transition(
                    model.id, step, source="governance", actor="airflow", reason=f"{run_id}: MLC step"
                )
                gate = {
                    S.PRE_IMPLEMENTATION_REVIEW: "PIA",
                    S.VALIDATION_COMPLETE: "TEST_RESULTS_REVIEW",
                    S.APPROVED_FOR_DEPLOYMENT: "PRODUCTION",
                }.get(step)
                if step == S.PRE_IMPLEMENTATION_REVIEW:
                    snapshot = inventory.record_snapshot(
                        model.id,
                        content_hash=_hash(arn),
                        uri=f"s3://{bucket}/snapshots/{group}/{version}/{_hash(arn)}/manifest.json",
                        manifest={"model_package_arn": arn, "suite_version": "1.0.0", "assets": []},
                    )
                    run_key = f"sagemaker_model_implementation/{run_id}/run_risk_tests"
                    inventory.start_risk_test_run(model.id, run_key=run_key, snapshot_id=snapshot.id)
                    inventory.finish_risk_test_run(run_key, passed=True, report=passing)
                    content = f"review document of {arn}".encode()
                    sha = hashlib.sha256(content).hexdigest()
                    doc_key = f"snapshots/{group}/{version}/documents/model_review/{sha}.pdf"
                    uri = store_document(doc_key, content) if store_document else f"s3://{bucket}/{doc_key}"
                    doc = inventory.record_document(
                        model.id,
                        kind="model_review",
                        media_type="application/pdf",
                        sha256=sha,
                        uri=uri,
                        snapshot_id=snapshot.id,
                        size=len(content),
                    )
                    out.documents[model.id] = doc
                if gate:
                    key = f"MLC-{next(jira)}"
                    inventory.record_approval_requested(
                        kind=gate,
                        jira_key=key,
                        model_id=model.id,
                        requested_by="airflow",
                        dag_id="sagemaker_model_implementation",
                        run_id=run_id,
                        task_id=f"{gate.lower()}_approval",
                    )
                    inventory.record_approval_decision(
                        key,
                        approved=True,
                        decided_by="reviewer@example.com",
                        decided_at=datetime.now(UTC),
                        decision_status="Done",
                    )
                    if gate == "TEST_RESULTS_REVIEW" and model.id in out.documents:
                        inventory.approve_documents([out.documents[model.id].id])
            if stop == S.AWAITING_APPROVAL:
                key = f"MLC-{next(jira)}"
                inventory.record_approval_requested(
                    kind="PRODUCTION",
                    jira_key=key,
                    model_id=model.id,
                    requested_by="airflow",
                    dag_id="sagemaker_model_implementation",
                    run_id=run_id,
                    task_id="production_approval",
                )
                if version % 3:
                    out.overdue_keys.append(key)
            if stop == S.REJECTED:
                key = f"MLC-{next(jira)}"
                inventory.record_approval_requested(
                    kind="TEST_RESULTS_REVIEW",
                    jira_key=key,
                    model_id=model.id,
                    requested_by="airflow",
                    dag_id="sagemaker_model_implementation",
                    run_id=run_id,
                    task_id="test_results_review",
                )
                inventory.record_approval_decision(
                    key,
                    approved=False,
                    decided_by="validator@example.com",
                    decided_at=datetime.now(UTC),
                    decision_status="Rejected",
                )
                inventory.transition(
                    model.id, S.REJECTED, source="governance", actor="airflow", reason=f"{key} rejected"
                )
                out.rejected_models.append(model.id)
            out.total_models += 1
    # One model whose latest risk test run failed (drifted production data), with its ticket open.
    failed = out.model_ids["CreditRisk-Model/5"]
    run_key = "sagemaker_model_implementation/mlc__creditrisk-model__5__rerun/run_risk_tests"
    inventory.start_risk_test_run(failed, run_key=run_key)
    inventory.finish_risk_test_run(run_key, passed=False, report=failing)
    out.failed_risk_model = failed
    inventory.record_approval_requested(
        kind="RISK_TEST_FAILURE",
        jira_key=f"MLC-{next(jira)}",
        model_id=failed,
        requested_by="airflow",
        dag_id="sagemaker_model_implementation",
        run_id="mlc__creditrisk-model__5__rerun",
        task_id="risk_test_failure_approval",
    )
    # Governance / SageMaker drift and a registry error from the lifecycle sync.
    drifted = out.model_ids["CardFraud-Model/3"]
    out.drift_model = drifted
    inventory.record_sync_issue(
        kind=SyncIssueKind.DRIFT,
        dedup_key=f"drift/{drifted}/1",
        detail="SageMaker showed Deployment/Complete (Deployed) but governance has the model in Validation "
        "Complete; governance's value was written back.",
        business_entity="retail-bank",
        model=drifted,
    )
    inventory.record_sync_issue(
        kind=SyncIssueKind.REGISTRY_ERROR,
        dedup_key="registry/insurance/throttled",
        detail="ThrottlingException from sagemaker:Search after 5 attempts; the next reconcile retries.",
        business_entity="insurance",
    )
    # Monitoring values with thresholds, over a week.
    for model_id in list(out.model_ids.values())[:6]:
        for day in range(7, 0, -1):
            value = 0.78 - 0.015 * day if model_id % 2 else 0.83 + 0.002 * day
            inventory.record_metric(
                model_id,
                name="auc",
                value=value,
                recorded_at=now - timedelta(days=day),
                source="sagemaker-model-monitor",
                threshold=0.75,
                passed=value >= 0.75,
            )
    # Back-date some open approvals past the SLA.
    with inventory.engine.begin() as conn:
        conn.execute(
            update(Approval)
            .where(Approval.jira_key.in_(out.overdue_keys))
            .values(created_at=now - timedelta(hours=200))
        )
    return out
