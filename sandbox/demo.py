"""The main job end to end on the embedded default: ``python -m sandbox.demo`` (``make demo``).

Starts the AWS and Jira sandboxes, an SMTP sink and Airflow (SQLite, LocalExecutor: api-server,
scheduler, dag-processor, triggerer), then plays every person in the story:

- the requester registers a use case (the ``use_case_registration`` DAG, as the trigger form would);
- reviewers (a bot, never the owner) approve each Jira ticket after a short wait, as a person would on
  the sandbox's reviewer page: a different reviewer per gate of the version (separation of duties), and
  at the test results review a justification comment first (the Medium policy for failed tests);
- the data scientist registers a model version in the new group, with synthetic baseline and comparator
  data in S3, the risk test schema and an endpoint configuration;
- SageMaker tells governance: the registration is an EventBridge event on the business entity's SQS FIFO
  queue, which the triggerer's ``AssetWatcher`` hands to ``sagemaker_lifecycle_sync``; the sync onboards
  the version and starts its implementation run under its deterministic id
  (``model_governance.sync.mlc_run_id``). No run is started by hand;
- the deployer deploys the version (an endpoint running the package's endpoint configuration, whose
  model runs the package's image and model data) and, once it is InService, reports it deployed in
  SageMaker (Deployment/Complete): governance records Deployed only when an endpoint serves the version.

- after go-live, a monitor pushes a metric breach three times through the dashboard's push API
  (``POST /model-governance/api/v1/metrics``, as admin) and the ``model_monitoring`` DAG (triggered at
  once instead of waiting for its five-minute schedule) opens one finding ticket in Jira.

It waits until the model is Deployed, prints a summary (the run the sync started, statuses with times,
tickets and who approved them, the review document and its hash, the audit pack), checks the end (below),
prints the finding and exits 0. ``--keep-running``
(``make up``) leaves everything running for a person to use instead of the bot: the Airflow UI and the
Jira reviewer page.

Chaos mode: ``--faults 0.1`` (``make demo FAULTS=0.1``) turns on, for every caller (Airflow's tasks and
triggerer, the bots, the demo itself), Jira 429s, 5xx answers and dropped responses (a write committed,
then the connection closed) at that rate each, and AWS throttling at that rate; ``--seed`` (``SEED=``)
seeds both sandboxes' fault generators, so a run meets the same faults again. The bots retry with backoff
and read back as the product does. The run must end exactly as a clean one: Deployed, one ticket per gate,
no status event twice, the audit chain intact, one ticket for the finding; the faults that fired are
printed.

Exit codes: 0 the model is Deployed and every end check passed; 1 a run ended otherwise or an end check
failed (the message says which); 2 bad arguments; 3 a run did not finish within ``--timeout``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[1]
OWNER = "owner@example.com"
REVIEWER = "reviewer@example.com"
#: Who the reviewer bot approves each kind of ticket as (by its label): no one passes two gates.
REVIEWERS = {
    "approval-use-case": REVIEWER,
    "approval-pia": REVIEWER,
    "approval-risk-test-failure": "risk-officer@example.com",
    "approval-test-results-review": "risk-officer@example.com",
    "approval-production": "private-reviewer@example.com",
}
JUSTIFICATION = (
    "Justification: the income and utilisation drift is this quarter's known rate change, and the south "
    "region disparity is within the monitoring plan agreed with the model risk committee."
)
ENTITY = "retail-bank"
BUCKET = "model-governance"
DATA_BUCKET = "ml-data"
#: The business entity's EventBridge -> SQS FIFO queue of model package events, and its dead-letter queue.
EVENTS_QUEUE = "retail-bank-model-events.fifo"
DEAD_LETTER_QUEUE = "retail-bank-model-events-dead.fifo"
SYNC_DAG = "sagemaker_lifecycle_sync"
MLC_DAG = "sagemaker_model_implementation"
MONITORING_DAG = "model_monitoring"
#: The breach the demo's monitor pushes (three times): AUC below its floor.
BREACH = {
    "metric": "auc",
    "threshold": 0.75,
    "direction": "higher_is_better",
    "source": "sagemaker-model-monitor",
}
BREACH_VALUES = (0.68, 0.66, 0.64)


@dataclass
class Demo:
    workdir: Path
    approve_after: float
    timeout: float
    started: float = field(default_factory=time.monotonic)
    handled: set[str] = field(default_factory=set)
    first_seen: dict[str, float] = field(default_factory=dict)
    #: Failures the bots met and retried (a fault of the sandboxes, seen from the outside).
    retried: int = 0

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)


#: boto3 retries of the demo's own clients, as the product's: adaptive, ten attempts (throttling included).
AWS_RETRIES = {"mode": "adaptive", "max_attempts": 10}


def aws_client(aws: Any, service: str) -> Any:
    """A boto3 client on the AWS sandbox that rides out throttling as the product's clients do."""
    return aws.client(service, retries=AWS_RETRIES)


