"""Step 4 of the MLC as a service: the standard risk tests of a snapshot, their attempts, and the
RISK_TEST_FAILURE tickets of attempts that fail to run.

The snapshot's manifest says what to test: the BASELINE_DATA, COMPARATOR_DATA and RISK_TEST_SCHEMA objects,
the risk test suite version and the thresholds of the use case's risk level. The tests run in the worker
or as a SageMaker Processing job (``services.risk_test_runs``). The job's name is derived from dag_id,
run_id, task_id and the attempt (never the try number), so a retried or cleared task reconnects to its job
instead of submitting another. A job that ends Failed or Stopped is a job that failed to run: its ticket
carries SageMaker's reason.

Outcomes:

- The tests ran (passed or not): the report is stored in S3 under its SHA-256 beside the snapshot, the run
  is recorded SUCCEEDED in the inventory, and the result is ``{"run_key", "attempt", "passed",
  "report_uri", "failed_tests"}``. Failed tests are not a failure of the step: the review decides.
- The job could not run (missing or unreadable data, a bad schema, an engine error): the run is recorded
  FAILED with the error, a RISK_TEST_FAILURE ticket carrying the error is opened in Jira (one per attempt,
  found again by its marker on retries) and the step waits until the ticket is decided. Done runs the
  tests again (re-reading the data) as the next attempt; Rejected stops with ``ApprovalRejectedError``.
  After ``max_reruns`` re-runs, a job that still fails opens its ticket, says there that no re-run is left,
  and fails with ``RiskTestJobError``.
- The data the snapshot pinned changed: nothing is tested, the refusal is recorded and the operators told.
- A model change's challenger (``Inventory.champion_of``): the champion's performance is computed on the
  same comparator rows from the champion's score column of the challenger's comparator data
  (``services.challengers.champion_score_column``, ``risk_tests.champion``) and stored in the challenger's
  report as ``champion`` (so under the same content hash: a re-run stores nothing twice). When the column
  is missing or unusable, the attempt is recorded FAILED with the error (which names the data, the column
  and the fix), the operators are told and the step fails without retries, as for changed data: a re-run
  on the same pins cannot help, and no report, ticket or status move is made. A version with no champion
  is tested as before.

Attempts are recorded under ``run_key = dag_id/run_id/task_id/attempt-N`` (N counts re-runs, never the
try number), so a retried or cleared task resumes where the run stands: a finished attempt is returned as
recorded, a failed one goes back to waiting on its ticket, one left running by a lost worker is run again.

No Airflow here: the service says what the task does next (``Finished``, ``AwaitJob``, ``AwaitTicket``,
``Refused``) and ``RunRiskTestsOperator`` does it (returns, defers, fails).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from model_governance.approvals import Outcome, failed_gated_tests
from model_governance.config import ApprovalKind
from model_governance.exceptions import (
    ApprovalRejectedError,
    ConfigurationError,
    InvalidInputError,
    ModelGovernanceError,
    PinnedDataChangedError,
    RegistryError,
    RiskTestInputError,
    RiskTestJobError,
)
from model_governance.lifecycle import GovernanceStatus
from model_governance.registry import MetadataKey
from model_governance.services import risk_test_runs as runs
from model_governance.services.approvals import ApprovalRequest, TicketText, airflow_run_url
from model_governance.snapshots import RiskTestPlan, canonical_json, report_key, risk_test_plan
from model_governance.workloads import (
    JOB_RUNNING,
    JOB_SUCCEEDED,
    job_failure,
    job_report_location,
    risk_test_job_name,
)

if TYPE_CHECKING:
    from model_governance.approvals import Decision
    from model_governance.config import GovernanceConfig
    from model_governance.inventory import Inventory, Model, RiskTestRun, Snapshot
    from model_governance.risk_tests import RiskTestReport
    from model_governance.services.approvals import ApprovalService
    from model_governance.services.connections import EntityConnections
    from model_governance.services.evidence_store import EvidenceStore

#: TicketContext refuses longer error texts.
ERROR_LIMIT = 3900
_ATTEMPT = re.compile(r"/attempt-(\d+)$")
#: How a refused attempt's error starts (recorded in the inventory, printed by the job's container).
REFUSED = PinnedDataChangedError.__name__
#: How an attempt's error starts when the champion's scores are missing or unusable (``ChampionScoresError``).
CHAMPION_REFUSED = "ChampionScoresError"


def run_key_prefix(dag_id: str, run_id: str, task_id: str) -> str:
    return f"{dag_id}/{run_id}/{task_id}"


def run_key(dag_id: str, run_id: str, task_id: str, attempt: int) -> str:
    """The inventory key of one attempt of a task's risk tests (attempts count re-runs, not tries)."""
    return f"{run_key_prefix(dag_id, run_id, task_id)}/attempt-{attempt}"


