"""Deployment settings: one typed, validated place, loaded at task run time.

Where settings come from, later sources overriding earlier ones:

1. The Airflow Variable ``model_governance_config`` (a JSON object, the shape of ``GovernanceConfig``).
2. The environment variable ``MODEL_GOVERNANCE_CONFIG``: a JSON object, or a path to a JSON file.
3. Single-setting environment overrides ``MODEL_GOVERNANCE__<SECTION>__<FIELD>`` (double underscores
   separate the levels, e.g. ``MODEL_GOVERNANCE__JIRA__PROJECT_KEY=MLC``); the value is parsed as JSON
   when it is valid JSON, else taken as a string.

``load_config()`` must only be called from task code (``execute``, callables), never at DAG parse time:
reading Variables at parse time costs a metadata-DB query per parse.

Example::

    {
      "business_entities": [{"name": "retail-bank", "account_id": "123456789012", "region": "us-east-1",
                             "aws_conn_id": "aws_retail", "sqs_queue_url": "https://.../mlc-events.fifo"}],
      "jira": {"conn_id": "jira_default", "project_key": "MLC",
               "approver_groups": {"PRODUCTION": ["model-risk-committee"]}},
      "approvals": {"policies": {"Low": {"failed_tests": "justify"}},
                    "identity_map": {"studio-user-jane": "jane@example.com"}},
      "governance_bucket": "model-governance-artifacts",
      "inventory": {"conn_id": "governance_inventory"},
      "notifications": {"operators": ["mlops@example.com"]},
      "deployment": {"deploy_endpoint": true, "endpoint_name": "{group_name}"},
      "risk_tests": {"runner": "processing", "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mg:1",
                     "role_arn": "arn:aws:iam::123456789012:role/risk-tests", "instance_type": "ml.m5.xlarge",
                     "thresholds": {"High": {"performance.auc": 0.75, "data_drift.ks_statistic": 0.1,
                                             "bias.ppr_disparity": [0.85, 1.15]},
                                    "Low": {"data_drift.ks_pvalue": null}}}
    }
"""

import json
import os
import re
import string
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from model_governance.exceptions import ConfigurationError
from model_governance.redaction import redact_text

VARIABLE_NAME = "model_governance_config"
ENV_CONFIG = "MODEL_GOVERNANCE_CONFIG"
ENV_PREFIX = "MODEL_GOVERNANCE__"


class ApprovalKind(StrEnum):
    """The gates of the MLC that a reviewer decides in Jira."""

    USE_CASE = "USE_CASE"
    PIA = "PIA"
    RISK_TEST_FAILURE = "RISK_TEST_FAILURE"
    TEST_RESULTS_REVIEW = "TEST_RESULTS_REVIEW"
    PRODUCTION = "PRODUCTION"
    #: The periodic revalidation of a Deployed model (dags/model_revalidation.py; docs/monitoring.md).
    REVALIDATION = "REVALIDATION"


class RiskLevel(StrEnum):
    """A use case's risk level; it selects the risk-test thresholds."""

    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_METRIC_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")


class _Settings(BaseModel):
    # Cheap to import (DAG files import this module at parse time): validators are built on first use, and
    # annotations are objects (no ``from __future__ import annotations``): pydantic evaluates no strings.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class BusinessEntityConfig(_Settings):
    """A central SageMaker model registry: an AWS account and region and its Airflow connection."""

    name: Annotated[str, Field(pattern=_NAME, description="short id, e.g. retail-bank")]
    account_id: Annotated[str, Field(pattern=r"^\d{12}$", description="12-digit AWS account id")]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$", description="us-east-1")]
    aws_conn_id: Annotated[str, Field(min_length=1)] = "aws_default"
    role_arn: Annotated[str | None, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")] = None
    sqs_queue_url: Annotated[str | None, Field(pattern=r"^https?://\S+\.fifo$")] = None
    dead_letter_queue_url: Annotated[str | None, Field(pattern=r"^https?://\S+$")] = None


class JiraConfig(_Settings):
    """The Jira connection and project the approval tickets live in."""

    conn_id: Annotated[str, Field(min_length=1)] = "jira_default"
    project_key: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,9}$", description="e.g. MLC")] = "MLC"
    issue_type: Annotated[str, Field(min_length=1)] = "Task"
    done_status: Annotated[str, Field(min_length=1)] = "Done"
    rejected_status: Annotated[str, Field(min_length=1)] = "Rejected"
    #: Jira groups whose members may decide an approval of that kind; empty means anyone but the owner
    #: and the requester (four eyes still applies).
    approver_groups: dict[ApprovalKind, list[Annotated[str, Field(min_length=1)]]] = Field(
        default_factory=dict
    )
    poll_interval_seconds: Annotated[float, Field(ge=5, le=3600)] = 60.0
    approval_sla_hours: Annotated[float, Field(gt=0)] = 72.0


