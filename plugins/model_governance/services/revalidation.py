"""Scheduled revalidation of Deployed models (the ``model_revalidation`` DAG).

- ``due``: which Deployed models are due. Each has a schedule row: due one interval (``revalidation.
  interval_days`` of its use case's risk level, e.g. High 90 days) after it was deployed, or after its last
  approved revalidation. A model is picked up ``lead_days`` before it is due, once: a model with a
  revalidation still running (tests, document or the approval ticket open) is not picked again. The clock
  is injectable, so tests move it forward.
- ``test``: the standard risk tests of the model's snapshot (its baseline, schema, thresholds and suite),
  with the comparator replaced by the latest production data named by the package's customer metadata key
  ``revalidation.production_data_key`` (``PRODUCTION_DATA``), pinned by its SHA-256 as it is read; run by
  the same worker runner as the implementation MLC (``services.risk_test_runs.run_in_worker``), stored and
  recorded as a risk test run of this task (``<dag>/<run>/<task>/revalidation``).
- ``document``: the revalidation document, the review document's context (``services.review_context``)
  over this revalidation's report, rendered with its revalidation template variants
  (``review_document/revalidation.html.j2`` and ``revalidation.md.j2``; the PDF from the HTML), each stored
  beside the snapshot and recorded.
- The REVALIDATION approval ticket is opened and decided through the approval service, like every gate
  (the operator is a ``JiraApprovalOperator``). ``decided``: Done records the revalidation and moves the
  due date one interval on; the approval expires then and the model is due (and later overdue) again.

No Airflow here: the inventory, settings, the S3 client and evidence store of the model's business entity,
the registry and the clock are passed in.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from model_governance.config import ApprovalKind
from model_governance.exceptions import ConfigurationError, InvalidInputError
from model_governance.lifecycle import GovernanceStatus

if TYPE_CHECKING:
    from model_governance.approvals import Decision
    from model_governance.config import GovernanceConfig
    from model_governance.inventory import Inventory, Model, Snapshot
    from model_governance.services.evidence_store import EvidenceStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DOCUMENT_KIND = "revalidation"
TEMPLATE = "review_document/revalidation.md.j2"
#: Format -> (template, file extension); the PDF is made from the HTML, as the review document's.
TEMPLATES = {
    "html": ("review_document/revalidation.html.j2", "html"),
    "markdown": (TEMPLATE, "md"),
}


def _now() -> datetime:
    return datetime.now(UTC)


def revalidation_key(dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str:
    """The key of one task's revalidation (mapped tasks: the model is part of the key anyway)."""
    return f"{dag_id}/{run_id}/{task_id}" + (f"/{map_index}" if map_index not in (None, -1) else "")


@dataclass(frozen=True)
class Due:
    model_id: int
    due_at: datetime
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "due_at": self.due_at.isoformat(), "overdue": self.overdue}