def transient(exc: BaseException) -> bool:
    """Whether a bot's call failed in a way worth retrying: 429/5xx, a lost connection, AWS throttling."""
    import requests
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from jira import JIRAError

    if isinstance(exc, JIRAError):
        return exc.status_code is None or exc.status_code == 429 or exc.status_code >= 500
    if isinstance(exc, requests.exceptions.RequestException | BotoConnectionError):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return "Throttl" in code or code in ("SlowDown", "RequestThrottled") or status >= 500
    return False


def retrying(demo: Demo | None, what: str, call: Callable[[], T], attempts: int = 8) -> T:
    """``call()``, retried with backoff on transient failures (only for reads and idempotent writes)."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == attempts or not transient(exc):
                raise
            if demo is not None:
                demo.retried += 1
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
    raise AssertionError("unreachable")


def governance_env(
    aws: Any, jira: Any, smtp: Any, inventory_url: str, settings: dict[str, Any] | None = None
) -> dict[str, str]:
    """The environment an Airflow process needs to run the governance DAGs against the local stand-ins:
    the settings (``settings`` adds or replaces whole sections) and the aws, jira and smtp connections."""
    from sandbox.airflow_cluster import SANDBOX_AUDIT_KEYS

    key_id, secret = SANDBOX_AUDIT_KEYS.split(":", 1)
    return {
        "MODEL_GOVERNANCE_CONFIG": json.dumps({**_settings(aws, inventory_url), **(settings or {})}),
        **_connections(aws, jira, smtp),
        # The audit chain's key, as production holds it: an Airflow connection (login = key id).
        "AIRFLOW_CONN_MODEL_GOVERNANCE_AUDIT": json.dumps(
            {"conn_type": "generic", "login": key_id, "password": secret}
        ),
    }


def _settings(aws: Any, inventory_url: str) -> dict[str, Any]:
    return {
        "business_entities": [
            {
                "name": ENTITY,
                "account_id": aws.account_id,
                "region": aws.region,
                "aws_conn_id": "aws_retail_bank",
            }
        ],
        "jira": {"conn_id": "jira_default", "project_key": "MLC", "poll_interval_seconds": 5},
        # The outside deployer reports within seconds here; look for it as often (30 s by default).
        "deployment": {"poll_interval_seconds": 5},
        "governance_bucket": BUCKET,
        "inventory": {"url": inventory_url},
        "notifications": {"smtp_conn_id": "smtp_default", "operators": ["mlops@example.com"]},
        # No reconcile on a clock: the demo's versions reach the sync as queue events (``with_events``), and
        # the end-to-end tests start their implementation runs themselves unless they turn events on.
        "sync": {"reconcile_schedule": None},
        # The sandbox signs every AWS call with the shared test credentials: no person to exclude as the
        # registrant of a version (a real deployment maps its Studio profiles and roles here).
        "approvals": {"identity_map": {f"arn:aws:iam::{aws.account_id}:user/testing": None}},
    }


def _connections(aws: Any, jira: Any, smtp: Any) -> dict[str, str]:
    login, secret = jira.credentials()
    return {
        "AIRFLOW_CONN_JIRA_DEFAULT": json.dumps(
            {
                "conn_type": "model_governance_jira",
                "host": jira.url,
                "login": login,
                "password": secret,
                "extra": {"flavor": "cloud"},
            }
        ),
        "AIRFLOW_CONN_AWS_RETAIL_BANK": json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": aws.endpoint_url, "region_name": aws.region},
            }
        ),
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(
            {
                "conn_type": "smtp",
                "host": smtp.host,
                "port": smtp.port,
                "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "governance@example.com"},
            }
        ),
    }


def create_event_queues(aws: Any) -> tuple[str, str]:
    """The business entity's model package event queue and its dead-letter queue (both FIFO), as the
    EventBridge rule's SQS target; the AWS sandbox then sends every model package event to the first.
    (The client rides out throttling; a create of an existing queue with the same attributes is a no-op.)"""
    sqs = aws_client(aws, "sqs")
    urls = [
        str(sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"])
        for name in (EVENTS_QUEUE, DEAD_LETTER_QUEUE)
    ]
    aws.set_events(queue=EVENTS_QUEUE)
    return urls[0], urls[1]


#: The queue watcher of the demo and e2e clusters, brisk and with short long polls: a triggerer stopped in
#: the middle of a long poll leaves the poll running in SQS, and what it receives is hidden for the
#: visibility timeout (900 s) though no one reads it; a 10 s poll lost the e2e's triggerer-restart event so.
BRISK_QUEUE_WATCH = {"wait_time_seconds": 1, "poll_interval_seconds": 1}


def with_events(env: dict[str, str], queue_url: str, dead_letter_url: str) -> dict[str, str]:
    """``env`` with the business entity's event queues: the sync DAG watches the queue (an AssetWatcher in
    the triggerer; read at parse time, so the queue must exist before Airflow starts), polled briskly."""
    settings = json.loads(env["MODEL_GOVERNANCE_CONFIG"])
    settings["business_entities"][0].update(sqs_queue_url=queue_url, dead_letter_queue_url=dead_letter_url)
    settings["sync"] = {**settings.get("sync", {}), **BRISK_QUEUE_WATCH}
    return {**env, "MODEL_GOVERNANCE_CONFIG": json.dumps(settings)}


def wait_started_by_sync(airflow: Any, run_id: str, timeout: float, tick: Callable[[], None]) -> str:
    """Wait until the lifecycle sync has started the implementation run ``run_id`` (``tick()`` between
    looks); the id of the sync run that started it. RuntimeError when something else started it,
    TimeoutError (with the sync's runs) when it does not start within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = airflow.api("GET", f"dags/{MLC_DAG}/dagRuns/{run_id}", allow=(404,))
        if run is not None:
            # The sync starts it with its TriggerDagRunOperator; a person or a test would be rest_api/ui/cli.
            if run.get("triggered_by") != "operator":
                raise RuntimeError(f"{run_id} was not started by the sync but by {run.get('triggered_by')}")
            return sync_run_at(airflow, str(run["queued_at"]))
        tick()
        time.sleep(1)
    raise TimeoutError(
        f"the lifecycle sync did not start {run_id}; its runs: "
        f"{[(r['run_id'], r['state']) for r in airflow.dag_runs(SYNC_DAG)]}"
    )


def sync_run_at(airflow: Any, when: str) -> str:
    """The sync run that was running at ``when`` (ISO time): the sync runs one at a time
    (``max_active_runs=1``), so it is the one whose task started a run queued then."""
    from datetime import UTC, datetime

    at = datetime.fromisoformat(when)
    for run in reversed(airflow.dag_runs(SYNC_DAG)):
        if not run.get("start_date"):
            continue
        end = datetime.fromisoformat(run["end_date"]) if run.get("end_date") else datetime.now(UTC)
        if datetime.fromisoformat(run["start_date"]) <= at <= end:
            return str(run["run_id"])
    raise RuntimeError(f"no sync run was running when the implementation run was queued ({when})")


def push_metric(airflow: Any, body: dict[str, Any]) -> dict[str, Any]:
    """One value through the monitoring push API of the cluster's api-server, as its admin (an Airflow
    JWT from ``/auth/token``); the 201 answer (RuntimeError with the answer otherwise)."""
    import urllib.error
    import urllib.request

    def post(url: str, payload: dict[str, Any], headers: dict[str, str]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the demo's own api-server
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our api-server
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"POST {url} answered {exc.code}: {exc.read()[:2000]!r}") from None

    token = post(f"{airflow.url}/auth/token", {"username": "admin", "password": airflow.password}, {})
    return dict(
        post(
            f"{airflow.url}/model-governance/api/v1/metrics",
            body,
            {"Authorization": f"Bearer {token['access_token']}"},
        )
    )


def breach_body(arn: str, value: float) -> dict[str, Any]:
    """A monitoring value past its threshold (``BREACH``), recorded now."""
    from datetime import UTC, datetime

    return {**BREACH, "model_package_arn": arn, "value": value, "recorded_at": datetime.now(UTC).isoformat()}


def carry_findings(airflow: Any, run_prefix: str, done: Callable[[], bool], runs: int = 3) -> list[str]:
    """Trigger ``model_monitoring`` now (instead of waiting for its schedule) until ``done()``: a finding
    one run could not carry (Jira failing) is carried by the next, as the schedule would. The run ids."""
    started = []
    for attempt in range(1, runs + 1):
        run_id = f"{run_prefix}-{attempt}"
        airflow.trigger(MONITORING_DAG, run_id)
        started.append(run_id)
        state = airflow.wait_for_run(MONITORING_DAG, run_id, timeout=300)
        if state == "success" and done():
            return started
    raise RuntimeError(f"model_monitoring did not carry the finding into Jira in runs {started}")


def finding_tickets(jira: Any, marker: str) -> list[Any]:
    """The Jira tickets carrying a finding's marker label."""
    client = jira_client(jira)
    try:
        return list(client.enhanced_search_issues(f'project = MLC AND labels = "{marker}"', maxResults=False))
    finally:
        client.close()


def _approve_open_tickets(demo: Demo, jira: Any) -> None:
    """The reviewer bot: every open governance ticket older than ``approve_after`` is moved to Done.

    As resilient as the product: reads are retried with backoff, the justification comment is read back
    before it is (re)sent (its answer may be lost after Jira committed it), and a tick that still fails is
    tried again at the next tick.
    """
    try:
        client = jira_client(jira, demo=demo)
    except Exception as exc:
        if not transient(exc):
            raise
        return  # Jira kept failing: the next tick tries again
    try:
        issues = retrying(
            demo,
            "search open tickets",
            lambda: client.enhanced_search_issues(
                'project = MLC AND labels = "model-governance" AND status = "To Do"'
            ),
        )
        for issue in issues:
            if issue.key in demo.handled or "monitoring-finding" in issue.fields.labels:
                continue  # a monitoring finding is for the model's owner to act on, not an approval
            # A person takes a moment to read the ticket; so does the bot.
            seen = demo.first_seen.setdefault(issue.key, time.monotonic())
            if time.monotonic() - seen < demo.approve_after:
                continue
            labels = set(issue.fields.labels)
            reviewer = next((who for label, who in REVIEWERS.items() if label in labels), REVIEWER)
            if "approval-test-results-review" in labels:
                # Failed tests at a Medium use case: Done counts only with the approver's justification.
                justify(demo, jira, issue.key, reviewer)
            jira.transition_as(issue.key, "Done", reviewer)
            demo.handled.add(issue.key)
            demo.say(f"{reviewer} approved {issue.key}: {issue.fields.summary}")
    except Exception as exc:
        if not transient(exc):
            raise
        demo.retried += 1
        demo.say(f"reviewer bot: Jira failed ({type(exc).__name__}); trying again at the next tick")
    finally:
        client.close()


def jira_client(jira: Any, name: str = "mlc-bot", demo: Demo | None = None) -> Any:
    """A ``jira.JIRA`` client; its constructor reads the server info (Cloud or not), retried like any read."""
    return retrying(demo, "connect to Jira", lambda: jira.client(name))


def justify(demo: Demo | None, jira: Any, key: str, reviewer: str) -> None:
    """Add the reviewer's justification comment once: read back before each (re)send."""
    as_reviewer = jira_client(jira, reviewer.split("@", 1)[0], demo)
    try:
        for attempt in range(1, 9):
            comments = retrying(demo, "read comments", lambda: as_reviewer.comments(key))
            if any(JUSTIFICATION in str(c.body) for c in comments):
                return
            try:
                as_reviewer.add_comment(key, JUSTIFICATION)
                return
            except Exception as exc:
                if attempt == 8 or not transient(exc):
                    raise
                if demo is not None:
                    demo.retried += 1
                time.sleep(min(0.5 * 2**attempt, 8.0))
    finally:
        as_reviewer.close()


def _wait_run(demo: Demo, airflow: Any, jira: Any, dag_id: str, run_id: str) -> str:
    deadline = time.monotonic() + demo.timeout
    while time.monotonic() < deadline:
        state = airflow.run_state(dag_id, run_id)
        if state in ("success", "failed"):
            return str(state)
        _approve_open_tickets(demo, jira)
        time.sleep(2)
    raise TimeoutError(f"{dag_id} run {run_id} did not finish: {airflow.task_states(dag_id, run_id)}")


def _register_model_version(demo: Demo, aws: Any, group: str) -> str:
    """The data scientist: data, schema and endpoint configuration, then the model package version."""
    import numpy as np
    import pyarrow.parquet as pq

    from model_governance.documents.sample import SCHEMA, credit_applications

    s3, sagemaker = aws_client(aws, "s3"), aws_client(aws, "sagemaker")
    for bucket in (DATA_BUCKET, BUCKET):
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)
    rng = np.random.default_rng(20261122)
    uris = {}
    for role, rows, drifted in (("BASELINE_DATA", 20_000, False), ("COMPARATOR_DATA", 8_000, True)):
        buffer = io.BytesIO()
        pq.write_table(credit_applications(rng, rows, drifted=drifted), buffer)
        key = f"{group}/{role.lower()}.parquet"
        s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=buffer.getvalue())
        uris[role] = f"s3://{DATA_BUCKET}/{key}"
    schema_key = f"{group}/risk-test-schema.json"
    s3.put_object(Bucket=DATA_BUCKET, Key=schema_key, Body=json.dumps(SCHEMA).encode())
    uris["RISK_TEST_SCHEMA"] = f"s3://{DATA_BUCKET}/{schema_key}"
    image = f"{aws.account_id}.dkr.ecr.{aws.region}.amazonaws.com/credit-default:1"
    artifact = f"s3://{DATA_BUCKET}/{group}/model.tar.gz"
    s3.put_object(Bucket=DATA_BUCKET, Key=f"{group}/model.tar.gz", Body=b"demo model artifact")
    role_arn = f"arn:aws:iam::{aws.account_id}:role/sagemaker-execution"
    sagemaker.create_model(
        ModelName=f"{group}-v1",
        PrimaryContainer={"Image": image, "ModelDataUrl": artifact},
        ExecutionRoleArn=role_arn,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{group}-v1",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": f"{group}-v1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    package = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="Credit default model v1: gradient boosting on application data",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": artifact}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="PendingManualApproval",
        ModelLifeCycle={"Stage": "Development", "StageStatus": "Complete"},
        CustomerMetadataProperties={**uris, "ENDPOINT_CONFIG": f"{group}-v1"},
    )
    arn = str(package["ModelPackageArn"])
    demo.say(f"data scientist registered {arn}")
    return arn


