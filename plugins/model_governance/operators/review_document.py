"""Step 5 of the MLC: render the model review document from the snapshot and its risk test report, store it
in S3 under the snapshot (by SHA-256) and record it in the inventory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from model_governance.config import ApprovalKind
from model_governance.exceptions import InvalidInputError
from model_governance.operators.base import ModelOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.documents.context import ReviewContext
    from model_governance.inventory import Snapshot

ASSET_ROLES = ("BASELINE_DATA", "COMPARATOR_DATA", "RISK_TEST_SCHEMA")


class RenderReviewDocumentOperator(ModelOperator):
    """Render the review document (HTML, Markdown, PDF) and store it; returns where each file went.

    The document is deterministic: it prints no time but the risk test run's, so a re-run renders the same
    bytes, finds them already stored and records nothing new.
    """

    template_fields: Sequence[str] = ("model_id", "snapshot_id")

    def __init__(
        self, *, snapshot_id: int | str, formats: Sequence[str] = ("html", "markdown", "pdf"), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot_id = snapshot_id
        self.formats = formats

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.documents.review import render_review_document
        from model_governance.documents.store import keep_document

        snapshot = self.inventory.get_snapshot(int(self.snapshot_id))
        review = self.review_context(context, snapshot)
        rendered = render_review_document(
            review, formats=self.formats, templates_dir=self.config.templates_dir
        )
        prefix = _snapshot_prefix(snapshot.uri, self.config.governance_bucket)
        files: dict[str, dict[str, Any]] = {}
        for fmt, document in sorted(rendered.items()):
            stored = keep_document(self.evidence, prefix, document, self.inventory, self.model, snapshot.id)
            files[document.filename] = {"format": fmt, "uri": stored.uri, "sha256": document.sha256}
        self.log.info("Review document stored: %s", ", ".join(f["uri"] for f in files.values()))
        # Reviewers open the HTML or the PDF from the ticket; the Markdown stays in S3 for diffing.
        attach = {name: f["uri"] for name, f in files.items() if f["format"] != "markdown"}
        return {"files": files, "attachment_uris": attach}

    def review_context(self, context: Context, snapshot: Snapshot) -> ReviewContext:
        from model_governance.documents.context import (
            ApprovalRecord,
            DecisionRequest,
            Links,
            ReviewContext,
            as_report,
        )
        from model_governance.ticket_context import model_info, snapshot_info, use_case_info

        run = self.inventory.latest_risk_test_run(self.model)
        if run is None or run.report is None or run.snapshot_id not in (None, snapshot.id):
            raise InvalidInputError(
                f"Model {self.model.id} has no risk test report for snapshot {snapshot.id}; run the standard "
                "risk tests first."
            )
        use_case_id = self.inventory.use_case_of_group(self.model.model_group_id)
        approvals = [
            ApprovalRecord(
                kind=ApprovalKind(a.kind),
                jira_key=a.jira_key,
                state=a.state,
                requested_at=a.created_at,
                requested_by=a.requested_by,
                decided_by=a.decided_by,
                decided_at=a.decided_at,
            )
            for a in self.inventory.approvals(model_id=self.model.id)
        ]
        from model_governance.services.approvals import airflow_run_url

        ti = context["ti"]
        return ReviewContext(
            use_case=use_case_info(self.inventory, use_case_id),
            model=model_info(self.model),
            snapshot=snapshot_info(snapshot),
            risk_report=as_report(run.report, f"risk test run {run.run_key}"),
            generated_at=run.finished_at or run.started_at or datetime.now(UTC),
            decision=DecisionRequest(
                kind=ApprovalKind.TEST_RESULTS_REVIEW,
                approvers=self.config.jira.approver_groups.get(ApprovalKind.TEST_RESULTS_REVIEW, []),
            ),
            approvals=approvals,
            links=Links(airflow_run=airflow_run_url(self.config.airflow_base_url, ti.dag_id, ti.run_id)),
        )


def _snapshot_prefix(uri: str, bucket: str) -> str:
    """``s3://bucket/snapshots/g/1/<hash>.json`` -> ``snapshots/g/1/<hash>``: documents sit beside it."""
    head = f"s3://{bucket}/"
    if not uri.startswith(head):
        raise InvalidInputError(f"Snapshot {uri!r} is not in the governance bucket {bucket!r}.")
    key = uri[len(head) :]
    return key[: -len(".json")] if key.endswith(".json") else key
