"""The sandbox WSGI application: admin endpoints, counters and faults in front of the model registry and
moto's server (S3, SQS and every SageMaker action the registry does not answer)."""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Response

from sandbox.aws import registry as reg
from sandbox.aws.errors import AwsError, json_error_body, query_error_body, s3_error_body
from sandbox.aws.events import UNSET, EventBus
from sandbox.aws.faults import LOST_RESPONSE, SERVER_ERROR, THROTTLE, Counters, Faults
from sandbox.aws.model_card_schema import STANDALONE_CARD_ACTIONS, check_standalone_card
from sandbox.aws.processing import Workloads

ADMIN_PREFIX = "/_sandbox/"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_SQS_NAMESPACE = "com.amazonaws.sqs"

StartResponse = Callable[..., Any]


@dataclass
class Settings:
    account_id: str = "123456789012"
    region: str = "us-east-1"
    seed: int = 0
    throttle_rate: float = 0.0
    latency_ms: float = 0
    fault_actions: list[str] | None = None
    events_queue: str | None = None
    duplicate_rate: float = 0.0


@dataclass
class Call:
    service: str  # sagemaker, sqs, s3, ... or "unknown"
    action: str
    region: str
    protocol: str  # json, query, rest-xml
    body: bytes | None = None  # read only when the sandbox itself needs it
    access_key: str = ""  # who signed the request (the registry records it as CreatedBy / LastModifiedBy)

    @property
    def key(self) -> str:
        return f"{self.service}:{self.action}"


