"""The monitoring push API's input: one metric value for one model, validated before anything is stored.

JSON body (``POST /model-governance/api/v1/metrics``)::

    {"model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3",
     "metric": "auc", "value": 0.81, "recorded_at": "2026-11-30T09:00:00Z", "source": "model-monitor",
     "threshold": 0.75, "direction": "higher_is_better"}

Either ``model_package_arn`` or ``model_id`` names the model (exactly one). ``threshold`` and
``direction`` come together: ``higher_is_better`` passes when ``value >= threshold``,
``lower_is_better`` when ``value <= threshold``. ``recorded_at`` needs a time zone and may not be in the
future. Bad input is answered 422 with one entry per problem: the field, what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from model_governance.inventory.arns import MODEL_PACKAGE_ARN
from model_governance.inventory.models import utcnow

#: Clocks drift: a value stamped a little in the future is accepted.
FUTURE_SKEW = timedelta(minutes=5)
Direction = Literal["higher_is_better", "lower_is_better"]

#: How to fix each field, shown with the problem.
FIXES = {
    "model_package_arn": (
        "give a versioned package ARN: arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/N"
    ),
    "model_id": "give the inventory model id shown on the dashboard (a positive integer)",
    "metric": "give a metric name of 1-128 characters, e.g. 'auc' or 'data_drift.psi'",
    "value": "give a finite number, e.g. 0.81",
    "recorded_at": "give an ISO 8601 time with a zone, not in the future, e.g. 2026-11-30T09:00:00Z",
    "source": "name the system that measured it (1-128 characters), e.g. 'sagemaker-model-monitor'",
    "threshold": "give a finite number together with 'direction'",
    "direction": "use 'higher_is_better' (passes when value >= threshold) or 'lower_is_better'",
    "body": "send a JSON object with model_package_arn or model_id, metric, value, recorded_at, source",
    "value_type": 'send numbers as JSON numbers (0.81, not "0.81") and texts as JSON strings',
}


class MetricPush(BaseModel):
    """One monitoring value; ``extra`` fields are refused so a typo (``treshold``) is not silently lost."""

    # strict: a value of the wrong JSON type ("0.81", true, "5") is refused, never coerced.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    model_package_arn: Annotated[str | None, Field(max_length=2048)] = None
    model_id: Annotated[int | None, Field(gt=0, le=2**63 - 1)] = None
    metric: Annotated[str, Field(min_length=1, max_length=128)]
    value: float
    recorded_at: datetime
    source: Annotated[str, Field(min_length=1, max_length=128)]
    threshold: float | None = None
    direction: Direction | None = None

    @field_validator("model_package_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not MODEL_PACKAGE_ARN.match(value):
            raise ValueError(f"{value!r} is not a versioned SageMaker model package ARN")
        return value

    @field_validator("metric", "source")
    @classmethod
    def _printable(cls, value: str) -> str:
        # Control characters (NUL is refused by PostgreSQL) would be stored and shown to people.
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("contains control characters")
        return value

    @field_validator("value", "threshold")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number (not NaN or infinity)")
        return value

    @field_validator("recorded_at")
    @classmethod
    def _aware_past(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("has no time zone")
        if value - utcnow() > FUTURE_SKEW:
            raise ValueError("is in the future")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MetricPush:
        if (self.model_package_arn is None) == (self.model_id is None):
            raise ValueError("give exactly one of model_package_arn or model_id")
        if (self.threshold is None) != (self.direction is None):
            raise ValueError("threshold and direction go together: give both or neither")
        return self

    @property
    def model_ref(self) -> int | str:
        return self.model_id if self.model_id is not None else str(self.model_package_arn)

    @property
    def passed(self) -> bool | None:
        """Whether the value meets its threshold; None when no threshold was given."""
        if self.threshold is None or self.direction is None:
            return None
        if self.direction == "higher_is_better":
            return self.value >= self.threshold
        return self.value <= self.threshold


def _field_of(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    if loc:
        # An empty or blank key is still named, so the problem says which field to remove.
        return loc[0] if loc[0].strip() else repr(loc[0])
    message = str(error.get("msg", ""))
    if "threshold and direction" in message:
        return "direction"
    if "model_package_arn or model_id" in message:
        return "model_package_arn"
    return "body"


def describe_errors(errors: list[Any]) -> list[dict[str, str]]:
    """Pydantic (or FastAPI request) errors as ``{field, problem, fix}`` entries; never echoes values."""
    problems = []
    for error in errors:
        name = _field_of(error)
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message, fix = (
                "is not a known field",
                f"remove it; known fields: {', '.join(MetricPush.model_fields)}",
            )
        elif error.get("type") == "missing":
            message, fix = "is required", FIXES.get(name, "add it")
        elif str(error.get("type", "")).endswith("_type") and name in FIXES:
            fix = f"{FIXES[name]}; {FIXES['value_type']}"
        else:
            fix = FIXES.get(name, FIXES["body"])
        problems.append({"field": name, "problem": f"{name} {message}", "fix": fix})
    return problems


def parse_metric_push(payload: bytes | str | Any) -> MetricPush:
    """Validate a JSON body (bytes/str, parsed strictly) or a decoded object; raises ``ValidationError``.

    Raw JSON goes through pydantic's own parser: a body that is not JSON, not an object, nested too deep
    or carrying NaN is a ``ValidationError`` too, answered 422 like any other bad field.
    """
    if not isinstance(payload, bytes | str):
        payload = json.dumps(payload, default=str)  # the same strict JSON path for decoded objects
    return MetricPush.model_validate_json(payload)


def record_push(inventory: Any, push: MetricPush) -> tuple[Any, Any]:
    """Store the value and judge it in one transaction: a breach opens (or updates) the model's finding of
    that metric, a passing value clears it (``services.monitoring``); a push answered with an error stored
    nothing, so it can be pushed again. Inventory only: the ``model_monitoring`` DAG carries findings into
    Jira, so a slow Jira never holds up a push. Returns ``(metric, evaluation)``."""
    from model_governance.services.monitoring import MonitoringService

    return MonitoringService(inventory=inventory).record(
        push.model_ref,
        metric=push.metric,
        value=push.value,
        threshold=push.threshold,
        direction=push.direction,
        source=push.source,
        at=push.recorded_at,
    )


__all__ = ["FIXES", "MetricPush", "ValidationError", "describe_errors", "parse_metric_push", "record_push"]