FailedTestsAction = Literal["block", "justify", "allow"]

#: The gates of one model version that count for ``one_person_many_gates`` (a use case approval is about
#: the use case, a risk test failure ticket decides a re-run, not the model).
VERSION_GATES = (ApprovalKind.PIA, ApprovalKind.TEST_RESULTS_REVIEW, ApprovalKind.PRODUCTION)


class ApprovalPolicy(_Settings):
    """Separation of duties for the approvals of one risk level (docs/approvals.md)."""

    #: Jira groups whose members may decide each kind; a kind left out takes ``jira.approver_groups``,
    #: and no group at all means any Jira user who is not excluded.
    approver_groups: dict[ApprovalKind, list[Annotated[str, Field(min_length=1)]]] = Field(
        default_factory=dict
    )
    #: Whether one person may approve more than one of the PIA, test results review and production gates
    #: of the same model version.
    one_person_many_gates: bool = True
    #: What a failed gated risk test does at the test results review: ``block`` (Done is refused until the
    #: version is re-tested), ``justify`` (Done counts only with a justification comment by the approver),
    #: ``allow``.
    failed_tests: FailedTestsAction = "allow"


def _default_policies() -> dict[RiskLevel, ApprovalPolicy]:
    return {
        RiskLevel.HIGH: ApprovalPolicy(one_person_many_gates=False, failed_tests="block"),
        RiskLevel.MEDIUM: ApprovalPolicy(one_person_many_gates=True, failed_tests="justify"),
        RiskLevel.LOW: ApprovalPolicy(one_person_many_gates=True, failed_tests="allow"),
    }


class ApprovalsConfig(_Settings):
    """Who may decide the approvals: the policy per risk level, and the map from AWS identities (and
    emails Jira cannot resolve) to Jira accounts."""

    #: A risk level left out keeps its default (High: one gate per person, block; Medium: justify; Low:
    #: allow); a level given replaces the default for that level as a whole.
    policies: dict[RiskLevel, ApprovalPolicy] = Field(default_factory=_default_policies)
    #: SageMaker identity (Studio user profile name or ARN, IAM or assumed-role ARN; a trailing ``*``
    #: matches a prefix, e.g. every session of a role) or email -> Jira account (Cloud accountId, Data
    #: Center username, or an email Jira resolves). ``null`` says the identity is no person (a pipeline
    #: role) or has no Jira account, so there is nobody to exclude.
    identity_map: dict[Annotated[str, Field(min_length=1)], Annotated[str, Field(min_length=1)] | None] = (
        Field(default_factory=dict)
    )

    @field_validator("policies", mode="after")
    @classmethod
    def _every_level(cls, policies: dict[RiskLevel, ApprovalPolicy]) -> dict[RiskLevel, ApprovalPolicy]:
        return {**_default_policies(), **policies}

    def policy(self, risk_level: RiskLevel | str) -> ApprovalPolicy:
        try:
            level = RiskLevel(risk_level)
        except ValueError:
            known = ", ".join(level.value for level in RiskLevel)
            raise ConfigurationError(
                f"Risk level {risk_level!r} has no approval policy; use one of {known}."
            ) from None
        return self.policies[level]