def deployer_step(sagemaker: Any, arn: str) -> str | None:
    """One look by the outside deployer; returns the endpoint's name when it reported Deployment/Complete.

    It acts on what SageMaker says (Deployment/Approved, written by the MLC after the inventory), not on
    the inventory: acting earlier would race the MLC's own write. It creates an endpoint (named after the
    package's ENDPOINT_CONFIG) running that configuration and reports Deployment/Complete only once the
    endpoint is InService; reported again if governance wrote Deployment/Approved back meanwhile.
    """
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    lifecycle = package.get("ModelLifeCycle") or {}
    if (lifecycle.get("Stage"), lifecycle.get("StageStatus")) != ("Deployment", "Approved"):
        return None
    config = str(package["CustomerMetadataProperties"]["ENDPOINT_CONFIG"])
    try:
        status = sagemaker.describe_endpoint(EndpointName=config)["EndpointStatus"]
    except sagemaker.exceptions.ClientError as exc:
        if transient(exc):
            raise  # throttled: look again at the next step, never create twice
        try:
            sagemaker.create_endpoint(EndpointName=config, EndpointConfigName=config)
        except sagemaker.exceptions.ClientError as again:
            # The answer to an earlier create was lost and the client's retry found it: it exists.
            if "already exist" not in str(again):
                raise
        return None
    if status != "InService":
        return None
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelLifeCycle={
            "Stage": "Deployment",
            "StageStatus": "Complete",
            "StageDescription": f"endpoint {config} InService",
        },
    )
    return config