def s3_action(method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str]) -> str:
    """The S3 operation name of a path-style request, for counters and fault targeting."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "ListBuckets" if method == "GET" else f"{method.title()}Service"
    on_object = len(parts) > 1
    if on_object:
        if method == "PUT":
            if "partNumber" in query:
                return "UploadPart"
            return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
        if method == "POST":
            return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
        if method == "DELETE":
            return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
        if "tagging" in query:
            return "GetObjectTagging"
        return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, method)
    sub = next(
        (k for k in ("versioning", "tagging", "policy", "lifecycle", "location", "uploads") if k in query), ""
    )
    if sub:
        verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method.title())
        if sub == "uploads":
            return "ListMultipartUploads"
        return f"{verb}Bucket{sub.title()}"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method, method)


class SandboxApp:
    def __init__(self, settings: Settings) -> None:
        # moto reads the account from this variable for every request (PRIO 1 in moto.core.responses).
        os.environ["MOTO_ACCOUNT_ID"] = settings.account_id
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from sandbox.aws import long_poll

        long_poll.install()
        self.settings = settings
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.faults = Faults(settings.seed)
        self.faults.update(
            {
                "throttle_rate": settings.throttle_rate,
                "latency_ms": settings.latency_ms,
                "actions": settings.fault_actions,
            }
        )
        self.counters = Counters()
        self.bus = EventBus(settings.account_id, settings.region, settings.seed)
        self.bus.configure(queue=settings.events_queue, duplicate_rate=settings.duplicate_rate)
        self._registries: dict[str, reg.Registry] = {}
        self._buses: dict[str, EventBus] = {}
        self.workloads = Workloads(settings.account_id)  # Processing jobs and endpoints (processing.py)
        self._lock = threading.Lock()
        reg.check_operations_exist()

    def registry(self, region: str) -> reg.Registry:
        with self._lock:
            if region not in self._registries:
                # Each region has its own EventBridge bus and rule target (a business entity's queue).
                self._registries[region] = reg.Registry(
                    self.settings.account_id, region, self._bus(region).emit
                )
            return self._registries[region]

    def _bus(self, region: str) -> EventBus:
        """The region's event bus; the default region's is ``self.bus``. Call with ``self._lock`` held."""
        if region == self.settings.region:
            return self.bus
        if region not in self._buses:
            self._buses[region] = EventBus(self.settings.account_id, region, self.settings.seed)
        return self._buses[region]

    def buses(self) -> dict[str, EventBus]:
        with self._lock:
            return {self.settings.region: self.bus, **self._buses}

    # ---- WSGI ----------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(ADMIN_PREFIX):
            return self.admin(environ, start_response)
        call = self.identify(environ)
        latency, fault = self.faults.decide(call.key, call.region)
        self.counters.hit(call.key, fault, latency)
        if latency:
            time.sleep(latency)
        if fault == THROTTLE:
            return self.throttled(call)(environ, start_response)
        if fault == SERVER_ERROR:
            return self.internal_failure(call)(environ, start_response)
        if fault == LOST_RESPONSE:
            # Do the request to its end (a write is applied), then lose its answer.
            for _ in self.serve(call, environ, lambda *args, **kwargs: None):
                pass
            return self.internal_failure(call)(environ, start_response)
        return self.serve(call, environ, start_response)

    def serve(self, call: Call, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if call.service == "sagemaker" and call.body is not None:
            answered = self.sagemaker(call)
            if answered is not None:
                return answered(environ, start_response)
        return self.moto(environ, start_response)

    def identify(self, environ: dict[str, Any]) -> Call:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        match = _CREDENTIAL.search(auth) or _CREDENTIAL.search(
            "Credential=" + query.get("X-Amz-Credential", [""])[0]
        )
        region, service = (match.group(2), match.group(3)) if match else (self.settings.region, "unknown")
        access_key = match.group(1) if match else ""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            prefix, _, action = target.partition(".")
            service = {"SageMaker": "sagemaker", "AmazonSQS": "sqs"}.get(prefix, service)
            call = Call(service, action, region, "json", access_key=access_key)
            if service == "sagemaker":
                call.body = self._read_body(environ)
            return call
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            body = self._read_body(environ)
            form = parse_qs(body.decode("utf-8", "replace"))
            action = (form.get("Action") or query.get("Action") or ["Unknown"])[0]
            return Call(service, action, region, "query")
        if service == "s3" or not match:
            headers = {
                k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
            }
            action = s3_action(
                environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"), query, headers
            )
            return Call("s3" if match else "unknown", action, region, "rest-xml")
        action = (query.get("Action") or ["Unknown"])[0]
        return Call(service, action, region, "query")

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # Put the body back for moto, which reads the stream itself.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return bytes(body)

    def throttled(self, call: Call) -> Response:
        request_id = str(uuid.uuid4())
        if call.service == "s3":
            body = s3_error_body("SlowDown", "Please reduce your request rate.")
            return Response(body, 503, {"Content-Type": "application/xml", "x-amz-request-id": request_id})
        if call.service == "sqs" and call.protocol == "json":
            return Response(
                json_error_body("RequestThrottled", "Rate exceeded", _SQS_NAMESPACE),
                400,
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "x-amzn-query-error": "RequestThrottled;Sender",
                    "x-amzn-RequestId": request_id,
                },
            )
        if call.protocol == "json":
            return _json_response(json_error_body("ThrottlingException", "Rate exceeded"), 400)
        code = "RequestThrottled" if call.service == "sqs" else "Throttling"
        return Response(query_error_body(code, "Rate exceeded"), 400, {"Content-Type": "text/xml"})

    def internal_failure(self, call: Call) -> Response:
        """500 InternalFailure (InternalError for S3) in the call's protocol; clients retry it."""
        request_id = str(uuid.uuid4())
        message = "We encountered an internal error. Please try again."
        if call.service == "s3":
            body = s3_error_body("InternalError", message)
            return Response(body, 500, {"Content-Type": "application/xml", "x-amz-request-id": request_id})
        if call.service == "sqs" and call.protocol == "json":
            return Response(
                json_error_body("InternalError", message, _SQS_NAMESPACE),
                500,
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "x-amzn-query-error": "InternalError;Receiver",
                    "x-amzn-RequestId": request_id,
                },
            )
        if call.protocol == "json":
            return _json_response(json_error_body("InternalFailure", message), 500)
        body = query_error_body("InternalFailure", message, sender_fault=False)
        return Response(body, 500, {"Content-Type": "text/xml"})

    def sagemaker(self, call: Call) -> Response | None:
        """Answer the model registry operations; None hands the request to moto."""
        assert call.body is not None
        try:
            params = json.loads(call.body or b"{}")
        except ValueError:
            return _json_response(json_error_body("SerializationException", "Request body is not JSON."), 400)
        if not isinstance(params, dict):
            return _json_response(
                json_error_body("SerializationException", "Request body must be an object."), 400
            )
        if self.workloads.handles(call.action):
            try:
                answer = self.workloads.call(call.action, call.region, params)
                return _json_response(json.dumps(answer).encode(), 200)
            except AwsError as err:
                return _json_response(json_error_body(err.code, err.message), err.status)
        registry = self.registry(call.region)
        if call.action == "CreateModel":  # moto takes any ModelPackageName; SageMaker needs the package
            try:
                for container in [params.get("PrimaryContainer") or {}, *(params.get("Containers") or [])]:
                    if isinstance(container, dict) and container.get("ModelPackageName"):
                        registry.describe_model_package({"ModelPackageName": container["ModelPackageName"]})
            except AwsError as err:
                return _json_response(json_error_body(err.code, err.message), err.status)
        method_name = reg.OPERATIONS.get(call.action)
        if call.action in reg.TAG_OPERATIONS and registry.owns_arn(str(params.get("ResourceArn", ""))):
            method_name = reg.TAG_OPERATIONS[call.action]
        if call.action == "Search" and params.get("Resource") in reg.SEARCH_RESOURCES:
            method_name = "search"
        if method_name is None:
            if call.action in STANDALONE_CARD_ACTIONS:  # moto stores any Content; SageMaker checks it
                try:
                    check_standalone_card(params)
                except AwsError as err:
                    return _json_response(json_error_body(err.code, err.message), err.status)
            return None
        try:
            with reg.acting_as(call.access_key):
                result = getattr(registry, method_name)(params)
        except AwsError as err:
            return _json_response(json_error_body(err.code, err.message), err.status)
        return _json_response(json.dumps(result).encode(), 200)

    # ---- admin ---------------------------------------------------------------------------------------
    def admin(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"][len(ADMIN_PREFIX) :].strip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            payload: Any = {}
            if method == "POST":
                raw = self._read_body(environ)
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError as exc:
                    raise AwsError(
                        "InvalidSandboxConfig", f"body of POST /_sandbox/{path} is not JSON"
                    ) from exc
                if not isinstance(payload, dict):
                    raise AwsError("InvalidSandboxConfig", f"body of POST /_sandbox/{path} must be an object")
            result = self._admin_route(method, path, payload)
        except AwsError as err:
            return _admin_json({"error": err.message}, err.status)(environ, start_response)
        return _admin_json(result, 200)(environ, start_response)

    def _admin_route(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        if (method, path) == ("GET", "health"):
            return {"status": "ok"}
        if (method, path) == ("GET", "config"):
            return self.config()
        if (method, path) == ("POST", "faults"):
            return {"faults": self.faults.update(payload)}
        if (method, path) == ("GET", "counters"):
            totals: dict[str, int] = {}
            for bus in self.buses().values():
                for key, value in bus.stats.items():
                    totals[key] = totals.get(key, 0) + value
            return {**self.counters.snapshot(), "events": totals}
        if (method, path) == ("GET", "events"):
            return {"events": [event for bus in self.buses().values() for event in bus.recent]}
        if (method, path) == ("POST", "events"):
            unknown = sorted(set(payload) - {"queue", "duplicate_rate", "seed", "region"})
            if unknown:
                raise AwsError(
                    "InvalidSandboxConfig",
                    f"unknown events setting(s) {unknown}; known: queue, duplicate_rate, seed, region",
                )
            seed = payload.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise AwsError("InvalidSandboxConfig", f"seed {seed!r} must be an integer.")
            region = payload.get("region", self.settings.region)
            if not isinstance(region, str) or not region:
                raise AwsError(
                    "InvalidSandboxConfig", f"region {region!r} must be a region name like eu-west-1."
                )
            with self._lock:
                bus = self._bus(region)
            bus.configure(queue=payload.get("queue", UNSET), duplicate_rate=payload.get("duplicate_rate"))
            if seed is not None:
                bus.reseed(seed)
            return self.config()
        if (method, path) == ("POST", "reset"):
            return self.reset(payload)
        if path == "workloads" and method in ("GET", "POST"):
            return self.workloads.configure(payload) if method == "POST" else self.workloads.settings()
        raise AwsError(
            "UnknownSandboxEndpoint",
            f"{method} /_sandbox/{path} does not exist; use GET health|config|counters|events or "
            "POST faults|events|reset.",
            404,
        )

    def config(self) -> dict[str, Any]:
        return {
            "account_id": self.settings.account_id,
            "region": self.settings.region,
            "faults": self.faults.as_dict(),
            "events": {"queue": self.bus.queue, "duplicate_rate": self.bus.duplicate_rate},
            "events_by_region": {
                region: {"queue": bus.queue, "duplicate_rate": bus.duplicate_rate}
                for region, bus in self.buses().items()
            },
        }

    def reset(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Reset counters and events log, faults back to none (unless told otherwise) and, with
        ``{"state": true}``, every stored resource (registry and moto)."""
        unknown = sorted(set(payload) - {"counters", "faults", "state"})
        if unknown:
            raise AwsError(
                "InvalidSandboxConfig", f"unknown reset option(s) {unknown}; known: counters, faults, state"
            )
        if payload.get("counters", True):
            self.counters.reset()
            for bus in self.buses().values():
                bus.reset()
        if payload.get("faults", True):
            self.faults.update(
                {
                    "throttle_rate": 0.0,
                    "server_error_rate": 0.0,
                    "lost_response_rate": 0.0,
                    "latency_ms": 0,
                    "actions": None,
                    "regions": None,
                }
            )
            self.workloads.reset(state=False)
            for bus in self.buses().values():
                bus.configure(duplicate_rate=0.0)
        if payload.get("state", False):
            from moto.moto_api._internal.models import moto_api_backend

            with self._lock:
                for registry in self._registries.values():
                    registry.reset()
            self.workloads.reset(state=True)
            moto_api_backend.reset()
            for bus in self.buses().values():
                if bus.queue:
                    bus.configure(queue=bus.queue)  # recreate the events queue moto just dropped
        return self.config()


def _json_response(body: bytes, status: int) -> Response:
    return Response(
        body, status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())}
    )


def _admin_json(data: Any, status: int) -> Response:
    return Response(json.dumps(data, default=str), status, {"Content-Type": "application/json"})