class InventoryConfig(_Settings):
    """The governance inventory database: a SQLAlchemy URL or an Airflow connection id, not both.

    Neither given means a SQLite file ``model_governance.db`` under ``AIRFLOW_HOME``.
    """

    url: str | None = None
    conn_id: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.url and self.conn_id:
            raise ValueError("give either url or conn_id, not both")
        if self.url is not None and "://" not in self.url:
            raise ValueError("url must be a SQLAlchemy URL such as postgresql+psycopg2://user@host/db")
        return self


class NotificationConfig(_Settings):
    """Who hears about what: operators get failures and drift; the SMTP connection sends the mail."""

    smtp_conn_id: Annotated[str, Field(min_length=1)] = "smtp_default"
    from_email: str = "model-governance@example.com"
    operators: list[str] = Field(default_factory=list)
    compliance: list[str] = Field(default_factory=list)

    @field_validator("from_email")
    @classmethod
    def _from_email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address like name@example.com")
        return value

    @field_validator("operators", "compliance")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EMAIL.match(value):
                raise ValueError(f"{value!r} is not an email address like name@example.com")
        return values


#: Placeholders an endpoint name template may use (see ``DeploymentConfig.endpoint_name``).
ENDPOINT_NAME_FIELDS = frozenset({"group_name", "version", "model_id", "use_case_id"})


class DeploymentConfig(_Settings):
    """Step 7 of the MLC, deployment. Off (the default): an outside deployer deploys the model and reports
    Deployment/Complete in SageMaker; the DAG waits for that. On: after the production approval the DAG
    creates (or updates) the SageMaker endpoint with the snapshot's endpoint configuration, waits in the
    triggerer until it is InService, and reports Deployment/Complete itself."""

    deploy_endpoint: bool = False
    #: The endpoint's name: a template over {group_name}, {version}, {model_id}, {use_case_id}. The default
    #: keeps one endpoint per model group, so a new version updates the endpoint of the one before.
    endpoint_name: Annotated[str, Field(min_length=1, max_length=200)] = "{group_name}"
    #: How often step 7 looks: at the endpoint it deploys, or (deploy_endpoint off) for the outside
    #: deployer's Deployment/Complete.
    poll_interval_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    timeout_minutes: Annotated[float, Field(gt=0)] = 180.0
    #: What the lifecycle sync does with an endpoint still serving a decommissioned model: ``report``
    #: (the default) keeps an urgent ungoverned-endpoint finding open until it stops serving;
    #: ``delete_endpoint`` deletes the endpoint (docs/deployment.md).
    on_decommission: Literal["delete_endpoint", "report"] = "report"
    #: Tags put on endpoints the DAG creates (besides its own governance:* tags).
    tags: dict[Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(max_length=256)]] = (
        Field(default_factory=dict)
    )

    @field_validator("endpoint_name")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"endpoint_name {value!r} is not a valid template ({exc})") from None
        unknown = sorted(names - ENDPOINT_NAME_FIELDS)
        if unknown:
            raise ValueError(
                f"endpoint_name {value!r} uses unknown placeholder(s) {unknown}; known: "
                f"{', '.join('{' + n + '}' for n in sorted(ENDPOINT_NAME_FIELDS))}"
            )
        return value


#: A metric's bound in the settings: a one-sided number, a ``[low, high]`` band, or null (report only).
ThresholdSetting = float | tuple[float, float] | None


def _check_threshold_shape(
    thresholds: dict[RiskLevel, dict[str, ThresholdSetting]], where: str
) -> dict[RiskLevel, dict[str, ThresholdSetting]]:
    # Metric ids and directions are checked against the suite when a snapshot resolves them
    # (risk_tests.thresholds); importing the engine here would slow every task's settings load.
    for level, metrics in thresholds.items():
        for metric, value in metrics.items():
            if not _METRIC_ID.match(metric):
                raise ValueError(
                    f"{where}.{level.value}.{metric}: metric ids look like 'performance.auc' or "
                    "'stability.csi'"
                )
            if isinstance(value, tuple) and value[0] > value[1]:
                raise ValueError(
                    f"{where}.{level.value}.{metric}: band [low, high] needs low <= high, got {list(value)}"
                )
    return thresholds