def run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    import os

    from model_governance.inventory import Inventory
    from model_governance.services.evidence import S3AnchorStore
    from model_governance.sync import mlc_run_id
    from sandbox.airflow_cluster import SANDBOX_AUDIT_KEYS, AirflowCluster

    # The demo's own inventory (the summary) verifies the chain with the key the cluster signs with.
    os.environ.setdefault("MODEL_GOVERNANCE_AUDIT_KEYS", SANDBOX_AUDIT_KEYS)
    from sandbox.aws.pytest_fixtures import start_sandbox
    from sandbox.jira.pytest_fixtures import start_jira_sandbox
    from sandbox.smtp.pytest_fixtures import start_smtp_sink

    workdir = Path(args.workdir).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    demo = Demo(workdir, approve_after=args.approve_after, timeout=args.timeout)
    aws = start_sandbox("--seed", str(args.seed))
    jira = start_jira_sandbox("cloud", state_file=workdir / "jira.db", args=["--seed", str(args.seed)])
    smtp = start_smtp_sink(workdir / "mail")
    airflow = None
    try:
        demo.say(f"AWS sandbox {aws.endpoint_url}, Jira sandbox {jira.url} (reviewer page), SMTP {smtp.port}")
        if args.faults:
            chaos(aws, jira, args.faults, args.seed)
            demo.say(
                f"chaos mode: Jira 429/5xx/dropped responses at {args.faults:g} each, AWS throttling, "
                f"500s and lost answers at {args.faults:g} in all, seed {args.seed}, for every caller"
            )
        inventory_url = f"sqlite:///{workdir / 'inventory.db'}"
        retrying(demo, "create bucket", lambda: aws_client(aws, "s3").create_bucket(Bucket=BUCKET))
        queue_url, dead_letter_url = create_event_queues(aws)
        env = with_events(governance_env(aws, jira, smtp, inventory_url), queue_url, dead_letter_url)
        airflow = AirflowCluster(home=workdir / "airflow", overrides=env).start()
        demo.say(f"Airflow api-server on http://127.0.0.1:{airflow.port}")
        demo.say(f"SageMaker model package events go to {EVENTS_QUEUE}, watched by the lifecycle sync")
        for dag_id in ("use_case_registration", MLC_DAG, SYNC_DAG, MONITORING_DAG):
            airflow.wait_for_dag(dag_id)
        if args.keep_running:
            demo.say("everything is running; Ctrl-C stops it")
            while True:
                time.sleep(3600)

        form = {
            "name": "Retail credit default",
            "description": "Predict which credit applicants default within 12 months, to route the riskiest "
            "applications to an underwriter.",
            "business_entity": ENTITY,
            # Medium: failed tests need a justification at the review (High would block them until the
            # version is re-tested; the demo data fails drift and bias tests on purpose).
            "risk_level": "Medium",
            "owner": OWNER,
            "data_science_email": "ds-team@example.com",
            "model_type": "SAGEMAKER",
        }
        airflow.trigger("use_case_registration", "demo-use-case", conf=form)
        demo.say("requester registered the use case")
        state = _wait_run(demo, airflow, jira, "use_case_registration", "demo-use-case")
        if state != "success":
            raise RuntimeError(
                f"use_case_registration ended {state}: "
                f"{airflow.task_states('use_case_registration', 'demo-use-case')}"
            )
        # The anchors let the summary's verify compare the chain with its newest head in S3.
        inventory = Inventory.from_url(inventory_url, anchors=S3AnchorStore(aws_client(aws, "s3"), BUCKET))
        use_case = inventory.find_use_case(business_entity=ENTITY, name=form["name"])
        group = inventory.model_group_of_use_case(use_case.id) if use_case else None
        if group is None:
            raise RuntimeError("the use case was approved but has no model group")
        demo.say(
            f"model package group {group.name} created; the team was emailed ({len(smtp.messages())} mails)"
        )

        arn = _register_model_version(demo, aws, group.name)
        run_id = mlc_run_id(ENTITY, arn)
        sync_run = wait_started_by_sync(
            airflow, run_id, demo.timeout, lambda: _approve_open_tickets(demo, jira)
        )
        demo.say(
            f"the lifecycle sync (run {sync_run}) onboarded the version from its event and started {run_id}"
        )
        deadline = time.monotonic() + demo.timeout
        sagemaker = aws_client(aws, "sagemaker")
        deployed_reported = False
        run_state: str | None = None
        while time.monotonic() < deadline:
            _approve_open_tickets(demo, jira)
            try:
                endpoint = deployer_step(sagemaker, arn)
            except Exception as exc:
                if not transient(exc):
                    raise
                demo.retried += 1
                endpoint = None  # throttled: the deployer looks again at the next step
            if endpoint and not deployed_reported:
                deployed_reported = True
                demo.say(f"deployer deployed endpoint {endpoint} and reported it (Deployment/Complete)")
            run_state = airflow.run_state(MLC_DAG, run_id)
            if run_state in ("success", "failed"):
                break
            time.sleep(2)
        tasks = airflow.task_states(MLC_DAG, run_id)
        if run_state is None or run_state not in ("success", "failed"):
            raise TimeoutError(f"sagemaker_model_implementation did not finish: {tasks}")
        if run_state != "success":
            raise RuntimeError(f"sagemaker_model_implementation ended {run_state}: {tasks}")
        demo.say(f"{run_id} ended: the model is {inventory.get_model(arn).status}")
        finding = monitoring_breach(demo, airflow, inventory, arn)
        fired = fault_counts(aws, jira)
        if args.faults:
            # The product's work is done; the summary and the checks read without faults.
            jira.clear_faults()
            aws.set_faults(throttle_rate=0.0, server_error_rate=0.0, lost_response_rate=0.0)
        _summary(inventory, arn, aws, workdir, started=(run_id, sync_run))
        check_clean_end(inventory, arn, jira)
        check_finding(inventory, jira, finding.id)
        print(
            f"faults fired: Jira {fired['jira']} "
            f"({fired['jira_total']} of {fired['jira_requests']} requests), "
            f"AWS of {fired['aws_requests']} requests: {fired['aws_throttled']} throttled, "
            f"{fired['aws_server_errors']} answered 500, "
            f"{fired['aws_lost_answers']} done with the answer lost; "
            f"the bots retried {demo.retried} times; {time.monotonic() - demo.started:.0f}s in all"
        )
        return 0
    finally:
        if airflow is not None:
            airflow.stop()
        for process in (smtp, jira, aws):
            process.stop()


