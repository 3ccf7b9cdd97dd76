"""Step 4 of the MLC: run the standard risk tests on a snapshot's data, in the worker or as a SageMaker
Processing job (setting ``risk_tests.runner``).

The snapshot's manifest says what to test: the BASELINE_DATA, COMPARATOR_DATA and RISK_TEST_SCHEMA objects,
the risk test suite version and the thresholds of the use case's risk level. The objects are read through
the business entity's Amazon connection (``S3Hook``) into a temporary folder and handed to the engine as
local files, so the engine needs no AWS settings of its own; the report names the ``s3://`` URIs and, per
input, the ETag, size and SHA-256 actually tested and whether they still match the snapshot.

With ``risk_tests.runner = "processing"`` the same engine runs in a SageMaker Processing job instead
(``python -m model_governance.risk_tests`` in the configured image, see ``model_governance.workloads``):
SageMaker downloads the inputs and uploads the report to the governance bucket; the task waits in the
triggerer and then reads the report (the inputs' ETag and size are checked against the snapshot; their
SHA-256 is not known to the task). The job's name is derived from dag_id, run_id, task_id and the attempt
(never the try number), so a retried or cleared task reconnects to its job instead of submitting another.
A job that ends Failed or Stopped is a job that failed to run: its ticket carries SageMaker's reason.

Outcomes:

- The tests ran (passed or not): the report is stored in S3 under its SHA-256 beside the snapshot, the run
  is recorded SUCCEEDED in the inventory, and the task returns ``{"run_key", "attempt", "passed",
  "report_uri", "failed_tests"}``. Failed tests are not a task failure: the review decides.
- The job could not run (missing or unreadable data, a bad schema, an engine error): the run is recorded
  FAILED with the error, a RISK_TEST_FAILURE ticket carrying the error is opened in Jira (one per attempt,
  found again by its marker on retries) and the task defers until the ticket is decided. Done runs the
  tests again (re-reading the data) as the next attempt; Rejected stops with ``ApprovalRejectedError``.
  After ``max_reruns`` re-runs, a job that still fails opens its ticket, says there that no re-run is left,
  and fails the task.

Attempts are recorded under ``run_key = dag_id/run_id/task_id/attempt-N`` (N counts re-runs, never the
try number), so a retried or cleared task resumes where the run stands: a finished attempt is returned as
recorded, a failed one goes back to waiting on its ticket, one left running by a lost worker is run again.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

from botocore.exceptions import ClientError

from model_governance.approvals import Decision, Outcome, failed_gated_tests
from model_governance.config import ApprovalKind
from model_governance.exceptions import (
    ApprovalRejectedError,
    ConfigurationError,
    InvalidInputError,
    JiraError,
    ModelGovernanceError,
    NotFoundError,
    PinnedDataChangedError,
    RegistryError,
    RiskTestInputError,
    RiskTestJobError,
)
from model_governance.lifecycle import GovernanceStatus
from model_governance.operators.model_lifecycle import _ModelOperator
from model_governance.pinned_data import (
    DataPin,
    FetchedObject,
    check_pinned,
    fetch_pinned,
    object_sha256,
)
from model_governance.pinned_data import changed as pinned_changed
from model_governance.registry import MetadataKey
from model_governance.snapshots import (
    ASSET_KEYS,
    BASELINE_DATA,
    COMPARATOR_DATA,
    RISK_TEST_SCHEMA,
    RiskTestPlan,
    S3Location,
    canonical_json,
    report_key,
    risk_test_plan,
)
from model_governance.workloads import (
    JOB_RUNNING,
    JOB_SUCCEEDED,
    ProcessingSettings,
    job_failure,
    job_report_location,
    risk_test_job_name,
    risk_test_job_request,
    thresholds_key,
)

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from model_governance.hooks.jira import JiraHook
    from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook
    from model_governance.inventory import RiskTestRun, Snapshot
    from model_governance.risk_tests import RiskTestReport
    from model_governance.services.approvals import ApprovalRequest, ApprovalService

#: Failure tickets wait for weeks; Airflow's 7-day sensor default would fail them.
WAIT_A_YEAR = timedelta(days=365)
#: TicketContext refuses longer error texts.
ERROR_LIMIT = 3900
_ATTEMPT = re.compile(r"/attempt-(\d+)$")
#: How a refused attempt's error starts (recorded in the inventory, printed by the job's container).
REFUSED = PinnedDataChangedError.__name__


def run_key_prefix(dag_id: str, run_id: str, task_id: str) -> str:
    return f"{dag_id}/{run_id}/{task_id}"


def run_key(dag_id: str, run_id: str, task_id: str, attempt: int) -> str:
    """The inventory key of one attempt of a task's risk tests (attempts count re-runs, not tries)."""
    return f"{run_key_prefix(dag_id, run_id, task_id)}/attempt-{attempt}"