class RiskTestsConfig(_Settings):
    """Where step 4's standard risk tests run: in the Airflow worker (the default), or as a SageMaker
    Processing job whose container runs ``python -m model_governance.risk_tests`` (the image must have
    this package installed), reading the snapshot's data from S3 and writing the report back to S3."""

    runner: Literal["worker", "processing"] = "worker"
    image_uri: Annotated[str | None, Field(min_length=1, max_length=255)] = None
    role_arn: Annotated[str | None, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")] = None
    instance_type: Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")] = "ml.m5.xlarge"
    volume_size_gb: Annotated[int, Field(ge=1, le=16384)] = 30
    max_runtime_seconds: Annotated[int, Field(ge=60, le=777600)] = 4 * 3600
    #: The container's entrypoint; the job adds the CLI arguments.
    entrypoint: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["python3", "-m", "model_governance.risk_tests"]
    )
    poll_interval_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    #: Per risk level (High, Medium, Low), per metric id: the pass thresholds overriding the suite's
    #: defaults (ModelOp's) for use cases of that level; a metric not named keeps its default. The
    #: snapshot records the risk level and the thresholds that applied, and the review document shows them.
    thresholds: dict[RiskLevel, dict[str, ThresholdSetting]] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _threshold_shape(
        cls, thresholds: dict[RiskLevel, dict[str, ThresholdSetting]]
    ) -> dict[RiskLevel, dict[str, ThresholdSetting]]:
        return _check_threshold_shape(thresholds, "risk_tests.thresholds")

    @model_validator(mode="after")
    def _processing_needs(self) -> Self:
        if self.runner == "processing":
            missing = [name for name in ("image_uri", "role_arn") if getattr(self, name) is None]
            if missing:
                raise ValueError(
                    f"runner 'processing' needs {' and '.join(missing)}: the ECR image with this package "
                    "installed and the IAM role SageMaker runs the job as"
                )
        return self


class SyncConfig(_Settings):
    """The lifecycle sync (dags/sagemaker_lifecycle_sync.py): events from each business entity's SQS FIFO
    queue, an incremental reconcile on a schedule and a full reconcile now and then."""

    #: How often the incremental reconcile runs (cron), besides the runs the queue events start; null:
    #: events and manual runs only.
    reconcile_schedule: Annotated[str | None, Field(min_length=9)] = "*/15 * * * *"
    #: A full reconcile (every package of every registry) at most this often; incremental otherwise.
    full_reconcile_hours: Annotated[float, Field(gt=0)] = 24.0
    #: Search by LastModifiedTime starts this far before the watermark: SageMaker's search index is
    #: eventually consistent, so a change can show up with a time slightly older than one already seen.
    lookback_seconds: Annotated[int, Field(ge=0, le=86400)] = 300
    #: A queue message that failed this many times goes to the business entity's dead-letter queue.
    max_message_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    #: A failed message becomes visible again after this many seconds times its attempts so far.
    message_retry_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    #: How long a received message stays invisible before SQS delivers it again (must exceed a sync run).
    visibility_timeout_seconds: Annotated[int, Field(ge=30, le=43200)] = 900
    #: Long-poll wait and pause between empty polls of the queue, in the triggerer.
    wait_time_seconds: Annotated[int, Field(ge=0, le=20)] = 20
    poll_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    #: Implementation runs started per sync run at most (Airflow maps at most 1,024 tasks); the rest wait
    #: for the next run.
    max_runs_per_sync: Annotated[int, Field(ge=1, le=1024)] = 500
    implementation_dag_id: Annotated[str, Field(min_length=1)] = "sagemaker_model_implementation"
    #: An ``http`` connection to Airflow's REST API (api-server URL, a user who may edit the implementation
    #: DAG's runs): with it, a decommissioned model's implementation run still going is stopped (failed,
    #: with the reason as its note). Without it, the operators are told the run may still be going.
    airflow_api_conn_id: str | None = None