def failed_test_ids(report: Mapping[str, Any] | None) -> list[str]:
    """Ids of the results that failed: the metric id, plus ``/feature`` and ``/group`` where it has them
    (the same ids the test results review's failed-tests policy looks at)."""
    return failed_gated_tests(report)


class TaskRun(Protocol):
    """The task instance: what its writes are keyed by, and where it publishes the failure ticket."""

    @property
    def dag_id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    def xcom_push(self, key: str, value: Any) -> None: ...


class FailureJira(Protocol):
    """What the failure loop needs of Jira besides the approval service (``hooks.jira.JiraHook``)."""

    @property
    def settings(self) -> Any: ...
    def check_project(self, project_key: str) -> Any: ...
    def comment(self, key: str, body: str, *, marker: str | None = None) -> None: ...


@dataclass(frozen=True)
class Finished:
    """The tests ran (this attempt or a recorded one): the step's result."""

    result: dict[str, Any]


@dataclass(frozen=True)
class AwaitJob:
    """Wait for the Processing job ``name`` of ``attempt`` to end, then call ``job_ended``."""

    name: str
    attempt: int


@dataclass(frozen=True)
class AwaitTicket:
    """Wait for the failure ticket of ``attempt`` to be decided, then call ``decided``."""

    issue_key: str
    attempt: int


@dataclass(frozen=True)
class Refused:
    """The pinned data changed, or a challenger's data lacks usable champion scores: nothing was recorded
    as tested; the step fails without retries."""

    message: str
    error: ModelGovernanceError


Step = Finished | AwaitJob | AwaitTicket | Refused