def monitoring_breach(demo: Demo, airflow: Any, inventory: Any, arn: str) -> Any:
    """After go-live: the monitor pushes the same breach three times; the model_monitoring DAG, triggered
    at once, opens its finding's ticket. The finding, carried into Jira."""
    answers = [push_metric(airflow, breach_body(arn, value)) for value in BREACH_VALUES]
    found = [answer["finding"] for answer in answers]
    if [f["opened"] for f in found] != [True, False, False] or len({f["finding_id"] for f in found}) != 1:
        raise RuntimeError(f"three pushes of one breach did not open exactly one finding: {found}")
    finding_id = int(found[0]["finding_id"])
    demo.say(
        f"monitor pushed {BREACH['metric']} = {', '.join(map(str, BREACH_VALUES))} (threshold "
        f"{BREACH['threshold']}) through the push API: finding {finding_id} opened once, counted three times"
    )

    def carried() -> bool:
        finding = inventory.finding(finding_id)
        return (
            bool(finding.jira_key)
            and finding.jira_breaches >= finding.breaches
            and finding.action is not None
        )

    runs = carry_findings(airflow, f"demo-monitoring-{finding_id}", carried)
    finding = inventory.finding(finding_id)
    demo.say(f"model_monitoring ({', '.join(runs)}) opened {finding.jira_key} for finding {finding_id}")
    return finding


