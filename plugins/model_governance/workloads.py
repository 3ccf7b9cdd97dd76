"""SageMaker workloads of the MLC, as pure functions: the risk test Processing job and the endpoint.

No Airflow and no AWS client here: the operators describe what SageMaker has and hand the answers to
these functions, which name things deterministically (so a retried task finds what an earlier try made)
and decide what to do next.

Risk tests as a Processing job: the job's container runs ``python -m model_governance.risk_tests`` on the
snapshot's BASELINE_DATA, COMPARATOR_DATA and RISK_TEST_SCHEMA objects. A ProcessingInput reads an S3
object's latest version (it takes no VersionId), so pinned data is not a ProcessingInput: the container is
given each object's URI, VersionId and SHA-256 (``--baseline-version-id``, ``--baseline-sha256``, ...),
reads exactly that version itself and verifies the digest (the job's role needs s3:GetObject and
s3:GetObjectVersion on the data). Unpinned inputs (and the thresholds file) are downloaded by SageMaker to
``/opt/ml/processing/input/<role>/``. The report is written to ``/opt/ml/processing/output/report.json``
and uploaded to ``s3://<governance bucket>/risk-tests/jobs/<job name>/report.json`` when the job ends.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from model_governance.exceptions import ConfigurationError, RegistryError
from model_governance.pinned_data import DataPin
from model_governance.snapshots import S3Location

#: SageMaker's pattern for job, endpoint and endpoint configuration names.
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
INPUT_ROOT = "/opt/ml/processing/input"
OUTPUT_DIR = "/opt/ml/processing/output"
REPORT_FILE = "report.json"
JOBS_PREFIX = "risk-tests/jobs"
THRESHOLDS_PREFIX = "risk-tests/thresholds"
#: SageMaker's limit on one ContainerArgument.
MAX_ARGUMENT = 256

#: Processing job statuses: the job still runs in these, and has ended in the others.
JOB_RUNNING = frozenset({"InProgress", "Stopping"})
JOB_SUCCEEDED = "Completed"
#: Endpoint statuses in which SageMaker is still working on the endpoint.
ENDPOINT_BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
ENDPOINT_READY = "InService"


def keyed_job_name(prefix: str, key: str, attempt: int) -> str:
    """The Processing job of one attempt of the work keyed ``key``: the same on every try of that attempt,
    so a retried task reconnects to its job instead of submitting another (a hash keeps it a valid name)."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{prefix}-{digest}-{attempt}"


def risk_test_job_name(dag_id: str, run_id: str, task_id: str, attempt: int) -> str:
    """The Processing job of one attempt of a task's risk tests: the same on every try of that attempt.

    Attempts count the re-runs of the failure-ticket loop, never Airflow's try number, so a retried task
    reconnects to its job instead of submitting another.
    """
    return keyed_job_name("mg-risk-tests", f"{dag_id}\n{run_id}\n{task_id}", attempt)


def job_output_uri(bucket: str, job_name: str) -> str:
    return f"s3://{bucket}/{JOBS_PREFIX}/{job_name}"


def job_report_location(bucket: str, job_name: str) -> S3Location:
    return S3Location(bucket, f"{JOBS_PREFIX}/{job_name}/{REPORT_FILE}")


def thresholds_key(body: bytes) -> str:
    """Where the threshold overrides file of a job is stored: under its SHA-256 (written once)."""
    return f"{THRESHOLDS_PREFIX}/{hashlib.sha256(body).hexdigest()}.json"


@dataclass(frozen=True)
class ProcessingSettings:
    """What the Processing job runs on (from the ``risk_tests`` settings)."""

    image_uri: str
    role_arn: str
    instance_type: str = "ml.m5.xlarge"
    volume_size_gb: int = 30
    max_runtime_seconds: int = 4 * 3600
    entrypoint: Sequence[str] = ("python3", "-m", "model_governance.risk_tests")


