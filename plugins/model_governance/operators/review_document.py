"""Step 5 of the MLC: render the model review document from the snapshot and its risk test report, store it
in S3 under the snapshot (by SHA-256) and record it in the inventory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from model_governance.exceptions import InvalidInputError
from model_governance.operators.base import ModelOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.documents.context import ReviewContext
    from model_governance.inventory import Snapshot


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
        accepted = self._accepted_documents(snapshot.id)
        if accepted:
            # The review of this snapshot accepted its documents already (a cleared, re-run DAG run): they
            # are the evidence; rendering now would print the later approvals and make other documents.
            self.log.info(
                "The review accepted the documents of snapshot %s already: not rendered again", snapshot.id
            )
            return self._result(accepted)
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
        return self._result(files)

    @staticmethod
    def _result(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
        # Reviewers open the HTML or the PDF from the ticket; the Markdown stays in S3 for diffing.
        attach = {name: f["uri"] for name, f in files.items() if f["format"] != "markdown"}
        return {"files": files, "attachment_uris": attach}

    def _accepted_documents(self, snapshot_id: int) -> dict[str, dict[str, Any]]:
        """The review documents of the snapshot that its test results review accepted, as ``execute``
        returns them (file name -> format, URI, SHA-256); empty when the review has not accepted any."""
        from model_governance.documents.review import DOCUMENT_KIND, MEDIA_TYPES, document_filename

        formats = {media: fmt for fmt, media in MEDIA_TYPES.items()}
        files: dict[str, dict[str, Any]] = {}
        for document in self.inventory.documents(self.model, snapshot_id=snapshot_id):
            fmt = formats.get(document.media_type)
            if (
                fmt is not None
                and fmt in self.formats
                and document.kind == DOCUMENT_KIND
                and document.approved
            ):
                name = document_filename(self.model.model_group.name, self.model.version, fmt)
                files[name] = {"format": fmt, "uri": document.uri, "sha256": document.sha256}
        return files

    def review_context(self, context: Context, snapshot: Snapshot) -> ReviewContext:
        """Everything the document shows, from the inventory, the snapshot and the package's metrics
        reports in S3 (services/review_context.py)."""
        from model_governance.services.approvals import airflow_run_url
        from model_governance.services.review_context import build_review_context

        ti = context["ti"]
        return build_review_context(
            self.inventory,
            self.model,
            snapshot,
            s3=self.entity.s3_client,
            settings=self.config,
            airflow_run_url=airflow_run_url(self.config.airflow_base_url, ti.dag_id, ti.run_id),
        )


def _snapshot_prefix(uri: str, bucket: str) -> str:
    """``s3://bucket/snapshots/g/1/<hash>.json`` -> ``snapshots/g/1/<hash>``: documents sit beside it."""
    head = f"s3://{bucket}/"
    if not uri.startswith(head):
        raise InvalidInputError(f"Snapshot {uri!r} is not in the governance bucket {bucket!r}.")
    key = uri[len(head) :]
    return key[: -len(".json")] if key.endswith(".json") else key