def check_finding(inventory: Any, jira: Any, finding_id: int) -> None:
    """One Jira ticket for the finding, the one the inventory names; printed with its breach."""
    from model_governance.services.monitoring import finding_marker

    finding = inventory.finding(finding_id)
    tickets = finding_tickets(jira, finding_marker(finding.model_id, finding.kind, finding.id))
    if [t.key for t in tickets] != [finding.jira_key]:
        raise RuntimeError(
            f"finding {finding.id} has tickets {[t.key for t in tickets]}, not {finding.jira_key}"
        )
    print(
        f"monitoring finding: {finding.jira_key} ({tickets[0].fields.status.name}): {finding.kind} "
        f"{finding.value:g} below its threshold {finding.threshold:g}, {finding.breaches} breaching values "
        f"from {finding.source}, one ticket; breach policy: {finding.action}"
    )


def chaos(aws: Any, jira: Any, rate: float, seed: int) -> None:
    """Turn on the faults of chaos mode in both sandboxes, for every caller."""
    jira.set_faults(
        seed=seed,
        throttle={"rate": rate, "retry_after": 1},
        error={"rate": rate, "status": 503},
        # Every successful POST may lose its answer after the commit: creates, transitions, comments,
        # remote links, attachments (and searches, which are reads).
        drop={"rate": rate, "endpoints": ["POST /rest/api/*"]},
    )
    # AWS: throttling, 500s that did nothing and lost answers (the write done, then a 500), a third each.
    share = rate / 3
    aws.set_faults(throttle_rate=share, server_error_rate=share, lost_response_rate=share, seed=seed)