class RevalidationService:
    """Which models are due, and one model's revalidation (see the module docstring)."""

    def __init__(
        self,
        *,
        inventory: Inventory,
        config: GovernanceConfig,
        clock: Clock = _now,
        s3_client: Any = None,
        aws_conn_id: str | None = None,
        evidence: EvidenceStore | None = None,
        registry: Any = None,
        workers: int | None = None,
    ) -> None:
        self.inventory = inventory
        self.config = config
        self.clock = clock
        self.s3_client = s3_client
        self.aws_conn_id = aws_conn_id
        self.evidence = evidence
        self.registry = registry
        self.workers = workers

    # -- which models are due -----------------------------------------------------------------------------

    def interval(self, model: Model) -> int:
        use_case = self.inventory.get_use_case(self.inventory.use_case_of_group(model.model_group_id))
        return self.config.revalidation.interval(use_case.risk_level)

    def deployed_at(self, model: Model) -> datetime:
        """When the model last became Deployed (its status history)."""
        times = [
            event.created_at
            for event in self.inventory.status_history(model)
            if event.to_status == GovernanceStatus.DEPLOYED.value
        ]
        return max(times) if times else model.updated_at

    def refresh_schedule(self, model: Model) -> datetime:
        """The model's due date, its schedule row created (deployed + interval) or kept in step with the
        interval of its risk level (last revalidation + interval)."""
        days = self.interval(model)
        row = self.inventory.revalidation_schedule(model.id)
        start = (
            row.last_revalidated_at
            if row is not None and row.last_revalidated_at
            else self.deployed_at(model)
        )
        due_at = start + timedelta(days=days)
        if row is None or row.due_at != due_at or row.interval_days != days:
            self.inventory.schedule_revalidation(model.id, due_at=due_at, interval_days=days)
        return due_at

    def due(self, *, limit: int | None = None) -> list[Due]:
        """Deployed models due within ``lead_days`` (overdue first), none with a revalidation running."""
        now = self.clock()
        lead = timedelta(days=self.config.revalidation.lead_days)
        running = self.inventory.revalidations_in_flight()
        found: list[Due] = []
        after = 0
        while True:
            page = self.inventory.list_models(status=GovernanceStatus.DEPLOYED, limit=500, after_id=after)
            if not page:
                break
            for model in page:
                due_at = self.refresh_schedule(model)
                if model.id not in running and due_at - lead <= now:
                    found.append(Due(model.id, due_at, due_at <= now))
            after = page[-1].id
        found.sort(key=lambda d: d.due_at)
        return found[: limit or self.config.revalidation.max_per_run]

    # -- one model's revalidation -------------------------------------------------------------------------

    def start(self, model: Model, run_key: str) -> Any:
        due_at = self.refresh_schedule(model)
        return self.inventory.start_revalidation(model.id, run_key=run_key, due_at=due_at)

    def snapshot(self, model: Model) -> Snapshot:
        snapshot = self.inventory.approved_snapshot(model) or self.inventory.latest_snapshot(model)
        if snapshot is None:
            raise InvalidInputError(
                f"Model {model.package_arn} has no snapshot to revalidate against; it did not go through the "
                "implementation life cycle."
            )
        return snapshot

    def production_data(self, model: Model) -> str:
        """The ``s3://`` URI of the latest production data, from the package's customer metadata."""
        key = self.config.revalidation.production_data_key
        package = self.registry.describe_model_package(model.package_arn)
        uri = (package.get("CustomerMetadataProperties") or {}).get(key)
        if not uri:
            raise ConfigurationError(
                f"Model package {model.package_arn} has no customer metadata {key!r}: set it to the s3:// "
                "URI of the latest production data (Parquet or CSV, the baseline's schema) to revalidate it."
            )
        return str(uri)

    def test(self, model: Model, run_key: str) -> dict[str, Any]:
        """The standard risk tests on the production data against the snapshot's baseline (once per key)."""
        from model_governance.pinned_data import DataPin, object_sha256
        from model_governance.services import risk_test_runs as runs
        from model_governance.snapshots import COMPARATOR_DATA, canonical_json, parse_s3_uri, report_key
        from model_governance.snapshots import risk_test_plan as plan_of

        assert self.evidence is not None and self.s3_client is not None
        tests_key = f"{run_key}/revalidation"
        done = [
            r
            for r in self.inventory.risk_test_runs(model, run_key_prefix=tests_key)
            if r.run_key == tests_key
        ]
        if done and done[0].state == "SUCCEEDED":
            return {"run_key": tests_key, "passed": done[0].passed, "report_uri": done[0].report_uri}
        snapshot = self.snapshot(model)
        uri = self.production_data(model)
        location = parse_s3_uri(
            uri, what=f"{self.config.revalidation.production_data_key} of {model.package_arn}"
        )
        head = self.s3_client.head_object(Bucket=location.bucket, Key=location.key)
        version = head.get("VersionId") if head.get("VersionId") not in (None, "null") else None
        etag = str(head.get("ETag", "")).strip('"')
        sha = object_sha256(
            self.s3_client,
            location.bucket,
            location.key,
            version_id=version,
            etag=etag,
            what="PRODUCTION_DATA",
        )
        # The production data stands in the comparator's place, but is named as what it is in a refusal.
        asset = self.config.revalidation.production_data_key
        pin = DataPin(asset, uri, sha, version, etag, int(head.get("ContentLength", 0)))
        plan = plan_of(snapshot.manifest, snapshot=f"{snapshot.id} ({snapshot.uri})")
        plan = replace(
            plan,
            comparator=location,
            pins={**plan.pins, COMPARATOR_DATA: pin},
            digests={**plan.digests, COMPARATOR_DATA: {"uri": uri, "sha256": sha, "version_id": version}},
        )
        self.inventory.start_risk_test_run(model, run_key=tests_key, snapshot_id=snapshot.id)
        try:
            report = runs.run_in_worker(
                self.s3_client, self.aws_conn_id, plan, snapshot, workers=self.workers
            )
        except Exception as exc:
            refusal = _production_data_refusal(exc, asset, uri)
            # Recorded, and the revalidation is no longer running: a retry runs it again, and a model whose
            # task failed for good is picked up by the next daily run (not held by a run that stopped).
            self.inventory.finish_risk_test_run(
                tests_key, passed=None, error=f"{type(refusal).__name__}: {refusal}"[:4000]
            )
            self.inventory.update_revalidation(run_key, state="FAILED", risk_test_run_key=tests_key)
            if refusal is exc:
                raise
            raise refusal from exc
        body = canonical_json(report.to_dict())
        stored = self.evidence.put(
            report_key(snapshot.uri, self.evidence.bucket, hashlib.sha256(body).hexdigest()),
            body,
            what="the revalidation risk test report",
        )
        self.inventory.finish_risk_test_run(
            tests_key, passed=report.passed, report=report.to_dict(), report_uri=stored.uri
        )
        self.inventory.update_revalidation(run_key, risk_test_run_key=tests_key, passed=report.passed)
        return {
            "run_key": tests_key,
            "passed": report.passed,
            "report_uri": stored.uri,
            "production_data": uri,
        }

    def document(self, model: Model, run_key: str, *, airflow_run_url: str | None = None) -> dict[str, Any]:
        """Render the revalidation document (HTML, Markdown and the PDF made from the HTML, as the review
        document) from this revalidation's own report, store each beside the snapshot, record them."""
        from model_governance.documents.context import DecisionRequest, as_report
        from model_governance.documents.environment import TemplateSet
        from model_governance.documents.pdf import html_to_pdf
        from model_governance.documents.review import RenderedDocument, build_review_variables
        from model_governance.documents.store import keep_document
        from model_governance.services.review_context import approval_policy, build_review_context

        assert self.evidence is not None and self.s3_client is not None
        snapshot = self.snapshot(model)
        tests = self._tests_run(model, run_key)
        ctx = build_review_context(
            self.inventory,
            model,
            snapshot,
            s3=self.s3_client,
            settings=self.config,
            airflow_run_url=airflow_run_url,
        )
        ctx = replace(
            ctx,
            decision=DecisionRequest(kind=ApprovalKind.REVALIDATION),
            # This revalidation's report, whatever ran for the model since.
            risk_report=as_report(tests.report, f"risk test run {tests.run_key}"),
            generated_at=tests.finished_at or tests.started_at or ctx.generated_at,
            policy=approval_policy(self.config, ctx.use_case.risk_level, tests.report),
        )
        row = self.inventory.revalidation_schedule(model.id)
        comparator = (tests.report.get("inputs") or {}).get("comparator") or {}
        variables = dict(build_review_variables(ctx))
        variables["revalidation"] = {
            "due_at": row.due_at.strftime("%Y-%m-%d") if row else "unknown",
            "interval_days": self.interval(model),
            "previous": row.last_revalidated_at.strftime("%Y-%m-%d")
            if row and row.last_revalidated_at
            else None,
            "production_data": comparator.get("source") or self.production_data(model),
            "production_sha256": comparator.get("sha256"),
        }
        templates = TemplateSet(self.config.templates_dir)
        placeholder = str(variables["document"]["sha256"])
        stem = f"model-revalidation-{model.model_group.name}-v{model.version}"
        rendered: list[RenderedDocument] = []
        for fmt, (template, extension) in TEMPLATES.items():
            text = templates.render(template, "html" if fmt == "html" else "markdown", variables)
            content, body_sha = _seal(text, placeholder, template)
            rendered.append(_rendered(fmt, f"{stem}.{extension}", content, body_sha))
        html = rendered[0]
        pdf = html_to_pdf(html.content.decode("utf-8"), created=ctx.generated_at)
        rendered.append(_rendered("pdf", f"{stem}.pdf", pdf, html.body_sha256))
        prefix = snapshot.uri.split("/", 3)[3].removesuffix(".json")
        uris = {}
        for document in rendered:
            stored = keep_document(self.evidence, prefix, document, self.inventory, model, snapshot.id)
            uris[document.filename] = stored.uri
        self.inventory.update_revalidation(run_key, document_uri=uris[html.filename])
        return {"attachment_uris": uris, "sha256": {d.format: d.sha256 for d in rendered}}

    def _tests_run(self, model: Model, run_key: str) -> Any:
        """This revalidation's finished risk test run (``test`` first)."""
        key = f"{run_key}/revalidation"
        found = [r for r in self.inventory.risk_test_runs(model, run_key_prefix=key) if r.run_key == key]
        if not found or found[0].report is None:
            raise InvalidInputError(
                f"Revalidation {run_key!r} of {model.package_arn} has no risk test report; run its tests "
                "first."
            )
        return found[0]

    def decided(self, model: Model, run_key: str, decision: Decision) -> dict[str, Any]:
        """Done: revalidated now, valid one interval, next due then. Rejected: recorded; still due."""
        from model_governance.approvals import Outcome

        days = self.interval(model)
        at = decision.decided_at
        if decision.outcome is Outcome.APPROVED:
            valid_until = at + timedelta(days=days)
            self.inventory.update_revalidation(
                run_key, state="APPROVED", decided_at=at, valid_until=valid_until, jira_key=decision.issue_key
            )
            self.inventory.schedule_revalidation(
                model.id,
                due_at=valid_until,
                interval_days=days,
                last_revalidated_at=at,
                approval_jira_key=decision.issue_key,
            )
            return {"outcome": "APPROVED", "valid_until": valid_until.isoformat()}
        self.inventory.update_revalidation(
            run_key, state="REJECTED", decided_at=at, jira_key=decision.issue_key
        )
        return {"outcome": "REJECTED"}