class RiskTestsService:
    """The standard risk tests of one snapshot of one model version, for one task of one DAG run."""

    def __init__(
        self,
        *,
        config: GovernanceConfig,
        inventory: Inventory,
        model: Model,
        snapshot_id: int | str,
        ti: TaskRun,
        entity: EntityConnections,
        evidence: EvidenceStore,
        approvals: ApprovalService,
        jira: FailureJira,
        set_status: Callable[[GovernanceStatus, str], None],
        notify: Callable[[str, str], None],
        log: Any,
        max_reruns: int = 2,
        workers: int | None = None,
    ) -> None:
        self.config = config
        self.inventory = inventory
        self.model = model
        self.snapshot_id = snapshot_id
        self.ti = ti
        self.entity = entity
        self.evidence = evidence
        self.approvals = approvals
        self.jira = jira
        self.set_status = set_status
        self.notify = notify
        self.log = log
        self.max_reruns = max_reruns
        self.workers = workers

    # -- entry points ---------------------------------------------------------------------------------

    def start(self) -> Step:
        """Run the tests, or resume where this task's attempts stand."""
        from model_governance.inventory import RiskTestRunState

        max_reruns = self.max_reruns
        if isinstance(max_reruns, bool) or not isinstance(max_reruns, int) or max_reruns < 0:
            raise InvalidInputError(
                f"max_reruns of task {self.ti.task_id!r} is {max_reruns!r}; give a whole number >= 0."
            )
        snapshot, plan = self._prepare()
        attempts = self._recorded_attempts(run_key_prefix(self.ti.dag_id, self.ti.run_id, self.ti.task_id))
        if not attempts:
            return self._attempt(snapshot, plan, 1)
        attempt = max(attempts)
        latest = attempts[attempt]
        if latest.state == RiskTestRunState.SUCCEEDED.value:
            self.log.info("Risk tests %s already ran; returning the recorded result", latest.run_key)
            return Finished(_result(latest.run_key, attempt, latest.passed, latest.report_uri, latest.report))
        if latest.state == RiskTestRunState.FAILED.value and (latest.error or "").startswith(REFUSED):
            self.log.info("Risk tests %s were refused (pinned data changed); checking again", latest.run_key)
            return self._attempt(snapshot, plan, attempt)
        if latest.state == RiskTestRunState.FAILED.value and (latest.error or "").startswith(
            CHAMPION_REFUSED
        ):
            self.log.info("Risk tests %s lacked the champion's scores; checking again", latest.run_key)
            return self._attempt(snapshot, plan, attempt)
        if latest.state == RiskTestRunState.FAILED.value:
            return self._after_failure(snapshot, attempt, latest.error or "the job failed to run")
        if self.config.risk_tests.runner == "processing":
            self.log.info("Risk tests %s are running as a Processing job; reconnecting to it", latest.run_key)
        else:
            self.log.warning(
                "Risk tests %s were left running (lost worker?); running them again", latest.run_key
            )
        return self._attempt(snapshot, plan, attempt)

    def job_ended(self, event: Any, attempt: Any, job_name: str) -> Step:
        """Back from waiting on a Processing job: it ended (Completed, Failed or Stopped); read it again."""
        from model_governance.triggers.sagemaker import FAILED, SUCCESS

        if (
            not isinstance(event, dict)
            or event.get("name") != job_name
            or isinstance(attempt, bool)
            or not isinstance(attempt, int)
        ):
            raise RegistryError(
                f"Unexpected resume of task {self.ti.task_id!r}: event {event!r}, attempt {attempt!r}, job "
                f"{job_name!r}. Clear the task to reconnect to its Processing job."
            )
        if event.get("status") not in (SUCCESS, FAILED):
            raise RegistryError(
                f"Waiting for SageMaker Processing job {job_name} ended {event.get('status')!r}: "
                f"{event.get('message') or event}. Clear the task to reconnect to the job (it is not "
                "submitted again)."
            )
        if job_name != risk_test_job_name(self.ti.dag_id, self.ti.run_id, self.ti.task_id, attempt):
            raise RegistryError(
                f"Processing job {job_name} is not attempt {attempt} of task {self.ti.task_id!r}."
            )
        snapshot, plan = self._prepare()
        described = self.entity.jobs.describe_processing_job(job_name)
        if described is None:
            raise RegistryError(
                f"SageMaker no longer describes Processing job {job_name}; clear the task to run it again."
            )
        return self._after_job(snapshot, plan, attempt, described)

    def decided(self, attempt: int, issue_key: str, decision: Decision) -> Step:
        """What a verified decision on the failure ticket does: Done runs the tests again, Rejected stops."""
        who = decision.decided_by.label
        if decision.outcome is not Outcome.APPROVED:
            # As the ticket says: Rejected ends the model's life cycle here.
            self.set_status(
                GovernanceStatus.REJECTED, f"risk test failure ticket {issue_key} rejected by {who}"
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
        return self._attempt(snapshot, plan, attempt + 1)

    def failure_request(self, attempt: int) -> ApprovalRequest:
        """The RISK_TEST_FAILURE approval of one attempt (one ticket per attempt)."""
        kind = ApprovalKind.RISK_TEST_FAILURE
        return ApprovalRequest(
            kind=kind.value,
            dag_id=self.ti.dag_id,
            run_id=self.ti.run_id,
            task_id=self.ti.task_id,
            model_id=self.model.id,
            marker_kind=f"{kind.value}-{attempt}",
        )

    # -- one attempt ------------------------------------------------------------------------------------

    def _key(self, attempt: int) -> str:
        return run_key(self.ti.dag_id, self.ti.run_id, self.ti.task_id, attempt)

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

    def _champion(self, snapshot: Snapshot) -> runs.ChampionScores | None:
        """The champion this version challenges (a model change) and its score column, or None."""
        from model_governance.services.challengers import champion_score_column

        champion = self.inventory.champion_of(self.model)
        if champion is None:
            return None
        return runs.ChampionScores(
            package_arn=champion.package_arn,
            version=champion.version,
            column=champion_score_column(snapshot.manifest),
        )

    def _attempt(self, snapshot: Snapshot, plan: RiskTestPlan, attempt: int) -> Step:
        from model_governance.risk_tests.champion import ChampionScoresError

        key = self._key(attempt)
        self.inventory.start_risk_test_run(self.model, run_key=key, snapshot_id=snapshot.id)
        self.log.info("Risk tests %s on snapshot %s (%s)", key, snapshot.id, snapshot.uri)
        champion = self._champion(snapshot)
        if champion is not None:
            self.log.info(
                "Model change: the champion %s is compared on the same comparator data (column %r)",
                champion.package_arn,
                champion.column,
            )
        if self.config.risk_tests.runner == "processing":
            return self._start_job(snapshot, plan, attempt)
        try:
            report = runs.run_in_worker(
                self.entity.s3_client,
                self.entity.aws_conn_id,
                plan,
                snapshot,
                workers=self.workers,
                champion=champion,
            )
        except PinnedDataChangedError as exc:
            return self._refuse(snapshot, attempt, exc)
        except ChampionScoresError as exc:
            assert champion is not None
            return self._refuse_champion(snapshot, attempt, champion, exc)
        except Exception as exc:  # the job failed to run: recorded, ticketed, not a bug in this task
            return self._job_failed(snapshot, attempt, f"{type(exc).__name__}: {exc}")
        return self._record_report(snapshot, attempt, report)

    def _job_failed(self, snapshot: Snapshot, attempt: int, error: str) -> Step:
        key = self._key(attempt)
        error = error[:ERROR_LIMIT]
        self.log.error("Risk tests %s failed to run: %s", key, error)
        self.inventory.finish_risk_test_run(key, passed=None, error=error)
        return self._after_failure(snapshot, attempt, error)

    def _record_report(self, snapshot: Snapshot, attempt: int, report: RiskTestReport) -> Step:
        """The tests ran: store the report under its hash, record the verdict, say what errored."""
        key = self._key(attempt)
        document = report.to_dict()
        body = canonical_json(document)
        stored = self.evidence.put(
            report_key(snapshot.uri, self.evidence.bucket, hashlib.sha256(body).hexdigest()),
            body,
            what="the risk test report",
        )
        uri = stored.uri
        self.inventory.finish_risk_test_run(key, passed=report.passed, report=document, report_uri=uri)
        errored = sorted({r.test for r in report.results if r.status == "error"})
        if errored:
            self.notify(
                f"Risk tests of {self.model.package_arn}: {len(errored)} monitor(s) could not run",
                f"Run {key} on snapshot {snapshot.id}: {', '.join(errored)} ended with errors; the reviewer "
                f"sees them in the review document. Report: {uri}",
            )
        self.log.info("Risk tests %s: verdict %s, report %s", key, report.passed, uri)
        return Finished(_result(key, attempt, report.passed, uri, document))

    def _refuse(self, snapshot: Snapshot, attempt: int, exc: PinnedDataChangedError) -> Refused:
        """The data the snapshot pinned changed: record the refusal, tell the operators, fail the step.

        Not the failure-ticket loop: moving a ticket to Done re-runs the tests on the same snapshot, which
        reads the same pins and is refused again; the fix (restore the version, or a new model version /
        a new DAG run, whose snapshot pins the data as it is now) is outside this run. A cleared task checks
        the data again (a restored version then passes the check)."""
        key = self._key(attempt)
        self.log.error("Risk tests %s refused: %s", key, exc)
        self.inventory.finish_risk_test_run(key, passed=None, error=f"{REFUSED}: {exc}"[:ERROR_LIMIT])
        self.notify(
            f"Risk tests of {self.model.package_arn} refused: the pinned data changed",
            f"Run {key} on snapshot {snapshot.id} ({snapshot.uri}) did not test anything: {exc}",
        )
        return Refused(
            f"The standard risk tests of {self.model.package_arn} (snapshot {snapshot.id}) were "
            f"refused: {exc}",
            exc,
        )

    def _refuse_champion(
        self, snapshot: Snapshot, attempt: int, champion: runs.ChampionScores, exc: ModelGovernanceError
    ) -> Refused:
        """A challenger's comparator data lacks usable champion scores: record it, tell the operators, fail
        the step (no ticket: Done would re-run on the same pinned data; the fix is new data or metadata
        and a new run, as the error says). Nothing else is recorded: no report, no status move."""
        key = self._key(attempt)
        self.log.error("Risk tests %s: no champion comparison: %s", key, exc)
        self.inventory.finish_risk_test_run(
            key, passed=None, error=f"{CHAMPION_REFUSED}: {exc}"[:ERROR_LIMIT]
        )
        self.notify(
            f"Risk tests of {self.model.package_arn}: the champion's scores are missing",
            f"Run {key} on snapshot {snapshot.id} ({snapshot.uri}) is a model change's challenger, compared "
            f"with the champion {champion.package_arn} on the same comparator data, and could not be: {exc}",
        )
        return Refused(
            f"The standard risk tests of {self.model.package_arn} (snapshot {snapshot.id}), the challenger "
            f"of champion {champion.package_arn}, cannot compare the two on the same comparator data: {exc}",
            exc,
        )

    # -- the Processing job runner ---------------------------------------------------------------------

    def _start_job(self, snapshot: Snapshot, plan: RiskTestPlan, attempt: int) -> Step:
        """Submit this attempt's Processing job, or reconnect to it when an earlier try submitted it."""
        name = risk_test_job_name(self.ti.dag_id, self.ti.run_id, self.ti.task_id, attempt)
        try:
            runs.check_pins(self.entity.s3_client, self.entity.aws_conn_id, plan)
        except PinnedDataChangedError as exc:
            return self._refuse(snapshot, attempt, exc)
        try:
            tags: dict[str, str] = {
                MetadataKey.MODEL_ID: str(self.model.id),
                MetadataKey.SNAPSHOT_ID: str(self.snapshot_id),
            }
            request = runs.job_request(name, plan, self.config.risk_tests, self.evidence, tags=tags)
            described, created = self.entity.jobs.ensure_processing_job(request)
        except ModelGovernanceError as exc:  # the job could not start: a failure to run, ticketed
            return self._job_failed(snapshot, attempt, f"{type(exc).__name__}: {exc}")
        self.log.info(
            "%s SageMaker Processing job %s (%s)",
            "Submitted" if created else "Reconnected to",
            name,
            described.get("ProcessingJobStatus"),
        )
        return self._after_job(snapshot, plan, attempt, described)

    def _after_job(
        self, snapshot: Snapshot, plan: RiskTestPlan, attempt: int, described: Mapping[str, Any]
    ) -> Step:
        name = str(described.get("ProcessingJobName"))
        status = described.get("ProcessingJobStatus")
        if status in JOB_RUNNING:
            return AwaitJob(name, attempt)
        if status != JOB_SUCCEEDED:
            reason = job_failure(described)
            refusal = runs.container_refusal(reason)
            if refusal is not None:  # the container found the pinned data changed: not transient
                return self._refuse(snapshot, attempt, refusal)
            return self._job_failed(snapshot, attempt, reason)
        location = job_report_location(self.evidence.bucket, name)
        try:
            report = runs.read_job_report(self.evidence, location)
        except ModelGovernanceError as exc:
            return self._job_failed(
                snapshot, attempt, f"Processing job {name} completed, but its report: {exc}"
            )
        try:
            report = runs.add_job_provenance(report, plan, snapshot, described, location)
        except RiskTestInputError as exc:
            return self._job_failed(snapshot, attempt, f"Processing job {name} completed, but {exc}")
        champion = self._champion(snapshot)
        if champion is not None:
            from model_governance.risk_tests.champion import ChampionScoresError

            try:
                report.champion = runs.champion_in_worker(
                    self.entity.s3_client, self.entity.aws_conn_id, plan, champion
                )
            except PinnedDataChangedError as exc:
                return self._refuse(snapshot, attempt, exc)
            except ChampionScoresError as exc:
                return self._refuse_champion(snapshot, attempt, champion, exc)
            except ModelGovernanceError as exc:
                return self._job_failed(
                    snapshot, attempt, f"Processing job {name} completed, but the champion comparison: {exc}"
                )
        return self._record_report(snapshot, attempt, report)

    # -- failures and their tickets ---------------------------------------------------------------------
    # The RISK_TEST_FAILURE ticket is an approval like any other: the approval service opens it, checks who
    # moved it (separation of duties, by Jira account) and records the verified decision; this service only
    # says what a decision does (Done: run again; Rejected: stop).

    def _after_failure(self, snapshot: Snapshot, attempt: int, error: str) -> Step:
        key = self._open_ticket(snapshot, attempt, error)
        if attempt > self.max_reruns:
            self.jira.comment(
                key,
                f"No re-run is left: the standard risk tests failed to run {attempt} time(s) in this DAG "
                f"run (max_reruns={self.max_reruns}), so moving this ticket changes nothing and the run "
                "stops. Fix the cause, then start a new run of the DAG for this model version.",
                marker="mg-risk-tests-no-rerun-left",
            )
            raise self._exhausted(attempt, error, key)
        return AwaitTicket(key, attempt)

    def _exhausted(self, attempt: int, error: str, issue_key: str) -> RiskTestJobError:
        return RiskTestJobError(
            f"The standard risk tests of {self.model.package_arn} (snapshot {self.snapshot_id}) failed to "
            f"run {attempt} time(s), which uses up max_reruns={self.max_reruns}; last: {error} (ticket "
            f"{issue_key}). Fix the cause, then start a new run of the DAG for this model version."
        )

    def _open_ticket(self, snapshot: Snapshot, attempt: int, error: str) -> str:
        """The RISK_TEST_FAILURE ticket of this attempt: found by its marker, else opened with the error."""
        from model_governance.documents.context import Links
        from model_governance.documents.tickets import render_ticket
        from model_governance.ticket_context import snapshot_info, ticket_context

        request = self.failure_request(attempt)
        project = self.jira.settings.project_key or self.config.jira.project_key
        self.jira.check_project(project)
        duties = self.approvals.duties(request)
        ctx = ticket_context(
            self.inventory,
            kind=request.kind,
            model_id=self.model.id,
            approvers=duties["approver_groups"],
            links=Links(
                airflow_run=airflow_run_url(self.config.airflow_base_url, self.ti.dag_id, self.ti.run_id)
            ),
        )
        ctx = replace(
            ctx,
            error=error,
            attempt=attempt,
            max_attempts=max(attempt, self.max_reruns + 1),
            snapshot=snapshot_info(snapshot, pins=False),
            extra={**ctx.extra, "duties": duties},
        )
        settings = self.jira.settings
        rendered = render_ticket(ctx, flavor=settings.flavor, templates_dir=self.config.templates_dir)
        ticket = self.approvals.open(
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
        self.ti.xcom_push(key="failure_issue_key", value=ticket.key)
        return ticket.key

    def _recorded_attempts(self, prefix: str) -> dict[int, RiskTestRun]:
        """The attempts recorded for this task of this DAG run, by attempt number."""
        found: dict[int, RiskTestRun] = {}
        for run in self.inventory.risk_test_runs(self.model, run_key_prefix=f"{prefix}/attempt-"):
            match = _ATTEMPT.search(run.run_key)
            if match and run.run_key == f"{prefix}/attempt-{match.group(1)}":
                found[int(match.group(1))] = run
        return found


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