def fault_counts(aws: Any, jira: Any) -> dict[str, Any]:
    """The faults the sandboxes injected so far, from their own counters."""
    jira_counters, aws_counters = jira.counters(), aws.counters()
    faults = {k: int(v) for k, v in jira_counters["faults"].items() if v}
    return {
        "jira": faults or "none",
        "jira_total": sum(faults.values()),
        "jira_requests": int(jira_counters["total"]),
        "aws_throttled": sum(int(v) for v in aws_counters.get("throttled", {}).values()),
        "aws_server_errors": sum(int(v) for v in aws_counters.get("server_errors", {}).values()),
        "aws_lost_answers": sum(int(v) for v in aws_counters.get("lost_responses", {}).values()),
        "aws_requests": sum(int(v) for v in aws_counters.get("requests", {}).values()),
    }


def check_clean_end(inventory: Any, arn: str, jira: Any) -> None:
    """What any run, clean or under faults, must end with; RuntimeError naming what is wrong otherwise."""
    model = inventory.get_model(arn)
    problems = []
    if model.status != "Deployed":
        problems.append(f"the model is {model.status}, not Deployed")
    events = [(e.from_status, e.to_status) for e in inventory.status_history(model)]
    twice = [pair for pair, n in Counter(events).items() if n > 1]
    if twice:
        problems.append(f"status events recorded twice: {twice}")
    audit = inventory.verify_audit_trail(model)
    if not audit.ok:
        problems.append(f"the audit chain is broken: {audit.problems}")
    client = jira_client(jira)
    try:
        issues = client.enhanced_search_issues(
            'project = MLC AND labels = "model-governance"', maxResults=False
        )
    finally:
        client.close()
    issues = [issue for issue in issues if "monitoring-finding" not in issue.fields.labels]
    markers = Counter(
        label for issue in issues for label in issue.fields.labels if label.startswith("mg-approval-")
    )
    duplicated = sorted(marker for marker, n in markers.items() if n > 1)
    if duplicated or len(markers) != len(issues):
        problems.append(f"more than one ticket for a gate: {duplicated} ({len(issues)} tickets)")
    keys = {a.jira_key for a in inventory.approvals(model_id=model.id)}
    if not keys <= {issue.key for issue in issues}:
        problems.append(f"approvals name tickets that are not there: {sorted(keys)}")
    if problems:
        raise RuntimeError("the demo did not end as a clean run: " + "; ".join(problems))
    print(
        f"end checks: Deployed, one ticket per gate ({len(issues)} tickets), no status event twice, "
        "audit chain intact"
    )