def _production_data_refusal(exc: Exception, asset: str, uri: str) -> Exception:
    """The production data changed between its pin and the read: said as such (the pinned data error
    speaks of a snapshot, which did not pin it here); any other failure as it is."""
    from model_governance.exceptions import PinnedDataChangedError

    prefix = f"{asset} {uri} changed since the snapshot was taken: "
    message = str(exc)
    if not isinstance(exc, PinnedDataChangedError) or not message.startswith(prefix):
        return exc
    found = message[len(prefix) :].split(". ", 1)[0]
    return PinnedDataChangedError(
        f"{asset} {uri} changed while the revalidation read it: pinned when the revalidation started, "
        f"{found}. Nothing was tested on it. Write the production sample once and leave it unchanged (or put "
        f"each sample under a new key and set {asset} to it), then clear the revalidation task: it pins the "
        "data as it is then."
    )


def _rendered(fmt: str, filename: str, content: bytes, body_sha256: str) -> Any:
    from model_governance.documents.review import MEDIA_TYPES, RenderedDocument

    return RenderedDocument(
        kind=DOCUMENT_KIND,
        format=fmt,
        media_type=MEDIA_TYPES[fmt],
        filename=filename,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        body_sha256=body_sha256,
    )


def _seal(text: str, placeholder: str, template: str = TEMPLATE) -> tuple[bytes, str]:
    """As the review document: hash everything above the footer marker, print the hash in the footer."""
    from model_governance.documents.review import FOOTER_MARKER

    if text.count(FOOTER_MARKER) != 1:
        raise ConfigurationError(
            f"Template {template!r} must contain the footer marker {FOOTER_MARKER!r} once."
        )
    head, _, footer = text.partition(FOOTER_MARKER)
    body = head.encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    return body + (FOOTER_MARKER + footer.replace(placeholder, digest)).encode("utf-8"), digest