#: What a monitoring breach does beyond its finding ticket and the owner's notification
#: (docs/monitoring.md): ``finding`` only; ``model_change`` also moves a Deployed model to Model Change in
#: Progress (governance's status, written back to SageMaker).
BreachAction = Literal["finding", "model_change"]


def _default_on_breach() -> dict[RiskLevel, BreachAction]:
    return {RiskLevel.HIGH: "model_change", RiskLevel.MEDIUM: "finding", RiskLevel.LOW: "finding"}


class MonitoringConfig(_Settings):
    """Monitoring that acts: a pushed metric that breaches its threshold opens (or updates) one Jira
    finding per model and breach kind, which the ``model_monitoring`` DAG closes when the metric clears."""

    #: Per risk level: ``finding`` (ticket and owner notified) or ``model_change`` (also moves a Deployed
    #: model to Model Change in Progress). A level left out keeps its default (High: model_change, Medium
    #: and Low: finding).
    on_breach: dict[RiskLevel, BreachAction] = Field(default_factory=_default_on_breach)
    #: How often the ``model_monitoring`` DAG opens, updates and closes the finding tickets (cron);
    #: null: manual runs only.
    schedule: Annotated[str | None, Field(min_length=9)] = "*/5 * * * *"
    #: Findings worked per run at most (the rest wait for the next run).
    max_findings_per_run: Annotated[int, Field(ge=1, le=10000)] = 500
    #: Notify the use case's owner when a finding opens (and when it closes).
    notify_owner: bool = True
    #: Statuses a finding ticket passes through, in order, when the workflow has no direct move to the
    #: done status (``jira.done_status``) from where the ticket stands.
    close_via: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=lambda: ["In Progress"])

    @field_validator("on_breach", mode="after")
    @classmethod
    def _every_level(cls, actions: dict[RiskLevel, BreachAction]) -> dict[RiskLevel, BreachAction]:
        return {**_default_on_breach(), **actions}

    def action(self, risk_level: RiskLevel | str) -> BreachAction:
        """The breach action of a risk level; an unknown level is a clear error."""
        try:
            level = RiskLevel(risk_level)
        except ValueError:
            known = ", ".join(level.value for level in RiskLevel)
            raise ConfigurationError(
                f"Risk level {risk_level!r} has no monitoring.on_breach action; use one of {known}."
            ) from None
        return self.on_breach[level]


def _default_intervals() -> dict[RiskLevel, int]:
    return {RiskLevel.HIGH: 90, RiskLevel.MEDIUM: 180, RiskLevel.LOW: 365}


class RevalidationConfig(_Settings):
    """Scheduled revalidation of Deployed models (dags/model_revalidation.py, docs/monitoring.md)."""

    #: Days between revalidations per risk level; a revalidation approval is valid this long. A level left
    #: out keeps its default (High 90, Medium 180, Low 365).
    interval_days: dict[RiskLevel, Annotated[int, Field(ge=1, le=3650)]] = Field(
        default_factory=_default_intervals
    )
    #: Start a revalidation this many days before it is due (the reviewers need time).
    lead_days: Annotated[int, Field(ge=0, le=365)] = 14
    #: The package's customer metadata key naming the latest production data (an ``s3://`` URI, Parquet
    #: or CSV, same schema as the baseline): what the standard risk tests compare with the baseline.
    production_data_key: Annotated[str, Field(min_length=1, max_length=128)] = "PRODUCTION_DATA"
    #: Revalidations started per DAG run at most (Airflow maps at most 1,024 tasks).
    max_per_run: Annotated[int, Field(ge=1, le=1024)] = 100

    @field_validator("interval_days", mode="after")
    @classmethod
    def _every_level(cls, days: dict[RiskLevel, int]) -> dict[RiskLevel, int]:
        return {**_default_intervals(), **days}

    def interval(self, risk_level: RiskLevel | str) -> int:
        try:
            level = RiskLevel(risk_level)
        except ValueError:
            known = ", ".join(level.value for level in RiskLevel)
            raise ConfigurationError(
                f"Risk level {risk_level!r} has no revalidation.interval_days; use one of {known}."
            ) from None
        return self.interval_days[level]