def _summary(inventory: Any, arn: str, aws: Any, workdir: Path, started: tuple[str, str]) -> None:
    model = inventory.get_model(arn)
    print("\n== Summary ==")
    print(f"model {arn}: {model.status}")
    print(
        f"implementation run {started[0]}: started by the lifecycle sync (sync run {started[1]}, from the "
        "SageMaker event on the SQS queue), not by hand"
    )
    print("status history:")
    for event in inventory.status_history(model):
        print(
            f"  {event.created_at:%H:%M:%S} {event.from_status or '-':>26} -> {event.to_status:<26} "
            f"({event.source}: {event.reason})"
        )
    audit = inventory.verify_audit_trail(model)
    print(f"audit trail (keyed chain, S3 anchor): {'intact' if audit.ok else 'BROKEN'}")
    for problem in [] if audit.ok else audit.problems:
        print(f"  {problem}")
    print("approvals:")
    for approval in inventory.approvals(model_id=model.id):
        print(
            f"  {approval.kind:<20} {approval.jira_key:<8} {approval.state:<9} "
            f"by {approval.decided_by} at {approval.decided_at:%H:%M:%S}"
        )
        if approval.justification:
            print(f"  {'':20} justification: {approval.justification}")
    run = inventory.latest_risk_test_run(model)
    if run is not None:
        failed = [r for r in (run.report or {}).get("results", []) if r.get("passed") is False]
        verdict = {True: "passed", False: "failed", None: "needs review"}[run.passed]
        print(f"standard risk tests: {verdict} ({len(failed)} failed results); report {run.report_uri}")
    print("review documents (downloaded for you):")
    s3 = aws_client(aws, "s3")
    for document in inventory.documents(model):
        bucket, key = document.uri[len("s3://") :].split("/", 1)
        local = workdir / "documents" / key.rsplit("/", 1)[1]
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        print(f"  {document.media_type.split(';')[0]:<16} {local}\n  {'':16} sha256 {document.sha256}")
    _evidence_pack(inventory, arn, s3, workdir)


def _evidence_pack(inventory: Any, arn: str, s3: Any, workdir: Path) -> None:
    """Export the model's audit pack and verify it offline, as an auditor would."""
    from model_governance.services.evidence import export_pack, verify_pack

    def fetch(uri: str) -> bytes:
        bucket, key = uri[len("s3://") :].split("/", 1)
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    pack = export_pack(inventory, arn, workdir / "evidence", fetch=fetch)
    problems = verify_pack(pack, inventory.audit_keyring)
    verdict = "verified" if not problems else "NOT verified: " + "; ".join(problems)
    print(f"evidence pack: {pack} (and {pack}.zip): {verdict}")
    print(f"  check it yourself: python -m model_governance.evidence verify {pack}")
    print("  (with the audit key in MODEL_GOVERNANCE_AUDIT_KEYS, as the demo's Airflow has it)")
    if problems:
        raise RuntimeError(f"the demo's evidence pack did not verify: {problems}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(REPO_ROOT / "build" / "demo"))
    parser.add_argument("--keep-running", action="store_true", help="start everything and leave it running")
    parser.add_argument("--approve-after", type=float, default=3.0, help="seconds the reviewer bot waits")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds each DAG run may take")
    parser.add_argument(
        "--faults",
        type=_rate,
        default=0.0,
        help=(
            "chaos mode: Jira 429/5xx/dropped responses at this rate each, AWS throttling, 500s and lost "
            "answers at this rate in all (0..1)"
        ),
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of both sandboxes' fault generators")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except TimeoutError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 3
    except RuntimeError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate between 0 and 1")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