def failed_test_ids(report: Mapping[str, Any] | None) -> list[str]:
    """Ids of the results that failed: the metric id, plus ``/feature`` and ``/group`` where it has them
    (the same ids the test results review's failed-tests policy looks at)."""
    return failed_gated_tests(report)


class RunRiskTestsOperator(_ModelOperator):
    """Run the standard risk tests on a snapshot; a job that fails to run opens a ticket, Done re-runs it.

    :param model_id: the inventory id of the model version (templated).
    :param snapshot_id: the inventory id of the snapshot to test (templated).
    :param max_reruns: how many times a failed job may be run again after its ticket is moved to Done.
    :param jira_conn_id: the Jira connection of the failure tickets; None takes ``jira.conn_id``.
    :param poll_interval: seconds between the shared Jira searches while waiting; None takes
        ``jira.poll_interval_seconds``.
    :param direct_check_interval: / :param search_lag_margin: as for ``JiraApprovalTrigger``.
    :param wait_timeout: how long a failure ticket may stay undecided.
    :param workers: threads of the engine (default: up to 4).
    """

    template_fields: Sequence[str] = ("model_id", "snapshot_id")
    ui_color = "#fdf3e6"

    def __init__(
        self,
        *,
        snapshot_id: int | str,
        max_reruns: int = 2,
        jira_conn_id: str | None = None,
        poll_interval: float | None = None,
        direct_check_interval: float = 1800.0,
        search_lag_margin: float = 120.0,
        wait_timeout: timedelta = WAIT_A_YEAR,
        workers: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot_id = snapshot_id
        self.max_reruns = max_reruns
        self.jira_conn_id = jira_conn_id
        self.poll_interval = poll_interval
        self.direct_check_interval = direct_check_interval
        self.search_lag_margin = search_lag_margin
        self.wait_timeout = wait_timeout
        self.workers = workers

    # -- entry points ---------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        if isinstance(self.max_reruns, bool) or not isinstance(self.max_reruns, int) or self.max_reruns < 0:
            raise InvalidInputError(
                f"max_reruns of task {self.task_id!r} is {self.max_reruns!r}; give a whole number >= 0."
            )
        from model_governance.inventory import RiskTestRunState

        snapshot, plan = self._prepare()
        ti = context["ti"]
        attempts = self._recorded_attempts(run_key_prefix(ti.dag_id, ti.run_id, ti.task_id))
        if not attempts:
            return self._attempt(context, snapshot, plan, 1)
        attempt = max(attempts)
        latest = attempts[attempt]
        if latest.state == RiskTestRunState.SUCCEEDED.value:
            self.log.info("Risk tests %s already ran; returning the recorded result", latest.run_key)
            return self._result(latest.run_key, attempt, latest.passed, latest.report_uri, latest.report)
        if latest.state == RiskTestRunState.FAILED.value and (latest.error or "").startswith(REFUSED):
            self.log.info("Risk tests %s were refused (pinned data changed); checking again", latest.run_key)
            return self._attempt(context, snapshot, plan, attempt)
        if latest.state == RiskTestRunState.FAILED.value:
            return self._after_failure(context, snapshot, attempt, latest.error or "the job failed to run")
        if self.config.risk_tests.runner == "processing":
            self.log.info("Risk tests %s are running as a Processing job; reconnecting to it", latest.run_key)
        else:
            self.log.warning(
                "Risk tests %s were left running (lost worker?); running them again", latest.run_key
            )
        return self._attempt(context, snapshot, plan, attempt)

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        attempt: int | None = None,
        issue_key: str | None = None,
        job_name: str | None = None,
    ) -> dict[str, Any]:
        if job_name is not None:
            return self._job_complete(context, event, attempt, job_name)
        return self._on_ticket_event(context, event, attempt, issue_key)

    # -- one attempt ------------------------------------------------------------------------------------

    def _prepare(self) -> tuple[Snapshot, RiskTestPlan]:
        """The snapshot and what its manifest says to test; refuses a snapshot this suite cannot run."""
        from model_governance.risk_tests import ENGINE_VERSION, resolve_thresholds

        snapshot = self.inventory.get_snapshot(int(self.snapshot_id))
        if snapshot.model_id != self.model.id:
            raise InvalidInputError(
                f"Snapshot {snapshot.id} belongs to model {snapshot.model_id}, not to model {self.model.id}; "
                "pass the snapshot_id that create_snapshot returned for this model."
            )
        plan = risk_test_plan(snapshot.manifest, snapshot=f"{snapshot.id} ({snapshot.uri})")
        if plan.suite_version != ENGINE_VERSION:
            raise ConfigurationError(
                f"Snapshot {snapshot.id} was taken for risk test suite {plan.suite_version}, but this worker "
                f"runs suite {ENGINE_VERSION}; take a new snapshot, or run the suite version it names."
            )
        resolved = resolve_thresholds(plan.risk_level, {plan.risk_level: dict(plan.overrides)})
        if canonical_json(resolved.to_dict()) != canonical_json(plan.thresholds):
            raise ConfigurationError(
                f"The thresholds in snapshot {snapshot.id} differ from what suite {ENGINE_VERSION} resolves "
                f"for risk level {plan.risk_level} with the snapshot's overrides; take a new snapshot."
            )
        return snapshot, plan

    def _attempt(
        self, context: Context, snapshot: Snapshot, plan: RiskTestPlan, attempt: int
    ) -> dict[str, Any]:
        ti = context["ti"]
        key = run_key(ti.dag_id, ti.run_id, ti.task_id, attempt)
        self.inventory.start_risk_test_run(self.model, run_key=key, snapshot_id=snapshot.id)
        self.log.info("Risk tests %s on snapshot %s (%s)", key, snapshot.id, snapshot.uri)
        if self.config.risk_tests.runner == "processing":
            return self._start_job(context, snapshot, plan, attempt)
        s3, conn_id = self._s3()
        try:
            report = self._run_suite(s3, conn_id, plan, snapshot)
        except PinnedDataChangedError as exc:
            self._refuse(context, snapshot, attempt, exc)
        except Exception as exc:  # the job failed to run: recorded, ticketed, not a bug in this task
            return self._job_failed(context, snapshot, attempt, f"{type(exc).__name__}: {exc}")
        return self._record_report(context, snapshot, attempt, report)

    def _job_failed(self, context: Context, snapshot: Snapshot, attempt: int, error: str) -> NoReturn:
        ti = context["ti"]
        key = run_key(ti.dag_id, ti.run_id, ti.task_id, attempt)
        error = error[:ERROR_LIMIT]
        self.log.error("Risk tests %s failed to run: %s", key, error)
        self.inventory.finish_risk_test_run(key, passed=None, error=error)
        self._after_failure(context, snapshot, attempt, error)

    def _record_report(
        self, context: Context, snapshot: Snapshot, attempt: int, report: RiskTestReport
    ) -> dict[str, Any]:
        """The tests ran: store the report under its hash, record the verdict, say what errored."""
        ti = context["ti"]
        key = run_key(ti.dag_id, ti.run_id, ti.task_id, attempt)
        document = report.to_dict()
        uri = self._store_report(snapshot, document)
        self.inventory.finish_risk_test_run(key, passed=report.passed, report=document, report_uri=uri)
        errored = sorted({r.test for r in report.results if r.status == "error"})
        if errored:
            self._notify(
                f"Risk tests of {self.model.package_arn}: {len(errored)} monitor(s) could not run",
                f"Run {key} on snapshot {snapshot.id}: {', '.join(errored)} ended with errors; the reviewer "
                f"sees them in the review document. Report: {uri}",
            )
        self.log.info("Risk tests %s: verdict %s, report %s", key, report.passed, uri)
        return self._result(key, attempt, report.passed, uri, document)

    @staticmethod
    def _result(
        key: str, attempt: int, passed: bool | None, uri: str | None, report: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "run_key": key,
            "attempt": attempt,
            "passed": passed,
            "report_uri": uri,
            "failed_tests": failed_test_ids(report),
        }

    # -- the Processing job runner ---------------------------------------------------------------------

    def _jobs(self) -> tuple[SageMakerJobsHook, str, str]:
        from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook

        entity = self.config.business_entity(self.inventory.business_entity_of_model(self.model).name)
        hook = SageMakerJobsHook(aws_conn_id=entity.aws_conn_id, region_name=entity.region)
        return hook, entity.aws_conn_id, entity.region

    def _start_job(
        self, context: Context, snapshot: Snapshot, plan: RiskTestPlan, attempt: int
    ) -> dict[str, Any]:
        """Submit this attempt's Processing job, or reconnect to it when an earlier try submitted it."""
        ti = context["ti"]
        name = risk_test_job_name(ti.dag_id, ti.run_id, ti.task_id, attempt)
        hook, _, _ = self._jobs()
        try:
            self._check_pins(plan)
        except PinnedDataChangedError as exc:
            self._refuse(context, snapshot, attempt, exc)
        try:
            request = self._job_request(name, plan)
            described, created = hook.ensure_processing_job(request)
        except ModelGovernanceError as exc:  # the job could not start: a failure to run, ticketed
            return self._job_failed(context, snapshot, attempt, f"{type(exc).__name__}: {exc}")
        self.log.info(
            "%s SageMaker Processing job %s (%s)",
            "Submitted" if created else "Reconnected to",
            name,
            described.get("ProcessingJobStatus"),
        )
        return self._after_job(context, snapshot, plan, attempt, described)

    def _job_request(self, name: str, plan: RiskTestPlan) -> dict[str, Any]:
        settings = self.config.risk_tests
        assert settings.image_uri is not None and settings.role_arn is not None  # checked with the settings
        thresholds = None
        if plan.overrides:
            body = canonical_json({plan.risk_level: dict(plan.overrides)})
            thresholds = S3Location(self.config.governance_bucket, thresholds_key(body))
            self._put_once(thresholds, body)
        return risk_test_job_request(
            job_name=name,
            settings=ProcessingSettings(
                image_uri=settings.image_uri,
                role_arn=settings.role_arn,
                instance_type=settings.instance_type,
                volume_size_gb=settings.volume_size_gb,
                max_runtime_seconds=settings.max_runtime_seconds,
                entrypoint=tuple(settings.entrypoint),
            ),
            baseline=plan.baseline,
            comparator=plan.comparator,
            schema=plan.schema,
            risk_level=plan.risk_level,
            output_bucket=self.config.governance_bucket,
            thresholds=thresholds,
            tags={MetadataKey.MODEL_ID: str(self.model.id), MetadataKey.SNAPSHOT_ID: str(self.snapshot_id)},
            pins={
                "baseline": plan.pins[BASELINE_DATA],
                "comparator": plan.pins[COMPARATOR_DATA],
                "schema": plan.pins[RISK_TEST_SCHEMA],
            },
        )

    def _after_job(
        self,
        context: Context,
        snapshot: Snapshot,
        plan: RiskTestPlan,
        attempt: int,
        described: Mapping[str, Any],
    ) -> dict[str, Any]:
        name = str(described.get("ProcessingJobName"))
        status = described.get("ProcessingJobStatus")
        if status in JOB_RUNNING:
            self._defer_job(name, attempt)
        if status != JOB_SUCCEEDED:
            reason = job_failure(described)
            if f"{REFUSED}:" in reason:  # the container found the pinned data changed: not transient
                detail = reason.split(f"{REFUSED}:", 1)[1].rsplit(", exit code:", 1)[0].strip()
                self._refuse(context, snapshot, attempt, PinnedDataChangedError(detail))
            return self._job_failed(context, snapshot, attempt, reason)
        location = job_report_location(self.config.governance_bucket, name)
        try:
            report = self._read_job_report(location)
        except ModelGovernanceError as exc:
            return self._job_failed(
                context, snapshot, attempt, f"Processing job {name} completed, but its report: {exc}"
            )
        try:
            for role, item in ((BASELINE_DATA, "baseline"), (COMPARATOR_DATA, "comparator")):
                found = report.inputs.get(item, {})
                report.inputs[item] = {**found, **self._job_provenance(role, plan, found)}
            report.inputs["risk_test_schema"] = self._job_provenance(
                RISK_TEST_SCHEMA, plan, report.inputs.get("risk_test_schema")
            )
        except RiskTestInputError as exc:
            return self._job_failed(context, snapshot, attempt, f"Processing job {name} completed, but {exc}")
        report.inputs["snapshot"] = {
            "id": snapshot.id,
            "content_hash": snapshot.content_hash,
            "uri": snapshot.uri,
        }
        report.inputs["processing_job"] = {
            "name": name,
            "arn": described.get("ProcessingJobArn"),
            "image": (described.get("AppSpecification") or {}).get("ImageUri"),
            "report": location.uri,
        }
        return self._record_report(context, snapshot, attempt, report)

    def _defer_job(self, name: str, attempt: int) -> NoReturn:
        from model_governance.triggers.sagemaker import PROCESSING_JOB, SageMakerWaitTrigger

        _, conn_id, region = self._jobs()
        settings = self.config.risk_tests
        self.defer(
            trigger=SageMakerWaitTrigger(
                resource=PROCESSING_JOB,
                name=name,
                aws_conn_id=conn_id,
                region_name=region,
                poll_interval=settings.poll_interval_seconds,
            ),
            method_name="execute_complete",
            kwargs={"attempt": attempt, "job_name": name},
            timeout=timedelta(seconds=settings.max_runtime_seconds + 3600),
        )

    def _job_complete(
        self, context: Context, event: dict[str, Any] | None, attempt: int | None, job_name: str
    ) -> dict[str, Any]:
        """Back from waiting on a Processing job: it ended (Completed, Failed or Stopped); read it again."""
        from model_governance.triggers.sagemaker import FAILED, SUCCESS

        if (
            not isinstance(event, dict)
            or event.get("name") != job_name
            or isinstance(attempt, bool)
            or not isinstance(attempt, int)
        ):
            raise RegistryError(
                f"Unexpected resume of task {self.task_id!r}: event {event!r}, attempt {attempt!r}, job "
                f"{job_name!r}. Clear the task to reconnect to its Processing job."
            )
        if event.get("status") not in (SUCCESS, FAILED):
            raise RegistryError(
                f"Waiting for SageMaker Processing job {job_name} ended {event.get('status')!r}: "
                f"{event.get('message') or event}. Clear the task to reconnect to the job (it is not "
                "submitted again)."
            )
        ti = context["ti"]
        if job_name != risk_test_job_name(ti.dag_id, ti.run_id, ti.task_id, attempt):
            raise RegistryError(
                f"Processing job {job_name} is not attempt {attempt} of task {self.task_id!r}."
            )
        snapshot, plan = self._prepare()
        hook, _, _ = self._jobs()
        described = hook.describe_processing_job(job_name)
        if described is None:
            raise RegistryError(
                f"SageMaker no longer describes Processing job {job_name}; clear the task to run it again."
            )
        return self._after_job(context, snapshot, plan, attempt, described)

    def _read_job_report(self, location: S3Location) -> RiskTestReport:
        from model_governance.risk_tests import RiskTestReport

        s3, conn_id = self._s3()
        try:
            body = s3.get_conn().get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        except ClientError as exc:
            raise RegistryError(
                f"{location.uri} cannot be read with connection {conn_id!r} "
                f"({exc.response.get('Error', {}).get('Code', exc)})"
            ) from exc
        try:
            return RiskTestReport.from_dict(json.loads(body))
        except (ValueError, TypeError, KeyError) as exc:
            raise RiskTestInputError(f"{location.uri} is not a risk test report ({exc})") from exc

    @staticmethod
    def _job_provenance(role: str, plan: RiskTestPlan, found: Any) -> dict[str, Any]:
        """What the job says it tested (it verified the bytes itself), checked against the pin."""
        pin = plan.pins[role]
        item = found if isinstance(found, Mapping) else {}
        if item.get("sha256") != pin.sha256 or (pin.version_id and item.get("version_id") != pin.version_id):
            raise RiskTestInputError(
                f"the job's report does not show that it tested the pinned {role} {pin.uri} "
                f"({pin.describe()}; the report says version {item.get('version_id')!r}, SHA-256 "
                f"{item.get('sha256')!r}). The job's image predates pinned data: rebuild it with this "
                "version of the model_governance package (risk_tests.image_uri)."
            )
        return {
            "source": pin.uri,
            "etag": item.get("etag"),
            "size": item.get("size"),
            "version_id": item.get("version_id"),
            "sha256": pin.sha256,
            "matches_snapshot": True,
        }

    def _check_pins(self, plan: RiskTestPlan) -> None:
        """Before a job is submitted: refuse data whose pinned version is gone or whose bytes changed.

        The job's container reads the pinned versions itself and verifies every SHA-256 (so a change
        after this check is still refused); this check names the change here, as a refusal, instead of
        as a failed job. An unversioned object with a new ETag but the same size is hashed to decide."""
        s3, conn_id = self._s3()
        client = s3.get_conn()
        for role in (BASELINE_DATA, COMPARATOR_DATA, RISK_TEST_SCHEMA):
            pin = plan.pins[role]
            if check_pinned(client, pin, conn_id=conn_id):
                continue
            sha = object_sha256(client, pin.bucket, pin.key, version_id=pin.version_id, etag=None, what=role)
            if sha != pin.sha256:
                raise pinned_changed(pin, f"SHA-256 {sha}")

    def _refuse(
        self, context: Context, snapshot: Snapshot, attempt: int, exc: PinnedDataChangedError
    ) -> NoReturn:
        """The data the snapshot pinned changed: record the refusal, tell the operators, fail the task.

        Not the failure-ticket loop: moving a ticket to Done re-runs the tests on the same snapshot, which
        reads the same pins and is refused again; the fix (restore the version, or a new model version /
        a new DAG run, whose snapshot pins the data as it is now) is outside this run. A cleared task checks
        the data again (a restored version then passes the check)."""
        from airflow.sdk.exceptions import AirflowFailException

        ti = context["ti"]
        key = run_key(ti.dag_id, ti.run_id, ti.task_id, attempt)
        error = f"{REFUSED}: {exc}"[:ERROR_LIMIT]
        self.log.error("Risk tests %s refused: %s", key, exc)
        self.inventory.finish_risk_test_run(key, passed=None, error=error)
        self._notify(
            f"Risk tests of {self.model.package_arn} refused: the pinned data changed",
            f"Run {key} on snapshot {snapshot.id} ({snapshot.uri}) did not test anything: {exc}",
        )
        raise AirflowFailException(
            f"The standard risk tests of {self.model.package_arn} (snapshot {snapshot.id}) were "
            f"refused: {exc}"
        ) from exc

    def _put_once(self, location: S3Location, body: bytes) -> None:
        s3, conn_id = self._s3()
        try:
            if s3.head_object(location.key, location.bucket) is None:
                s3.load_bytes(body, key=location.key, bucket_name=location.bucket, replace=True)
        except ClientError as exc:
            raise RegistryError(
                f"Storing {location.uri} with connection {conn_id!r} failed: {exc}; grant it s3:GetObject "
                "and s3:PutObject on the governance bucket."
            ) from exc

    def _s3(self) -> tuple[S3Hook, str]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        entity = self.config.business_entity(self.inventory.business_entity_of_model(self.model).name)
        return S3Hook(aws_conn_id=entity.aws_conn_id, region_name=entity.region), entity.aws_conn_id

    def _run_suite(self, s3: S3Hook, conn_id: str, plan: RiskTestPlan, snapshot: Snapshot) -> RiskTestReport:
        """Fetch the inputs through the connection's S3 client and run the engine on the local copies."""
        from model_governance.risk_tests import RiskTestSchema, run_risk_tests

        with tempfile.TemporaryDirectory(prefix="risk-tests-") as folder:
            # Exactly the bytes the snapshot pinned, or PinnedDataChangedError before anything is tested.
            fetched = {
                role: self._fetch(s3, conn_id, plan.pins[role], Path(folder))
                for role in (BASELINE_DATA, COMPARATOR_DATA, RISK_TEST_SCHEMA)
            }
            try:
                schema_uri = plan.schema.uri
                try:
                    data = json.loads(fetched[RISK_TEST_SCHEMA].path.read_bytes())
                except (ValueError, UnicodeDecodeError) as exc:
                    raise RiskTestInputError(
                        f"the risk test schema {schema_uri} is not valid JSON ({exc}); fix the object"
                    ) from exc
                schema = RiskTestSchema.from_dict(data, source=f"the risk test schema {schema_uri}")
                report = run_risk_tests(
                    fetched[BASELINE_DATA].path,
                    fetched[COMPARATOR_DATA].path,
                    schema,
                    risk_level=plan.risk_level,
                    threshold_overrides={plan.risk_level: dict(plan.overrides)},
                    workers=self.workers,
                )
            except Exception as exc:
                # Name the snapshot's URIs, not this worker's temporary copies.
                message = str(exc)
                for item in fetched.values():
                    message = message.replace(str(item.path), item.pin.uri)
                if message != str(exc):
                    raise type(exc)(message) if _simple(exc) else RiskTestInputError(message) from exc
                raise
        provenance = {role: self._provenance(fetched[role]) for role in ASSET_KEYS}
        for role, name in ((BASELINE_DATA, "baseline"), (COMPARATOR_DATA, "comparator")):
            report.inputs[name] = {**report.inputs.get(name, {}), **provenance[role]}
        report.inputs["risk_test_schema"] = provenance[RISK_TEST_SCHEMA]
        report.inputs["snapshot"] = {
            "id": snapshot.id,
            "content_hash": snapshot.content_hash,
            "uri": snapshot.uri,
        }
        return report

    def _fetch(self, s3: S3Hook, conn_id: str, pin: DataPin, folder: Path) -> FetchedObject:
        """Stream the pinned version of one object to ``folder`` (keeping its file name, so its format
        shows) and verify its SHA-256; data that changed since the snapshot is refused."""
        path = folder / f"{pin.role.lower()}-{PurePosixPath(pin.key).name}"
        return fetch_pinned(s3.get_conn(), pin, path, conn_id=conn_id)

    @staticmethod
    def _provenance(item: FetchedObject) -> dict[str, Any]:
        return item.provenance()

    def _store_report(self, snapshot: Snapshot, document: Mapping[str, Any]) -> str:
        """Put the report under its SHA-256 beside the snapshot, unless it is there already."""
        body = canonical_json(document)
        sha = hashlib.sha256(body).hexdigest()
        bucket = self.config.governance_bucket
        key = report_key(snapshot.uri, bucket, sha)
        uri = f"s3://{bucket}/{key}"
        s3, conn_id = self._s3()
        try:
            if s3.head_object(key, bucket) is None:
                s3.load_bytes(body, key=key, bucket_name=bucket, replace=True)
        except ClientError as exc:
            raise RegistryError(
                f"Storing the risk test report {uri} with connection {conn_id!r} failed: {exc}; grant it "
                f"s3:GetObject and s3:PutObject on the governance bucket {bucket!r}."
            ) from exc
        return uri

    # -- failures and their tickets ---------------------------------------------------------------------
    # The RISK_TEST_FAILURE ticket is an approval like any other: the approval service opens it, checks who
    # moved it (separation of duties, by Jira account) and records the verified decision; this task only
    # says what a decision does (Done: run again; Rejected: stop).

    def _after_failure(self, context: Context, snapshot: Snapshot, attempt: int, error: str) -> NoReturn:
        key = self._open_ticket(context, snapshot, attempt, error)
        if attempt > self.max_reruns:
            self._jira().comment(
                key,
                f"No re-run is left: the standard risk tests failed to run {attempt} time(s) in this DAG "
                f"run (max_reruns={self.max_reruns}), so moving this ticket changes nothing and the run "
                "stops. Fix the cause, then start a new run of the DAG for this model version.",
                marker="mg-risk-tests-no-rerun-left",
            )
            raise self._exhausted(attempt, error, key)
        self._defer(attempt, key)

    def _on_ticket_event(
        self, context: Context, event: dict[str, Any] | None, attempt: int | None, issue_key: str | None
    ) -> dict[str, Any]:
        """Back from waiting on the failure ticket: take its verified decision, or wait again."""
        from model_governance.triggers.jira import DECIDED, DELETED

        if (
            not isinstance(event, dict)
            or "status" not in event
            or not issue_key
            or isinstance(attempt, bool)
            or not isinstance(attempt, int)
        ):
            raise JiraError(
                f"Unexpected resume of task {self.task_id!r}: event {event!r}, attempt {attempt!r}, "
                f"ticket {issue_key!r}. Clear the task to go back to its risk test failure ticket."
            )
        status = event["status"]
        if status == DELETED:
            raise NotFoundError(
                f"Risk test failure ticket {issue_key} was deleted before it was decided; clear this task to "
                "open a new ticket, or restore the ticket in Jira."
            )
        if status != DECIDED:
            raise JiraError(
                f"Jira trigger for risk test failure ticket {issue_key} reported {status!r}: {event}"
            )
        decision = self._approvals().verified_decision(self._failure_request(context, attempt), issue_key)
        if decision is None:  # refused (and moved back), or moved on again since the trigger saw it
            self._defer(attempt, issue_key)
        assert decision is not None  # _defer does not return
        return self._follow_decision(context, attempt, issue_key, decision)

    def _follow_decision(
        self, context: Context, attempt: int, issue_key: str, decision: Decision
    ) -> dict[str, Any]:
        """What a verified decision on the failure ticket does: Done runs the tests again, Rejected stops."""
        who = decision.decided_by.label
        if decision.outcome is not Outcome.APPROVED:
            # As the ticket says: Rejected ends the model's life cycle here.
            self.move_to(
                context, GovernanceStatus.REJECTED, f"risk test failure ticket {issue_key} rejected by {who}"
            )
            raise ApprovalRejectedError(
                f"Risk test failure ticket {issue_key} was rejected by {who} at "
                f"{decision.decided_at.isoformat()}: the standard risk tests of {self.model.package_arn} are "
                "not run again and this run stops.",
                decision.to_dict(),
            )
        if attempt > self.max_reruns:
            raise self._exhausted(attempt, "the ticket was moved to Done, but no re-run is left", issue_key)
        self.log.info("%s moved %s to Done: running the risk tests again", who, issue_key)
        snapshot, plan = self._prepare()
        return self._attempt(context, snapshot, plan, attempt + 1)

    def _exhausted(self, attempt: int, error: str, issue_key: str) -> RiskTestJobError:
        return RiskTestJobError(
            f"The standard risk tests of {self.model.package_arn} (snapshot {self.snapshot_id}) failed to "
            f"run {attempt} time(s), which uses up max_reruns={self.max_reruns}; last: {error} (ticket "
            f"{issue_key}). Fix the cause, then start a new run of the DAG for this model version."
        )

    @cached_property
    def _jira_hook(self) -> JiraHook:
        from model_governance.hooks.jira import JiraHook

        return JiraHook(self.jira_conn_id or self.config.jira.conn_id)

    def _jira(self) -> JiraHook:
        return self._jira_hook

    @cached_property
    def _approval_service(self) -> ApprovalService:
        from model_governance.sensors.jira import approval_service

        return approval_service(hook=self._jira(), config=self.config, inventory=self.inventory, log=self.log)

    def _approvals(self) -> ApprovalService:
        return self._approval_service

    def _failure_request(self, context: Context, attempt: int) -> ApprovalRequest:
        from model_governance.services.approvals import ApprovalRequest

        ti = context["ti"]
        kind = ApprovalKind.RISK_TEST_FAILURE
        return ApprovalRequest(
            kind=kind.value,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            model_id=self.model.id,
            marker_kind=f"{kind.value}-{attempt}",
        )

    def _open_ticket(self, context: Context, snapshot: Snapshot, attempt: int, error: str) -> str:
        """The RISK_TEST_FAILURE ticket of this attempt: found by its marker, else opened with the error."""
        from model_governance.documents.context import Asset, Links, SnapshotInfo
        from model_governance.documents.tickets import render_ticket
        from model_governance.services.approvals import TicketText
        from model_governance.ticket_context import ticket_context

        ti = context["ti"]
        hook, service = self._jira(), self._approvals()
        request = self._failure_request(context, attempt)
        project = hook.settings.project_key or self.config.jira.project_key
        hook.check_project(project)
        manifest = snapshot.manifest or {}
        assets = [
            Asset(role=role, uri=str(item.get("uri")), digest=item.get("etag") or None)
            for role, item in sorted((manifest.get("assets") or {}).items())
            if isinstance(item, dict) and item.get("uri")
        ]
        duties = service.duties(request)
        ctx = ticket_context(
            self.inventory,
            kind=request.kind,
            model_id=self.model.id,
            approvers=duties["approver_groups"],
            links=Links(airflow_run=_run_url(self.config.airflow_base_url, ti.dag_id, ti.run_id)),
        )
        ctx = replace(
            ctx,
            error=error,
            attempt=attempt,
            max_attempts=max(attempt, self.max_reruns + 1),
            snapshot=SnapshotInfo(
                snapshot_id=str(snapshot.id),
                content_hash=snapshot.content_hash,
                uri=snapshot.uri,
                assets=assets,
                endpoint_config_name=manifest.get("endpoint_config_name"),
                suite_version=manifest.get("risk_test_suite_version"),
            ),
            extra={**ctx.extra, "duties": duties},
        )
        rendered = render_ticket(ctx, flavor=hook.settings.flavor, templates_dir=self.config.templates_dir)
        ticket = service.open(
            request,
            TicketText(
                summary=f"{rendered.summary} (attempt {attempt} of {self.max_reruns + 1})",
                description=rendered.description,
                project_key=project,
                issue_type=self.config.jira.issue_type,
                labels=("model-governance", "approval-risk-test-failure"),
            ),
        )
        self.log.info("Risk test failure ticket %s %s", ticket.url, "opened" if ticket.created else "found")
        ti.xcom_push(key="failure_issue_key", value=ticket.key)
        return ticket.key

    def _defer(self, attempt: int, issue_key: str) -> NoReturn:
        from model_governance.sensors.jira import defer_on_ticket

        poll = (
            self.poll_interval if self.poll_interval is not None else self.config.jira.poll_interval_seconds
        )
        defer_on_ticket(
            self,
            hook=self._jira(),
            issue_key=issue_key,
            poll_interval=float(poll),
            direct_check_interval=self.direct_check_interval,
            search_lag_margin=self.search_lag_margin,
            kwargs={"attempt": attempt, "issue_key": issue_key},
            timeout=self.wait_timeout,
        )
        raise AssertionError("defer() does not return")  # pragma: no cover

    def _recorded_attempts(self, prefix: str) -> dict[int, RiskTestRun]:
        """The attempts recorded for this task of this DAG run, by attempt number."""
        runs = self.inventory.risk_test_runs(self.model, run_key_prefix=f"{prefix}/attempt-")
        found: dict[int, RiskTestRun] = {}
        for run in runs:
            match = _ATTEMPT.search(run.run_key)
            if match and run.run_key == f"{prefix}/attempt-{match.group(1)}":
                found[int(match.group(1))] = run
        return found

    def _notify(self, subject: str, body: str) -> None:
        from model_governance.notifications.email import notify_operators

        try:
            notify_operators(subject, body, config=self.config)
        except Exception:  # a mail outage must not fail the tests; the log keeps the message
            self.log.exception("Could not notify operators: %s", subject)


def _simple(exc: BaseException) -> bool:
    """True when ``type(exc)(message)`` rebuilds the exception (our single-message error classes)."""
    return isinstance(exc, ModelGovernanceError) and not isinstance(exc, ApprovalRejectedError)


def _run_url(base: str, dag_id: str, run_id: str) -> str | None:
    base = base.rstrip("/")
    if not base.startswith(("http://", "https://")):
        return None
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
