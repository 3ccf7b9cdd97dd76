"""Scheduled revalidation of Deployed models (the ``model_revalidation`` DAG).

- ``due``: which Deployed models are due. Each has a schedule row: due one interval (``revalidation.
  interval_days`` of its use case's risk level, e.g. High 90 days) after it was deployed, or after its last
  approved revalidation. A model is picked up ``lead_days`` before it is due, once: a model with a
  revalidation still running (tests, document or the approval ticket open) is not picked again. The clock
  is injectable, so tests move it forward.
- ``test``: the standard risk tests of the model's snapshot (its baseline, schema, thresholds and suite),
  with the comparator replaced by the latest production data named by the package's customer metadata key
  ``revalidation.production_data_key`` (``PRODUCTION_DATA``), pinned by its SHA-256 as it is read; run
  where the implementation MLC runs them (``risk_tests.runner``, with ``services.risk_test_runs``): in the
  worker, or as a SageMaker Processing job (one per attempt, named from the revalidation's key and the
  attempt, so a retried task reconnects to it; ``test`` then says ``AwaitJob`` and ``job_ended`` reads
  the report the job wrote). The report is stored under its content hash and recorded as a risk test run
  of this task (``<dag>/<run>/<task>/revalidation``).
- ``document``: the revalidation document, the review document's context (``services.review_context``)
  over this revalidation's report, rendered with its revalidation template variants
  (``review_document/revalidation.html.j2`` and ``revalidation.md.j2``; the PDF from the HTML), each stored
  beside the snapshot and recorded.
- The REVALIDATION approval ticket is opened and decided through the approval service, like every gate
  (the operator is a ``JiraApprovalOperator``). ``decided``: Done records the revalidation and moves the
  due date one interval on; the approval expires then and the model is due (and later overdue) again.

No Airflow here: the inventory, settings, the S3 client, evidence store and jobs hook of the model's
business entity, the registry and the clock are passed in.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from model_governance.config import ApprovalKind
from model_governance.exceptions import (
    ConfigurationError,
    InvalidInputError,
    ModelGovernanceError,
    RegistryError,
)
from model_governance.lifecycle import GovernanceStatus
from model_governance.services.risk_tests import AwaitJob
from model_governance.snapshots import COMPARATOR_DATA
from model_governance.workloads import (
    JOB_RUNNING,
    JOB_SUCCEEDED,
    job_failure,
    job_report_location,
    keyed_job_name,
)

if TYPE_CHECKING:
    from model_governance.approvals import Decision
    from model_governance.config import GovernanceConfig
    from model_governance.inventory import Inventory, Model, Snapshot
    from model_governance.pinned_data import DataPin
    from model_governance.risk_tests import RiskTestReport
    from model_governance.services.evidence_store import EvidenceStore
    from model_governance.snapshots import RiskTestPlan

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
        jobs: Any = None,
    ) -> None:
        self.inventory = inventory
        self.config = config
        self.clock = clock
        self.s3_client = s3_client
        self.aws_conn_id = aws_conn_id
        self.evidence = evidence
        self.registry = registry
        self.workers = workers
        self.jobs = jobs  # the entity's SageMakerJobsHook (the Processing job runner)

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

    def test(self, model: Model, run_key: str) -> dict[str, Any] | AwaitJob:
        """The standard risk tests on the production data against the snapshot's baseline (once per key):
        the result, or (``risk_tests.runner`` ``processing``) the Processing job to wait for first."""
        done = self._tests_done(model, run_key)
        if done is not None:
            return done
        snapshot = self.snapshot(model)
        if self.config.risk_tests.runner == "processing":
            return self._test_as_job(model, run_key, snapshot)
        from model_governance.services import risk_test_runs as runs

        tests_key = f"{run_key}/revalidation"
        plan = self._pinned_plan(model, snapshot)
        pin = plan.pins[COMPARATOR_DATA]
        self.inventory.start_risk_test_run(model, run_key=tests_key, snapshot_id=snapshot.id)
        try:
            report = runs.run_in_worker(
                self.s3_client, self.aws_conn_id, plan, snapshot, workers=self.workers
            )
        except Exception as exc:
            self.fail(run_key, _production_data_refusal(exc, pin.role, pin.uri), exc)
        return self._record(run_key, snapshot, report, pin.uri)

    def job_ended(self, model: Model, run_key: str, attempt: Any, job_name: Any) -> dict[str, Any] | AwaitJob:
        """Back from waiting on this revalidation's Processing job (the operator checked the trigger's
        event): the job read again. Anything but a Completed job whose report shows it tested the pins
        raises, the revalidation recorded FAILED (not running), so a retry or the next daily run tests again.
        """
        if (
            isinstance(attempt, bool)
            or not isinstance(attempt, int)
            or attempt < 1
            or job_name != revalidation_job_name(run_key, attempt)
        ):
            raise RegistryError(
                f"Processing job {job_name!r} is not attempt {attempt!r} of revalidation {run_key!r}. Clear "
                "the task to reconnect to its Processing job."
            )
        done = self._tests_done(model, run_key)  # a trigger fired twice, or a retry finished it meanwhile
        if done is not None:
            return done
        assert self.jobs is not None
        described = self.jobs.describe_processing_job(job_name)
        if described is None:
            raise RegistryError(
                f"SageMaker no longer describes Processing job {job_name} (revalidation {run_key!r}); clear "
                "the task to run the tests as a new job."
            )
        return self._after_job(model, run_key, self.snapshot(model), described, attempt)

    # -- the tests' steps ---------------------------------------------------------------------------------

    def _tests_done(self, model: Model, run_key: str) -> dict[str, Any] | None:
        tests_key = f"{run_key}/revalidation"
        done = [
            r
            for r in self.inventory.risk_test_runs(model, run_key_prefix=tests_key)
            if r.run_key == tests_key
        ]
        if done and done[0].state == "SUCCEEDED":
            return {"run_key": tests_key, "passed": done[0].passed, "report_uri": done[0].report_uri}
        return None

    def _pinned_plan(self, model: Model, snapshot: Snapshot) -> RiskTestPlan:
        """The snapshot's plan with the comparator replaced by the production data, pinned now by its
        SHA-256 (and version) and named as what it is (``PRODUCTION_DATA``) in a refusal."""
        from model_governance.pinned_data import DataPin, object_sha256
        from model_governance.snapshots import parse_s3_uri

        assert self.s3_client is not None
        uri = self.production_data(model)
        asset = self.config.revalidation.production_data_key
        location = parse_s3_uri(uri, what=f"{asset} of {model.package_arn}")
        head = self.s3_client.head_object(Bucket=location.bucket, Key=location.key)
        version = head.get("VersionId") if head.get("VersionId") not in (None, "null") else None
        etag = str(head.get("ETag", "")).strip('"')
        sha = object_sha256(
            self.s3_client, location.bucket, location.key, version_id=version, etag=etag, what=asset
        )
        return _with_production(
            snapshot, DataPin(asset, uri, sha, version, etag, int(head.get("ContentLength", 0)))
        )

    def _record(self, run_key: str, snapshot: Snapshot, report: RiskTestReport, uri: str) -> dict[str, Any]:
        """The tests ran: the report stored under its content hash beside the snapshot, and recorded."""
        from model_governance.snapshots import canonical_json, report_key

        assert self.evidence is not None
        tests_key = f"{run_key}/revalidation"
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

    def fail(self, run_key: str, error: Exception, cause: Exception | None = None) -> NoReturn:
        """Raise ``error`` for this revalidation's tests, recorded, the revalidation no longer running: a
        retry runs it again, and a model whose task failed for good is picked up by the next daily run (not
        held by a run that stopped)."""
        tests_key = f"{run_key}/revalidation"
        self.inventory.finish_risk_test_run(
            tests_key, passed=None, error=f"{type(error).__name__}: {error}"[:4000]
        )
        self.inventory.update_revalidation(run_key, state="FAILED", risk_test_run_key=tests_key)
        if cause is None or error is cause:
            raise error
        raise error from cause

    # -- the Processing job runner ------------------------------------------------------------------------

    def _test_as_job(self, model: Model, run_key: str, snapshot: Snapshot) -> dict[str, Any] | AwaitJob:
        """Reconnect to this revalidation's job, or submit it: one job per attempt, named from the key and
        the attempt. A job an earlier try saw fail (that try recorded and raised it) is not waited on again:
        the retry is the next attempt, a new job."""
        from model_governance.exceptions import PinnedDataChangedError
        from model_governance.registry import MetadataKey
        from model_governance.services import risk_test_runs as runs

        assert self.jobs is not None and self.evidence is not None
        attempt = 1
        while True:
            name = revalidation_job_name(run_key, attempt)
            described = self.jobs.describe_processing_job(name)
            if described is None:
                break
            if described.get("ProcessingJobStatus") in JOB_RUNNING or (
                described.get("ProcessingJobStatus") == JOB_SUCCEEDED
            ):
                log.info("Revalidation %s: reconnected to Processing job %s", run_key, name)
                return self._after_job(model, run_key, snapshot, described, attempt)
            attempt += 1
        plan = self._pinned_plan(model, snapshot)
        pin = plan.pins[COMPARATOR_DATA]
        self.inventory.start_risk_test_run(model, run_key=f"{run_key}/revalidation", snapshot_id=snapshot.id)
        try:
            runs.check_pins(self.s3_client, self.aws_conn_id, plan)
        except PinnedDataChangedError as exc:
            self.fail(run_key, _production_data_refusal(exc, pin.role, pin.uri), exc)
        tags: dict[str, str] = {
            MetadataKey.MODEL_ID: str(model.id),
            MetadataKey.SNAPSHOT_ID: str(snapshot.id),
        }
        request = runs.job_request(name, plan, self.config.risk_tests, self.evidence, tags=tags)
        try:
            described, created = self.jobs.ensure_processing_job(request)
        except ModelGovernanceError as exc:
            self.fail(run_key, exc)
        log.info("Revalidation %s: %s Processing job %s", run_key, "submitted" if created else "found", name)
        return self._after_job(model, run_key, snapshot, described, attempt)

    def _after_job(
        self, model: Model, run_key: str, snapshot: Snapshot, described: Mapping[str, Any], attempt: int
    ) -> dict[str, Any] | AwaitJob:
        from model_governance.exceptions import RiskTestJobError
        from model_governance.services import risk_test_runs as runs

        assert self.evidence is not None
        name = str(described.get("ProcessingJobName"))
        status = described.get("ProcessingJobStatus")
        if status in JOB_RUNNING:
            return AwaitJob(name, attempt)
        asset = self.config.revalidation.production_data_key
        # What the job was given is what it tested, whatever the package's metadata says now.
        pin = runs.job_pin(described, "comparator", asset)
        if status != JOB_SUCCEEDED:
            reason = job_failure(described)
            refused = runs.container_refusal(reason)
            if refused is not None and pin is not None:
                self.fail(run_key, _production_data_refusal(refused, asset, pin.uri, role=COMPARATOR_DATA))
            retry = revalidation_job_name(run_key, attempt + 1)
            self.fail(
                run_key,
                RiskTestJobError(
                    f"The revalidation risk tests of {model.package_arn} did not run: {reason}. Nothing was "
                    "tested; no document or ticket was made. Fix what the reason names (the image "
                    "risk_tests.image_uri, the role risk_tests.role_arn, the instance, or the data), then "
                    f"clear the task: its next try runs the tests as a new job, {retry} (Airflow's retries "
                    "do too)."
                ),
            )
        if pin is None:
            self.fail(
                run_key,
                RiskTestJobError(
                    f"Processing job {name} was not given pinned production data (no --comparator-sha256 in "
                    "its arguments; not submitted by this version of the revalidation), so its report cannot "
                    "stand for this revalidation. The next daily run revalidates the model with a new job."
                ),
            )
        location = job_report_location(self.evidence.bucket, name)
        try:
            report = runs.read_job_report(self.evidence, location)
            report = runs.add_job_provenance(
                report, _with_production(snapshot, pin), snapshot, described, location
            )
        except ModelGovernanceError as exc:
            error = RiskTestJobError(
                f"Processing job {name} of the revalidation of {model.package_arn} completed, but {exc}"
            )
            self.fail(run_key, error, exc)
        return self._record(run_key, snapshot, report, pin.uri)

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


def _production_data_refusal(exc: Exception, asset: str, uri: str, *, role: str | None = None) -> Exception:
    """The production data changed between its pin and the read: said as such (the pinned data error
    speaks of a snapshot, which did not pin it here); any other failure as it is. ``role``: how the error
    names the data (a Processing job's container calls it COMPARATOR_DATA)."""
    from model_governance.exceptions import PinnedDataChangedError

    prefix = f"{role or asset} {uri} changed since the snapshot was taken: "
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


def revalidation_job_name(run_key: str, attempt: int) -> str:
    """The Processing job of one attempt of a revalidation's tests (the same on every try of the attempt)."""
    return keyed_job_name("mg-revalidation", run_key, attempt)


def _with_production(snapshot: Snapshot, pin: DataPin) -> RiskTestPlan:
    """The snapshot's plan (baseline, schema, thresholds, suite) with the production data as comparator."""
    from model_governance.snapshots import S3Location
    from model_governance.snapshots import risk_test_plan as plan_of

    plan = plan_of(snapshot.manifest, snapshot=f"{snapshot.id} ({snapshot.uri})")
    return replace(
        plan,
        comparator=S3Location(pin.bucket, pin.key),
        pins={**plan.pins, COMPARATOR_DATA: pin},
        digests={
            **plan.digests,
            COMPARATOR_DATA: {"uri": pin.uri, "sha256": pin.sha256, "version_id": pin.version_id},
        },
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
