"""SageMaker Processing jobs that really run, and endpoints that take a moment to come into service.

moto records a Processing job but runs nothing, and reports an endpoint InService the moment it is created
(see FACTS.md), so a task that waits on either never really waits. Here:

- ``CreateProcessingJob`` runs the job's container entrypoint as a local subprocess (the image is not
  pulled: ``python``/``python3`` is this interpreter, which has the project installed). Each S3 input is
  downloaded from the sandbox's own S3 to its ``LocalPath``, each output uploaded from its ``LocalPath``
  when the job ends; paths under ``/opt/ml/`` (local paths and the same paths in the container
  arguments) live in a folder of the job's own. The job is ``InProgress`` while the process runs, then
  ``Completed``, or ``Failed`` with a ``FailureReason`` that ends with the process's last error line, like
  SageMaker's ``AlgorithmError: ..., exit code: 2``. ``MaxRuntimeInSeconds`` is enforced.
- ``CreateEndpoint`` / ``UpdateEndpoint`` answer at once, as AWS does, with the endpoint ``Creating`` /
  ``Updating`` (the previous configuration still serving, the new one in ``PendingDeploymentSummary``)
  until ``endpoint_delay_s`` has passed; then it is ``InService`` on the new configuration. The endpoint
  configuration must exist (moto keeps those).
- ``ListEndpoints`` pages (``MaxResults`` <= 100, ``NextToken``) and filters (``NameContains``,
  ``StatusEquals``); ``DeleteEndpoint`` removes it at once. Models (their containers, ``ModelPackageName``
  included) and endpoint configurations are moto's, which stores and describes them as given.
- Fault switches (``POST /_sandbox/workloads``): ``fail_processing_jobs`` (how many of the next jobs fail
  without running, with ``processing_failure_reason``, as when SageMaker cannot get the instance), and
  ``endpoint_delay_s``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.aws.errors import AwsError
from sandbox.aws.validation import validate

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTAINER_ROOT = "/opt/ml/"
DEFAULT_ENDPOINT_DELAY_S = 3.0
DEFAULT_FAILURE_REASON = "CapacityError: Unable to provision requested ML compute capacity. Please retry."
_STDERR_TAIL = 20


@dataclass
class Job:
    name: str
    arn: str
    request: dict[str, Any]
    created: float
    status: str = "InProgress"
    failure_reason: str | None = None
    exit_message: str | None = None
    started: float | None = None
    ended: float | None = None
    modified: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Endpoint:
    name: str
    arn: str
    config_name: str
    created: float
    status: str
    ready_at: float
    pending_config: str | None = None
    modified: float = 0.0
    tags: list[dict[str, str]] = field(default_factory=list)


def _now() -> float:
    return round(time.time(), 3)


class Workloads:
    """Processing jobs and endpoints of every region of one account. Thread-safe."""

    ACTIONS: Mapping[str, str] = {
        "CreateProcessingJob": "create_processing_job",
        "DescribeProcessingJob": "describe_processing_job",
        "ListProcessingJobs": "list_processing_jobs",
        "StopProcessingJob": "stop_processing_job",
        "CreateEndpoint": "create_endpoint",
        "DescribeEndpoint": "describe_endpoint",
        "UpdateEndpoint": "update_endpoint",
        "DeleteEndpoint": "delete_endpoint",
        "ListEndpoints": "list_endpoints",
    }

    def __init__(self, account_id: str, workdir: Path | None = None) -> None:
        self.account_id = account_id
        self._lock = threading.RLock()
        self._jobs: dict[tuple[str, str], Job] = {}
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._threads: list[threading.Thread] = []
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="sandbox-aws-processing-"))
        self.endpoint_delay_s = DEFAULT_ENDPOINT_DELAY_S
        self.fail_processing_jobs = 0
        self.processing_failure_reason = DEFAULT_FAILURE_REASON
        #: The sandbox's own URL (the server sets it once bound), for the job containers' AWS calls.
        self.endpoint_url: str | None = None

    # ---- dispatch and admin --------------------------------------------------------------------------
    def handles(self, action: str) -> bool:
        return action in self.ACTIONS

    def call(self, action: str, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        validate(action, dict(params))
        result: dict[str, Any] = getattr(self, self.ACTIONS[action])(region, params)
        return result

    def settings(self) -> dict[str, Any]:
        with self._lock:
            return {
                "endpoint_delay_s": self.endpoint_delay_s,
                "fail_processing_jobs": self.fail_processing_jobs,
                "processing_failure_reason": self.processing_failure_reason,
            }

    def configure(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        known = {"endpoint_delay_s", "fail_processing_jobs", "processing_failure_reason"}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise AwsError(
                "InvalidSandboxConfig", f"unknown workloads setting(s) {unknown}; known: {sorted(known)}"
            )
        delay = payload.get("endpoint_delay_s", self.endpoint_delay_s)
        fail = payload.get("fail_processing_jobs", self.fail_processing_jobs)
        reason = payload.get("processing_failure_reason", self.processing_failure_reason)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise AwsError("InvalidSandboxConfig", f"endpoint_delay_s {delay!r} must be a number >= 0.")
        if isinstance(fail, bool) or not isinstance(fail, int) or fail < 0:
            raise AwsError(
                "InvalidSandboxConfig", f"fail_processing_jobs {fail!r} must be a whole number >= 0."
            )
        if not isinstance(reason, str) or not reason:
            raise AwsError("InvalidSandboxConfig", "processing_failure_reason must be a non-empty string.")
        with self._lock:
            self.endpoint_delay_s = float(delay)
            self.fail_processing_jobs = fail
            self.processing_failure_reason = reason
        return self.settings()

    def reset(self, *, state: bool) -> None:
        """Faults back to their defaults; with ``state``, every job (running ones stopped) and endpoint."""
        with self._lock:
            self.endpoint_delay_s = DEFAULT_ENDPOINT_DELAY_S
            self.fail_processing_jobs = 0
            self.processing_failure_reason = DEFAULT_FAILURE_REASON
            if state:
                for job in self._jobs.values():
                    job.stop.set()
                self._jobs.clear()
                self._endpoints.clear()

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.stop.set()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _arn(self, region: str, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{self.account_id}:{kind}/{name.lower()}"

    # ---- processing jobs -----------------------------------------------------------------------------
    def create_processing_job(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        name = str(params["ProcessingJobName"])
        for item in params.get("ProcessingInputs", []):
            s3_input = item.get("S3Input")
            if s3_input and not str(s3_input.get("LocalPath", "")).startswith(CONTAINER_ROOT):
                raise AwsError(
                    "ValidationException",
                    f"ProcessingInput {item.get('InputName')}: LocalPath must be under /opt/ml/processing.",
                )
        with self._lock:
            if (region, name) in self._jobs:
                raise AwsError(
                    "ValidationException",
                    f"Job name must be unique within an AWS account and region, and a job with this name "
                    f"already exists ({self._arn(region, 'processing-job', name)})",
                    400,
                )
            now = _now()
            job = Job(name, self._arn(region, "processing-job", name), dict(params), now, modified=now)
            self._jobs[(region, name)] = job
            doomed = self.fail_processing_jobs > 0
            if doomed:
                self.fail_processing_jobs -= 1
            reason = self.processing_failure_reason
            thread = threading.Thread(
                target=self._run_job, args=(job, doomed, reason), name=f"processing-{name}", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return {"ProcessingJobArn": job.arn}

    def _job(self, region: str, name: str) -> Job:
        job = self._jobs.get((region, name))
        if job is None:
            raise AwsError(
                "ValidationException",
                f"Could not find requested job with name {name}",  # SageMaker's words
                400,
            )
        return job

    def describe_processing_job(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            job = self._job(region, str(params["ProcessingJobName"]))
            request = job.request
            described: dict[str, Any] = {
                key: request[key]
                for key in (
                    "ProcessingInputs",
                    "ProcessingOutputConfig",
                    "ProcessingResources",
                    "StoppingCondition",
                    "AppSpecification",
                    "Environment",
                    "NetworkConfig",
                    "RoleArn",
                    "ExperimentConfig",
                )
                if key in request
            }
            described.update(
                {
                    "ProcessingJobName": job.name,
                    "ProcessingJobArn": job.arn,
                    "ProcessingJobStatus": job.status,
                    "CreationTime": job.created,
                    "LastModifiedTime": job.modified,
                }
            )
            for key, value in (
                ("FailureReason", job.failure_reason),
                ("ExitMessage", job.exit_message),
                ("ProcessingStartTime", job.started),
                ("ProcessingEndTime", job.ended),
            ):
                if value is not None:
                    described[key] = value
            return described

    def list_processing_jobs(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            jobs = [job for (r, _), job in self._jobs.items() if r == region]
        contains = params.get("NameContains")
        status = params.get("StatusEquals")
        summaries = [
            {
                "ProcessingJobName": job.name,
                "ProcessingJobArn": job.arn,
                "CreationTime": job.created,
                "LastModifiedTime": job.modified,
                "ProcessingJobStatus": job.status,
                **({"FailureReason": job.failure_reason} if job.failure_reason else {}),
            }
            for job in sorted(jobs, key=lambda j: j.created, reverse=True)
            if (not contains or contains in job.name) and (not status or job.status == status)
        ]
        return {"ProcessingJobSummaries": summaries[: int(params.get("MaxResults", 10))]}

    def stop_processing_job(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            job = self._job(region, str(params["ProcessingJobName"]))
            if job.status != "InProgress":
                raise AwsError(
                    "ValidationException", f"Job {job.name} is {job.status}; it cannot be stopped."
                )
            job.status, job.modified = "Stopping", _now()
            job.stop.set()
        return {}

    def _finish(
        self, job: Job, status: str, reason: str | None = None, exit_message: str | None = None
    ) -> None:
        with self._lock:
            if job.status == "Stopping":
                status, reason = "Stopped", None
            job.status, job.failure_reason, job.exit_message = status, reason, exit_message
            job.ended = job.modified = _now()

    def _run_job(self, job: Job, doomed: bool, reason: str) -> None:
        folder = self.workdir / job.name
        try:
            with self._lock:
                job.started = job.modified = _now()
            if doomed:
                time.sleep(0.5)
                self._finish(job, "Failed", reason)
                return
            folder.mkdir(parents=True, exist_ok=True)
            try:
                self._download_inputs(job, folder)
            except AwsError as err:
                self._finish(job, "Failed", f"ClientError: {err.message}")
                return
            code, tail = self._execute(job, folder)
            if job.stop.is_set() and code is None:
                self._finish(job, "Stopped")
                return
            if code is None:
                self._finish(job, "Failed", "MaxRuntimeExceeded: the job ran longer than MaxRuntimeInSeconds")
                return
            if code != 0:
                last = next((line for line in reversed(tail) if line.strip()), "no output")
                self._finish(
                    job, "Failed", f"AlgorithmError: {last}, exit code: {code}"[:1024], "\n".join(tail)
                )
                return
            try:
                self._upload_outputs(job, folder)
            except AwsError as err:
                self._finish(job, "Failed", f"ClientError: {err.message}")
                return
            self._finish(job, "Completed")
        except Exception as exc:  # a sandbox bug must still end the job, or its waiter waits forever
            self._finish(job, "Failed", f"InternalServerError: sandbox: {type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _local(folder: Path, path: str) -> Path:
        return folder / path.lstrip("/")

    def _map_arg(self, folder: Path, arg: str) -> str:
        return str(self._local(folder, arg)) if arg.startswith(CONTAINER_ROOT) else arg

    def _execute(self, job: Job, folder: Path) -> tuple[int | None, list[str]]:
        spec = job.request.get("AppSpecification", {})
        command = [*spec.get("ContainerEntrypoint", []), *spec.get("ContainerArguments", [])]
        if not command:
            return 2, ["the image's own entrypoint cannot run in the sandbox: give ContainerEntrypoint"]
        if Path(command[0]).name in ("python", "python3"):
            command[0] = sys.executable
        command = [self._map_arg(folder, arg) for arg in command]
        env = {
            **os.environ,
            # As SageMaker gives a job its role's credentials and region: the container can call S3
            # itself (the risk tests read pinned object versions with GetObject VersionId).
            **(
                {
                    "AWS_ENDPOINT_URL": self.endpoint_url,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_REGION": job.arn.split(":")[3],
                    "AWS_DEFAULT_REGION": job.arn.split(":")[3],
                }
                if self.endpoint_url
                else {}
            ),
            **{str(k): str(v) for k, v in (job.request.get("Environment") or {}).items()},
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT / "plugins"), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        limit = float((job.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
        with (folder / "stderr.log").open("w+", encoding="utf-8", errors="replace") as errors:
            process = subprocess.Popen(  # noqa: S603 - the job's own entrypoint, as SageMaker would run it
                command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=errors
            )
            deadline = time.monotonic() + limit
            code: int | None = None
            while True:
                code = process.poll()
                if code is not None:
                    break
                if job.stop.is_set() or time.monotonic() > deadline:
                    process.kill()
                    process.wait(timeout=10)
                    code = None
                    break
                job.stop.wait(0.2)
            errors.seek(0)
            tail = errors.read().splitlines()[-_STDERR_TAIL:]
        return code, tail

    def _s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        if not uri.startswith("s3://"):
            raise AwsError("ValidationException", f"{uri} is not an s3:// URI")
        bucket, _, key = uri[len("s3://") :].partition("/")
        return bucket, key

    def _download_inputs(self, job: Job, folder: Path) -> None:
        s3 = self._s3()
        for item in job.request.get("ProcessingInputs", []):
            spec = item.get("S3Input")
            if not spec:
                continue
            bucket, prefix = self._split(str(spec["S3Uri"]))
            target = self._local(folder, str(spec["LocalPath"]))
            target.mkdir(parents=True, exist_ok=True)
            try:
                keys = [k for k in s3.get_bucket(bucket).keys if k.startswith(prefix)]
            except Exception as exc:
                raise AwsError("ValidationException", f"cannot read {spec['S3Uri']}: {exc}") from exc
            if not keys:
                raise AwsError(
                    "ValidationException",
                    f'No S3 objects found under S3 URL "{spec["S3Uri"]}" given in input data source. Please '
                    "ensure that the bucket exists in the selected region, that objects exist under that S3 "
                    "prefix, and that the role has permission to read them.",
                )
            for key in keys:
                relative = key[len(prefix) :].lstrip("/") or Path(key).name
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(bytes(s3.get_object(bucket, key).value))

    def _upload_outputs(self, job: Job, folder: Path) -> None:
        s3 = self._s3()
        outputs = (job.request.get("ProcessingOutputConfig") or {}).get("Outputs", [])
        for item in outputs:
            spec = item.get("S3Output")
            if not spec:
                continue
            bucket, prefix = self._split(str(spec["S3Uri"]))
            source = self._local(folder, str(spec["LocalPath"]))
            if not source.is_dir():
                continue
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                key = "/".join(
                    part for part in (prefix.rstrip("/"), path.relative_to(source).as_posix()) if part
                )
                try:
                    s3.put_object(bucket, key, path.read_bytes())
                except Exception as exc:
                    raise AwsError("ValidationException", f"cannot write s3://{bucket}/{key}: {exc}") from exc

    # ---- endpoints -----------------------------------------------------------------------------------
    def _endpoint_config_exists(self, region: str, name: str) -> bool:
        from moto.sagemaker.models import sagemaker_backends

        with contextlib.suppress(KeyError):
            return name in sagemaker_backends[self.account_id][region].endpoint_configs
        return False

    def _settle(self, endpoint: Endpoint) -> None:
        """Creating/Updating become InService once the delay has passed (looked at lazily)."""
        if endpoint.status in ("Creating", "Updating") and time.time() >= endpoint.ready_at:
            if endpoint.pending_config:
                endpoint.config_name, endpoint.pending_config = endpoint.pending_config, None
            endpoint.status, endpoint.modified = "InService", round(endpoint.ready_at, 3)

    def _endpoint(self, region: str, name: str) -> Endpoint:
        endpoint = self._endpoints.get((region, name))
        if endpoint is None:
            raise AwsError("ValidationException", f'Could not find endpoint "{name}".', 400)
        self._settle(endpoint)
        return endpoint

    def create_endpoint(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        name, config = str(params["EndpointName"]), str(params["EndpointConfigName"])
        with self._lock:
            if (region, name) in self._endpoints:
                arn = self._endpoints[(region, name)].arn
                raise AwsError(
                    "ValidationException", f'Cannot create already existing endpoint "{arn}".', 400
                )
            if not self._endpoint_config_exists(region, config):
                raise AwsError(
                    "ValidationException", f'Could not find endpoint configuration "{config}".', 400
                )
            now = _now()
            endpoint = Endpoint(
                name,
                self._arn(region, "endpoint", name),
                config,
                now,
                "Creating",
                now + self.endpoint_delay_s,
                modified=now,
                tags=list(params.get("Tags", [])),
            )
            self._endpoints[(region, name)] = endpoint
            return {"EndpointArn": endpoint.arn}

    def update_endpoint(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        name, config = str(params["EndpointName"]), str(params["EndpointConfigName"])
        with self._lock:
            endpoint = self._endpoint(region, name)
            if endpoint.status != "InService":
                raise AwsError(
                    "ValidationException", f'Cannot update in-progress endpoint "{endpoint.arn}".', 400
                )
            if not self._endpoint_config_exists(region, config):
                raise AwsError(
                    "ValidationException", f'Could not find endpoint configuration "{config}".', 400
                )
            now = _now()
            endpoint.status, endpoint.pending_config = "Updating", config
            endpoint.ready_at, endpoint.modified = now + self.endpoint_delay_s, now
            return {"EndpointArn": endpoint.arn}

    def describe_endpoint(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            endpoint = self._endpoint(region, str(params["EndpointName"]))
            described: dict[str, Any] = {
                "EndpointName": endpoint.name,
                "EndpointArn": endpoint.arn,
                "EndpointConfigName": endpoint.config_name,
                "EndpointStatus": endpoint.status,
                "CreationTime": endpoint.created,
                "LastModifiedTime": endpoint.modified,
            }
            if endpoint.pending_config:
                described["PendingDeploymentSummary"] = {
                    "EndpointConfigName": endpoint.pending_config,
                    "StartTime": endpoint.modified,
                }
            return described

    def delete_endpoint(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            endpoint = self._endpoint(region, str(params["EndpointName"]))
            del self._endpoints[(region, endpoint.name)]
        return {}

    def list_endpoints(self, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Newest first (SageMaker's default order), ``MaxResults`` (<= 100, default 10) per page with a
        ``NextToken``, filtered by ``NameContains`` and ``StatusEquals``."""
        limit = int(params.get("MaxResults", 10))
        if not 1 <= limit <= 100:
            raise AwsError("ValidationException", f"MaxResults {limit} must be between 1 and 100.", 400)
        token = str(params.get("NextToken") or "")
        try:
            start = int(token) if token else 0
        except ValueError:
            raise AwsError("ValidationException", f"NextToken {token!r} is not valid.", 400) from None
        with self._lock:
            endpoints = [e for (r, _), e in self._endpoints.items() if r == region]
            for endpoint in endpoints:
                self._settle(endpoint)
            summaries = [
                {
                    "EndpointName": e.name,
                    "EndpointArn": e.arn,
                    "CreationTime": e.created,
                    "LastModifiedTime": e.modified,
                    "EndpointStatus": e.status,
                }
                for e in sorted(endpoints, key=lambda e: (e.created, e.name), reverse=True)
                if (not params.get("NameContains") or params["NameContains"] in e.name)
                and (not params.get("StatusEquals") or params["StatusEquals"] == e.status)
            ]
        page: dict[str, Any] = {"Endpoints": summaries[start : start + limit]}
        if start + limit < len(summaries):
            page["NextToken"] = str(start + limit)
        return page