ThresholdValue = float | tuple[float, float]

#: What a well-formed value looks like, for settings checked by a pattern.
_EXPECTED_FORM = {
    "name": "a short id of letters, digits, '.', '_' or '-', e.g. retail-bank",
    "account_id": "a 12-digit AWS account id, e.g. 123456789012",
    "region": "an AWS region name, e.g. us-east-1",
    "role_arn": "an IAM role ARN, e.g. arn:aws:iam::123456789012:role/governance",
    "sqs_queue_url": "an SQS FIFO queue URL ending in .fifo",
    "dead_letter_queue_url": "an SQS queue URL",
    "project_key": "an upper-case Jira project key of 2-10 characters, e.g. MLC",
    "governance_bucket": "an S3 bucket name (3-63 lower-case letters, digits, '.' or '-')",
}


class GovernanceConfig(_Settings):
    """Every deployment setting of the model governance DAGs."""

    business_entities: list[BusinessEntityConfig] = Field(default_factory=list)
    jira: JiraConfig = Field(default_factory=JiraConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    governance_bucket: Annotated[
        str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="S3 bucket name")
    ] = "model-governance"
    inventory: InventoryConfig = Field(default_factory=InventoryConfig)
    #: Older spelling of ``risk_tests.thresholds`` (still read; ``risk_tests.thresholds`` wins per metric).
    risk_thresholds: dict[RiskLevel, dict[str, ThresholdSetting]] = Field(default_factory=dict)
    notifications: NotificationConfig = Field(default_factory=NotificationConfig)
    deployment: DeploymentConfig = Field(default_factory=DeploymentConfig)
    risk_tests: RiskTestsConfig = Field(default_factory=RiskTestsConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    revalidation: RevalidationConfig = Field(default_factory=RevalidationConfig)
    #: A folder of Jinja templates that override ours by name (review_document/, jira/, email/).
    templates_dir: str | None = None
    airflow_base_url: str = "http://localhost:8080"
    dashboard_base_url: str | None = None

    @field_validator("business_entities")
    @classmethod
    def _unique_entities(cls, entities: list[BusinessEntityConfig]) -> list[BusinessEntityConfig]:
        names = [entity.name for entity in entities]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"business entity names must be unique; repeated: {', '.join(duplicates)}")
        return entities

    @field_validator("risk_thresholds")
    @classmethod
    def _threshold_shape(
        cls, thresholds: dict[RiskLevel, dict[str, ThresholdSetting]]
    ) -> dict[RiskLevel, dict[str, ThresholdSetting]]:
        return _check_threshold_shape(thresholds, "risk_thresholds")

    def threshold_settings(self) -> dict[str, dict[str, ThresholdSetting]]:
        """The configured threshold overrides per risk level: ``risk_tests.thresholds`` over the older
        top-level ``risk_thresholds``, metric by metric. Levels and metrics not named keep the defaults."""
        merged: dict[str, dict[str, ThresholdSetting]] = {}
        for source in (self.risk_thresholds, self.risk_tests.thresholds):
            for level, metrics in source.items():
                merged.setdefault(level.value, {}).update(metrics)
        return merged

    def business_entity(self, name: str) -> BusinessEntityConfig:
        """The business entity called ``name``; a clear error lists the configured ones."""
        for entity in self.business_entities:
            if entity.name == name:
                return entity
        known = ", ".join(e.name for e in self.business_entities) or "none configured"
        raise ConfigurationError(
            f"Business entity {name!r} is not configured (known: {known}); add it to "
            f"business_entities in the {VARIABLE_NAME!r} Variable."
        )