def _input(name: str, location: S3Location) -> tuple[dict[str, Any], str]:
    """A ProcessingInput for one object, and the local path the object will have in the container."""
    local_dir = f"{INPUT_ROOT}/{name}"
    return (
        {
            "InputName": name,
            "S3Input": {
                "S3Uri": location.uri,
                "LocalPath": local_dir,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        },
        f"{local_dir}/{PurePosixPath(location.key).name}",
    )


def risk_test_job_request(
    *,
    job_name: str,
    settings: ProcessingSettings,
    baseline: S3Location,
    comparator: S3Location,
    schema: S3Location,
    risk_level: str,
    output_bucket: str,
    thresholds: S3Location | None = None,
    tags: Mapping[str, str] | None = None,
    pins: Mapping[str, DataPin] | None = None,
) -> dict[str, Any]:
    """The CreateProcessingJob request that runs the standard risk tests CLI on the snapshot's data.

    ``pins`` (keyed ``baseline``, ``comparator``, ``schema``) makes the container read those objects at
    their pinned version and verify their SHA-256 instead of SageMaker downloading the latest version.
    """
    inputs = []
    args: list[str] = []
    for name, flag, location in (
        ("baseline", "--baseline", baseline),
        ("comparator", "--comparator", comparator),
        ("schema", "--schema", schema),
        ("thresholds", "--thresholds", thresholds),
    ):
        if location is None:
            continue
        pin = (pins or {}).get(name)
        if pin is not None:
            pinned = [flag, pin.uri, f"{flag}-sha256", pin.sha256]
            if pin.version_id:
                pinned += [f"{flag}-version-id", pin.version_id]
            too_long = [arg for arg in pinned if len(arg) > MAX_ARGUMENT]
            if too_long:
                raise ConfigurationError(
                    f"{pin.role} {pin.uri} cannot be passed to a Processing job: a container argument "
                    f"holds at most {MAX_ARGUMENT} characters. Use a shorter S3 key, or "
                    "risk_tests.runner 'worker'."
                )
            args += pinned
            continue
        item, path = _input(name, location)
        inputs.append(item)
        args += [flag, path]
    args += ["--out", f"{OUTPUT_DIR}/{REPORT_FILE}", "--risk-level", risk_level]
    return {
        "ProcessingJobName": job_name,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "report",
                    "S3Output": {
                        "S3Uri": job_output_uri(output_bucket, job_name),
                        "LocalPath": OUTPUT_DIR,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": settings.instance_type,
                "VolumeSizeInGB": settings.volume_size_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "AppSpecification": {
            "ImageUri": settings.image_uri,
            "ContainerEntrypoint": list(settings.entrypoint),
            "ContainerArguments": args,
        },
        "RoleArn": settings.role_arn,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())],
    }


def job_failure(described: Mapping[str, Any]) -> str:
    """What an ended, unsuccessful Processing job says about why, for the failure ticket."""
    name = described.get("ProcessingJobName", "the processing job")
    status = described.get("ProcessingJobStatus", "unknown")
    reason = described.get("FailureReason") or described.get("ExitMessage") or "no reason given"
    return (
        f"SageMaker Processing job {name} ended {status}: {reason} (the job's logs are in CloudWatch, "
        f"log group /aws/sagemaker/ProcessingJobs, stream prefix {name})"
    )


# -- endpoints -----------------------------------------------------------------------------------------


def endpoint_name(template: str, **fields: Any) -> str:
    """The endpoint's name from the ``deployment.endpoint_name`` template; refuses a name SageMaker would."""
    try:
        name = template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigurationError(
            f"deployment.endpoint_name {template!r} cannot be filled in ({exc}); use the placeholders "
            "{group_name}, {version}, {model_id}, {use_case_id}."
        ) from None
    if not SAGEMAKER_NAME.match(name):
        raise ConfigurationError(
            f"deployment.endpoint_name {template!r} gives {name!r}, which is not a SageMaker endpoint name "
            "(1-63 letters, digits and single hyphens); change the template."
        )
    return name


CREATE = "create"
UPDATE = "update"
WAIT = "wait"
DONE = "done"


def endpoint_step(described: Mapping[str, Any] | None, config_name: str) -> str:
    """What to do next to have the endpoint serve ``config_name``: create, update, wait or done.

    Nothing is created twice: an endpoint already serving the configuration is done, one being created or
    updated is waited for (then looked at again), one serving another configuration is updated.
    """
    if described is None:
        return CREATE
    status = str(described.get("EndpointStatus", ""))
    name = described.get("EndpointName", "the endpoint")
    if status in ENDPOINT_BUSY:
        return WAIT
    if status == ENDPOINT_READY:
        return DONE if described.get("EndpointConfigName") == config_name else UPDATE
    reason = described.get("FailureReason") or "no reason given"
    raise RegistryError(
        f"SageMaker endpoint {name} is {status or 'in an unknown state'} ({reason}); fix or delete the "
        f"endpoint in SageMaker, then clear this task to deploy endpoint configuration {config_name!r}."
    )
