"""Fault switches (throttling, server errors, lost answers, added latency) and per-action request counters.

A *server error* answers 500 InternalFailure without doing anything; a *lost answer* does the request and
then answers 500 InternalFailure, as when the connection drops after AWS applied a write: the client's
retry must not do it twice (ClientToken, read-back, or an "exists already" taken as done).
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sandbox.aws.errors import AwsError

FAULT_KEYS = (
    "throttle_rate",
    "server_error_rate",
    "lost_response_rate",
    "latency_ms",
    "actions",
    "regions",
    "seed",
)

#: What ``Faults.decide`` does to one request besides latency.
THROTTLE, SERVER_ERROR, LOST_RESPONSE = "throttle", "server_error", "lost_response"


class Faults:
    """Current fault switches plus the seeded RNG that decides which requests they hit.

    ``actions`` limits the faults to matching ``service:Action`` keys (shell patterns such as
    ``sagemaker:*`` or ``sqs:ReceiveMessage``); None means every AWS request. ``regions`` limits them to
    requests signed for those regions (one registry down while the others answer); None means all.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self._rng = random.Random(f"faults-{seed}")  # noqa: S311 - repeatable test faults, not security
        self.throttle_rate = 0.0
        self.server_error_rate = 0.0
        self.lost_response_rate = 0.0
        self.latency_ms: float = 0
        self.actions: list[str] | None = None
        self.regions: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "throttle_rate": self.throttle_rate,
                "server_error_rate": self.server_error_rate,
                "lost_response_rate": self.lost_response_rate,
                "latency_ms": self.latency_ms,
                "actions": list(self.actions) if self.actions is not None else None,
                "regions": list(self.regions) if self.regions is not None else None,
                "seed": self.seed,
            }

    def update(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a partial change; unknown keys and bad values are refused before anything changes."""
        unknown = sorted(set(changes) - set(FAULT_KEYS))
        if unknown:
            raise AwsError("InvalidSandboxConfig", f"unknown fault switch(es) {unknown}; known: {FAULT_KEYS}")
        rate = changes.get("throttle_rate", self.throttle_rate)
        rates = {
            "server_error_rate": changes.get("server_error_rate", self.server_error_rate),
            "lost_response_rate": changes.get("lost_response_rate", self.lost_response_rate),
        }
        latency = changes.get("latency_ms", self.latency_ms)
        actions = changes.get("actions", self.actions)
        regions = changes.get("regions", self.regions)
        if regions is not None and (
            not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions)
        ):
            raise AwsError(
                "InvalidSandboxConfig", f"regions {regions!r} must be null or a list of region names."
            )
        seed = changes.get("seed", self.seed)
        for name, value in {"throttle_rate": rate, **rates}.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise AwsError("InvalidSandboxConfig", f"{name} {value!r} must be a number in [0.0, 1.0].")
        if rate + rates["server_error_rate"] + rates["lost_response_rate"] > 1.0:
            raise AwsError(
                "InvalidSandboxConfig",
                "throttle_rate + server_error_rate + lost_response_rate must not exceed 1.0 (one fault per "
                "request at most).",
            )
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise AwsError("InvalidSandboxConfig", f"latency_ms {latency!r} must be a number >= 0.")
        if actions is not None and (
            not isinstance(actions, list) or not all(isinstance(a, str) and ":" in a for a in actions)
        ):
            raise AwsError(
                "InvalidSandboxConfig",
                f"actions {actions!r} must be null or a list of 'service:Action' patterns, "
                "e.g. ['sagemaker:*', 'sqs:ReceiveMessage'].",
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise AwsError("InvalidSandboxConfig", f"seed {seed!r} must be an integer.")
        with self._lock:
            self.throttle_rate = float(rate)
            self.server_error_rate = float(rates["server_error_rate"])
            self.lost_response_rate = float(rates["lost_response_rate"])
            self.latency_ms = latency
            self.actions = list(actions) if actions is not None else None
            self.regions = list(regions) if regions is not None else None
            if "seed" in changes:
                self.seed = seed
                self._rng = random.Random(f"faults-{seed}")  # noqa: S311 - repeatable test faults, not security
        return self.as_dict()

    def decide(self, action_key: str, region: str | None = None) -> tuple[float, str | None]:
        """(seconds of latency to add, the fault for this request: THROTTLE, SERVER_ERROR, LOST_RESPONSE
        or None). One draw per request decides among the faults, so the seeded sequence stays repeatable."""
        with self._lock:
            if self.regions is not None and region not in self.regions:
                return 0.0, None
            if self.actions is not None and not any(fnmatch.fnmatchcase(action_key, p) for p in self.actions):
                return 0.0, None
            latency = self.latency_ms / 1000.0
            if not (self.throttle_rate or self.server_error_rate or self.lost_response_rate):
                return latency, None
            draw = self._rng.random()
            for fault, rate in (
                (THROTTLE, self.throttle_rate),
                (SERVER_ERROR, self.server_error_rate),
                (LOST_RESPONSE, self.lost_response_rate),
            ):
                if draw < rate:
                    return latency, fault
                draw -= rate
            return latency, None


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.server_errors: Counter[str] = Counter()
        self.lost_responses: Counter[str] = Counter()
        self.injected_latency_ms = 0.0

    def hit(self, action_key: str, fault: str | None, latency_s: float) -> None:
        with self._lock:
            self.requests[action_key] += 1
            counter = {
                THROTTLE: self.throttled,
                SERVER_ERROR: self.server_errors,
                LOST_RESPONSE: self.lost_responses,
            }.get(fault or "")
            if counter is not None:
                counter[action_key] += 1
            self.injected_latency_ms += latency_s * 1000.0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "throttled": dict(self.throttled),
                "server_errors": dict(self.server_errors),
                "lost_responses": dict(self.lost_responses),
                "injected_latency_ms": round(self.injected_latency_ms, 3),
            }

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled.clear()
            self.server_errors.clear()
            self.lost_responses.clear()
            self.injected_latency_ms = 0.0