def parse_config(raw: Mapping[str, Any], *, source: str = "configuration") -> GovernanceConfig:
    """Validate ``raw`` settings; every problem is named by its setting path and expected form."""
    try:
        return GovernanceConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or "(top level)"
            given = error.get("input")
            # The given value is shown to say what was wrong, without the secret it may hold (a URL password).
            shown = "" if isinstance(given, dict | list) else f" (got {redact_text(repr(given))})"
            message = error["msg"]
            expected = _EXPECTED_FORM.get(str(error["loc"][-1])) if error["loc"] else None
            if error["type"] == "string_pattern_mismatch" and expected:
                message = f"expected {expected}"
            problems.append(f"  {path}: {message}{shown}")
        raise ConfigurationError(
            f"Invalid model governance settings in {source}:\n" + "\n".join(problems)
        ) from None


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    node = target
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key, text in sorted(environ.items()):
        if not key.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        _set_path(overrides, path, value)
    return overrides


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_json_setting(text: str, source: str) -> dict[str, Any]:
    stripped = text.strip()
    if not stripped.startswith("{"):
        path = Path(stripped).expanduser()
        if not path.is_file():
            raise ConfigurationError(
                f"{source} must be a JSON object or the path of a JSON file; "
                f"{redact_text(repr(stripped))} is neither."
            )
        stripped, source = path.read_text(encoding="utf-8"), f"{source} file {path}"
    try:
        value = json.loads(stripped)
    except ValueError as exc:
        raise ConfigurationError(f"{source} is not valid JSON ({exc}); fix the JSON object.") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{source} must be a JSON object, got {type(value).__name__}.")
    return value


def load_config(
    variable_text: str | None = None, environ: Mapping[str, str] | None = None
) -> GovernanceConfig:
    """Load and validate the settings at task run time (see the module docstring for the sources).

    ``variable_text`` and ``environ`` are for tests; by default the Airflow Variable and ``os.environ``
    are read.
    """
    env = os.environ if environ is None else environ
    if variable_text is None:
        variable_text = _read_variable()
    raw: dict[str, Any] = {}
    if variable_text:
        raw = _read_json_setting(variable_text, f"Airflow Variable {VARIABLE_NAME!r}")
    if env.get(ENV_CONFIG):
        raw = _deep_merge(raw, _read_json_setting(env[ENV_CONFIG], f"environment variable {ENV_CONFIG}"))
    raw = _deep_merge(raw, _env_overrides(env))
    return parse_config(raw, source=f"Variable {VARIABLE_NAME!r} with environment overrides")


def _mask_url_password(url: str) -> None:
    """Tell Airflow's log masker about a password written into a settings URL (task logs mask it too)."""
    from urllib.parse import urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if not password:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # outside Airflow (CLI, Processing job): our own redaction still applies
        return
    mask_secret(password)


def _read_variable() -> str | None:
    # Imported here: the domain modules that use the settings must stay importable without Airflow.
    from airflow.sdk import Variable

    value = Variable.get(VARIABLE_NAME, default=None)
    return None if value is None else str(value)


def default_inventory_url(environ: Mapping[str, str] | None = None) -> str:
    """The SQLite file under ``AIRFLOW_HOME`` used when no inventory database is configured."""
    env = os.environ if environ is None else environ
    home = Path(env.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return f"sqlite:///{home / 'model_governance.db'}"


def inventory_url(config: GovernanceConfig, environ: Mapping[str, str] | None = None) -> str:
    """The inventory's SQLAlchemy URL: the configured URL, the Airflow connection's URI, or the default."""
    if config.inventory.url:
        _mask_url_password(config.inventory.url)
        return config.inventory.url
    if config.inventory.conn_id:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(config.inventory.conn_id)
        uri = conn.get_uri()
        # Airflow spells Postgres connections "postgres://"; SQLAlchemy 2 only accepts "postgresql://".
        if uri.startswith("postgres://"):
            uri = "postgresql+psycopg2://" + uri[len("postgres://") :]
        return uri
    return default_inventory_url(environ)
