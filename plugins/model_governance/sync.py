"""What the lifecycle sync does with one SageMaker-side observation of a model package (pure, no I/O).

The sync DAG (issue 8) feeds this with what an EventBridge event or a reconcile ``Search`` says about a
package, and with what the inventory holds about its model; it answers with one decision. The rules come
from the mapping table's directions:

- a package deleted, or moved to the ``Archived`` stage, is decommissioned;
- a version not yet in the inventory is onboarded: at its lifecycle's status only where the table lets
  SageMaker originate it (Under Development, Development Complete); registered at a governance-owned stage
  it starts at Development Complete instead, and the attempt is drift;
- an observation older than the last one applied is stale (events arrive late, twice, out of order);
- a (Stage, StageStatus) pair the table does not know changes nothing and is reported;
- a status SageMaker may originate (``bidirectional``, ``sagemaker->governance``) is applied when the life
  cycle allows the move (so Deployed only from Approved for Deployment);
- anything else is drift: governance's status is written back to SageMaker;
- ``ModelApprovalStatus`` belongs to governance (``lifecycle.approval_status_for``): any other value, at
  onboarding or later, is drift too, and governance's value is written back.

Every drift is reverted through the one write-back (``services.writeback``) and recorded as a ``drift``
finding naming what was attempted and who did it (the package's ``LastModifiedBy``, or ``CreatedBy`` for a
registration; the CloudTrail ``userIdentity`` when a CloudTrail event reported it). See
``docs/sync-guarantees.md``.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from model_governance import model_cards
from model_governance.exceptions import InvalidInputError, NotFoundError, StatusConflictError
from model_governance.inventory import EventSource, Inventory, Model, SyncIssueKind, parse_model_package_arn
from model_governance.inventory.status import Onboarding
from model_governance.lifecycle import (
    ONBOARDING_DEFAULT,
    GovernanceStatus,
    approval_status_for,
    can_transition,
    from_sagemaker,
    may_come_from_sagemaker,
    onboarding_status,
    to_sagemaker,
)
from model_governance.redaction import redact_text
from model_governance.registry import GovernanceLinks
from model_governance.services.challengers import link_if_challenger
from model_governance.services.writeback import GovernanceWriteBack

__all__ = ["ONBOARDING_DEFAULT", "GovernanceLinks"]  # re-exported: their home is lifecycle / registry

if TYPE_CHECKING:
    from model_governance.services.endpoints import EndpointReconciler

#: The SageMaker stage that means "taken out of use" whatever its stage status.
ARCHIVED_STAGE = "Archived"


class SyncAction(StrEnum):
    NOTHING = "nothing"
    ONBOARD = "onboard"
    APPLY = "apply"
    REVERT_DRIFT = "revert_drift"
    REPORT_UNKNOWN = "report_unknown"
    DECOMMISSION = "decommission"
    IGNORE_STALE = "ignore_stale"


@dataclass(frozen=True)
class PackageObservation:
    """What SageMaker said about a package at ``last_modified`` (or that it is gone)."""

    package_arn: str
    stage: str | None
    stage_status: str | None
    last_modified: datetime
    deleted: bool = False
    #: The package's ``ModelApprovalStatus`` (None: not known from this observation).
    approval_status: str | None = None
    #: Who made the package's last change (``LastModifiedBy``), and who registered it (``CreatedBy``).
    modified_by: str | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class ModelRecord:
    """What the inventory holds: the model's status and the newest SageMaker change already applied."""

    status: GovernanceStatus
    sagemaker_last_modified: datetime | None = None
    #: When governance last moved the status (its latest status event); None when not looked up.
    status_changed_at: datetime | None = None


@dataclass(frozen=True)
class SyncDecision:
    action: SyncAction
    #: The governance status to record (apply, onboard) or to write back to SageMaker (drift).
    status: GovernanceStatus | None
    reason: str
    #: What was attempted in SageMaker that governance reverts (None: nothing); the drift finding's text.
    drift: str | None = None


def _approval_drift(seen: PackageObservation, status: GovernanceStatus) -> str | None:
    """The approval status set in SageMaker against governance's, or None when it is governance's."""
    expected = approval_status_for(status)
    if seen.approval_status is None or seen.approval_status == expected:
        return None
    return f"ModelApprovalStatus {seen.approval_status} (governance: {expected} for {status.value})"


def decide(model: ModelRecord | None, seen: PackageObservation) -> SyncDecision:
    """The one thing to do about ``seen``, given the inventory's ``model`` (None: not onboarded)."""
    pair = f"{seen.stage}/{seen.stage_status}"
    if seen.deleted or seen.stage == ARCHIVED_STAGE:
        why = "deleted in SageMaker" if seen.deleted else f"archived in SageMaker ({pair})"
        if model is None or model.status is GovernanceStatus.DECOMMISSIONED:
            return SyncDecision(SyncAction.NOTHING, None, f"{why}; nothing governed to decommission")
        return SyncDecision(SyncAction.DECOMMISSION, GovernanceStatus.DECOMMISSIONING, why)
    observed = from_sagemaker(seen.stage or "", seen.stage_status or "")
    if model is None:
        status = onboarding_status(observed)
        attempted = []
        if observed is not None and observed is not status:
            attempted.append(f"registered as {pair} ({observed.value})")
        approval = _approval_drift(seen, status)
        if approval:
            attempted.append(f"registered with {approval}")
        drift = None
        if attempted:
            drift = (
                f"{' and '.join(attempted)} without governance approvals; onboarded as {status.value}, "
                "governance's values written back"
            )
        return SyncDecision(
            SyncAction.ONBOARD,
            status,
            f"new version with lifecycle {pair}, onboarded as {status.value}",
            drift,
        )
    if model.sagemaker_last_modified is not None and seen.last_modified <= model.sagemaker_last_modified:
        return SyncDecision(
            SyncAction.IGNORE_STALE,
            None,
            f"observation of {seen.last_modified.isoformat()} is not newer than the last applied "
            f"({model.sagemaker_last_modified.isoformat()})",
        )
    if model.status_changed_at is not None and seen.last_modified < model.status_changed_at:
        # Read before governance's latest move (the MLC records the status first, then writes SageMaker):
        # not a change made in SageMaker, so no drift finding; governance's values are written back where
        # they differ (the move's own write-back may be on its way, or may have failed).
        return SyncDecision(
            SyncAction.NOTHING,
            None,
            f"observation of {seen.last_modified.isoformat()} predates governance's move to "
            f"{model.status.value} at {model.status_changed_at.isoformat()}",
        )
    if observed is None:
        return SyncDecision(
            SyncAction.REPORT_UNKNOWN,
            None,
            f"lifecycle {pair} is not in the mapping table",
            _set_in_sagemaker(_approval_drift(seen, model.status)),
        )
    if observed is model.status:
        approval = _approval_drift(seen, model.status)
        if approval is None:
            return SyncDecision(SyncAction.NOTHING, None, f"already {model.status.value}")
        return SyncDecision(
            SyncAction.REVERT_DRIFT,
            model.status,
            f"{approval} set in SageMaker; governance's value restored",
            _set_in_sagemaker(approval),
        )
    if may_come_from_sagemaker(observed) and can_transition(model.status, observed):
        return SyncDecision(
            SyncAction.APPLY,
            observed,
            f"SageMaker moved it to {pair}",
            _set_in_sagemaker(_approval_drift(seen, observed)),
        )
    expected = to_sagemaker(model.status)
    reason = (
        f"SageMaker shows {pair} but governance holds {model.status.value} "
        f"({expected.stage}/{expected.stage_status}); {observed.value} cannot come from SageMaker here"
    )
    approval = _approval_drift(seen, model.status)
    also = f"; and {approval} set in SageMaker" if approval else ""
    return SyncDecision(
        SyncAction.REVERT_DRIFT, model.status, reason, f"{reason}{also}; governance's values written back"
    )


def _set_in_sagemaker(approval: str | None) -> str | None:
    return f"{approval} set in SageMaker; governance's value written back" if approval else None


# -- applying observations: the service the sync DAG runs per registry -------------------------------------
#
# Pure of Airflow: the registry is anything with the methods of ``RegistryClient`` (the Airflow hook
# ``SageMakerRegistryHook`` in production, a fake in unit tests), the inventory is the SQLAlchemy one.

#: Who the audit trail names for changes the sync applies.
SYNC_ACTOR = "sagemaker-lifecycle-sync"
#: Statuses whose models the reconcile no longer looks for in SageMaker.
_GONE = (GovernanceStatus.DECOMMISSIONED,)
#: A version reaching this status starts its implementation run (the MLC's entry condition).
MLC_ENTRY_STATUS = GovernanceStatus.DEVELOPMENT_COMPLETE

#: Write-back threads per registry (one LifecycleSync per business entity, so per registry).
WRITE_CONCURRENCY = 8
#: A write throttled even after botocore's adaptive retries is tried again this many times, backing off.
_THROTTLE_RETRIES = 5
_THROTTLE_FIRST_DELAY = 0.5
#: Packages onboarded or moved in a pass whose links are read together (one inventory query per batch).
_LINKS_BATCH = 200
#: Versions a pass onboards in one inventory transaction (``Inventory.onboard_models``).
ONBOARD_BATCH = 200


class _Unset:
    """Links not read yet (None means: read, and the model has none)."""


_UNSET = _Unset()


class RegistryClient(Protocol):
    def iter_modified_since(self, since: datetime) -> Iterator[dict[str, Any]]: ...
    def iter_all_packages(self) -> Iterator[dict[str, Any]]: ...
    def search_packages(self, arns: Sequence[str]) -> Iterator[dict[str, Any]]: ...
    def describe_model_package(self, arn: str) -> dict[str, Any]: ...
    def update_model_package(
        self, arn: str, body: Mapping[str, Any], *, token_parts: Sequence[str]
    ) -> dict[str, Any]: ...


def mlc_run_id(business_entity: str, package_arn: str) -> str:
    """The implementation run of a version: one id per version, so starting it twice starts it once."""
    group, version = _group_and_version(package_arn)
    return f"mlc__{business_entity}__{group}__v{version}"[:250]


def _group_and_version(package_arn: str) -> tuple[str, int]:
    parts = parse_model_package_arn(package_arn)
    return parts.group_name, parts.version


def _as_utc(value: Any) -> datetime:
    """A package time as an aware UTC datetime (boto3 gives datetimes; events give ISO 8601 strings)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass  # not ISO 8601, or outside the range of dates: the same answer as any other non-time
    raise InvalidInputError(
        f"model package time {str(value)[:64]!r} is not an ISO 8601 time or epoch seconds in range"
    )


def _object(value: Any, where: str) -> dict[str, Any]:
    """``value`` when it is a JSON object (absent is empty); else bad input naming where it was."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"queue message's {where} is a {type(value).__name__}, not an object; only EventBridge events "
            "belong on this queue"
        )
    return value


def identity(user_context: Mapping[str, Any] | None) -> str | None:
    """Who a SageMaker ``UserContext`` (``CreatedBy`` / ``LastModifiedBy``) names: the Studio user profile,
    else the IAM identity's ARN; None when SageMaker recorded nobody."""
    if not user_context:
        return None
    iam = (user_context.get("IamIdentity") or {}).get("Arn")
    profile = user_context.get("UserProfileName")
    if profile:
        domain = user_context.get("DomainId")
        where = f" in domain {domain}" if domain else ""
        return f"Studio user profile {profile}{where}" + (f" ({iam})" if iam else "")
    return str(iam) if iam else None


def cloudtrail_identity(user_identity: Mapping[str, Any] | None) -> str | None:
    """Who a CloudTrail ``userIdentity`` names: its ARN (and source identity, when one was set)."""
    if not user_identity:
        return None
    who = user_identity.get("arn") or user_identity.get("principalId")
    source = (user_identity.get("sessionContext") or {}).get("sourceIdentity")
    if who and source:
        return f"{who} (source identity {source})"
    return str(who) if who else None


def observe(package: Mapping[str, Any]) -> PackageObservation:
    """What a full package description (Search or Describe) says about its lifecycle and approval."""
    lifecycle = package.get("ModelLifeCycle") or {}
    return PackageObservation(
        package_arn=str(package["ModelPackageArn"]),
        stage=lifecycle.get("Stage"),
        stage_status=lifecycle.get("StageStatus"),
        last_modified=_as_utc(package.get("LastModifiedTime") or package.get("CreationTime")),
        deleted=package.get("ModelPackageStatus") == "Deleting",
        approval_status=package.get("ModelApprovalStatus"),
        modified_by=identity(package.get("LastModifiedBy")),
        created_by=identity(package.get("CreatedBy")),
    )


@dataclass(frozen=True)
class QueueMessage:
    """One SQS message as the trigger received it (``message_batch`` of the asset event)."""

    message_id: str
    receipt_handle: str
    body: str


@dataclass(frozen=True)
class PackageEvent:
    """The part of an EventBridge ``SageMaker Model Package State Change`` event the sync needs."""

    package_arn: str
    deleted: bool
    time: datetime
    #: Who made the call, when the event says (CloudTrail ``userIdentity``); None for state changes.
    actor: str | None = None


#: CloudTrail-recorded registry calls the sync reads (the EventBridge rule in docs/sync-guarantees.md).
CLOUDTRAIL_PACKAGE_CALLS = ("CreateModelPackage", "UpdateModelPackage", "DeleteModelPackage")


def parse_event(body: str) -> PackageEvent | None:
    """Read one queue message body: a package state change, or a CloudTrail-recorded registry call.

    ``CreateModelPackage``, ``UpdateModelPackage`` and ``DeleteModelPackage`` (CloudTrail) are package
    events like any other, and name who made the call; group creation and deletion carry no package and give
    None (the reconcile picks up what they imply). Anything else is refused.
    """
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise InvalidInputError(
            f"queue message is not JSON ({exc}); only EventBridge events belong here"
        ) from None
    kind = event.get("detail-type") if isinstance(event, dict) else type(event).__name__
    if kind == CLOUDTRAIL_DETAIL_TYPE and isinstance(event, dict):
        detail = _object(event.get("detail"), "detail")
        name = detail.get("eventName")
        if name in ("CreateModelPackageGroup", "DeleteModelPackageGroup"):
            return None
        request = _object(detail.get("requestParameters"), "detail.requestParameters")
        target = {
            "DeleteModelPackage": request.get("modelPackageName"),
            "UpdateModelPackage": request.get("modelPackageArn"),
            "CreateModelPackage": _object(detail.get("responseElements"), "detail.responseElements").get(
                "modelPackageArn"
            ),
        }.get(str(name))
        if name in CLOUDTRAIL_PACKAGE_CALLS and isinstance(target, str) and target.startswith("arn:"):
            parse_model_package_arn(target)
            return PackageEvent(
                package_arn=target,
                deleted=name == "DeleteModelPackage",
                time=_as_utc(event.get("time")),
                actor=cloudtrail_identity(_object(detail.get("userIdentity"), "detail.userIdentity")),
            )
        if name in CLOUDTRAIL_PACKAGE_CALLS:
            return None  # an unversioned package by name, or a failed call: never governed
        raise InvalidInputError(
            f"CloudTrail event {name!r} is not one the sync reads; the rule should match only "
            f"CreateModelPackageGroup, DeleteModelPackageGroup and {', '.join(CLOUDTRAIL_PACKAGE_CALLS)}"
        )
    if not isinstance(event, dict) or kind != EVENT_DETAIL_TYPE:
        raise InvalidInputError(
            f"queue message is a {kind!r}, not a {EVENT_DETAIL_TYPE!r} event; fix the EventBridge rule's "
            "event pattern so only model package changes reach the queue"
        )
    detail = _object(event.get("detail"), "detail")
    resources = event.get("resources") or []
    if not isinstance(resources, list):
        raise InvalidInputError(
            f"queue message's resources is a {type(resources).__name__}, not a list of ARNs; only "
            "EventBridge events belong on this queue"
        )
    arn = detail.get("ModelPackageArn") or next(iter(resources), None)
    if not isinstance(arn, str) and arn is not None:
        raise InvalidInputError(f"model package event's ARN is a {type(arn).__name__}, not a string")
    if not arn:
        raise InvalidInputError("model package event has no ModelPackageArn in detail or resources")
    parse_model_package_arn(str(arn))  # refuse a malformed ARN here, with its own message
    return PackageEvent(
        package_arn=str(arn),
        deleted=detail.get("ModelPackageStatus") == "Deleting",
        time=_as_utc(event.get("time") or detail.get("LastModifiedTime")),
    )


EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


#: Findings that are not open issues, only news: a model was decommissioned, its run stopped.
DECOMMISSIONED_FINDING = "decommissioned"
RUN_STOPPED_FINDING = "implementation_run_stopped"
#: Statuses in which the implementation run has nothing left to do.
_MLC_DONE = {
    GovernanceStatus.DEPLOYED.value,
    GovernanceStatus.REJECTED.value,
    GovernanceStatus.DECOMMISSIONING.value,
    GovernanceStatus.DECOMMISSIONED.value,
}


@dataclass
class Finding:
    """Something operators should hear about, once per sync run's summary."""

    kind: str
    package_arn: str | None
    detail: str


@dataclass
class SyncReport:
    """What one sync of one registry did."""

    business_entity: str
    mode: str
    seen: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: Messages applied (delete them) and failed (leave them for redelivery, or dead-letter them).
    done_messages: list[QueueMessage] = field(default_factory=list)
    failed_messages: list[tuple[QueueMessage, str]] = field(default_factory=list)
    watermark: datetime | None = None
    writes: int = 0

    def count(self, action: SyncAction | str) -> None:
        key = SyncAction(action).value
        self.actions[key] = self.actions.get(key, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "business_entity": self.business_entity,
            "mode": self.mode,
            "seen": self.seen,
            "actions": dict(sorted(self.actions.items())),
            "findings": [
                {"kind": f.kind, "package_arn": f.package_arn, "detail": f.detail} for f in self.findings
            ],
            "writes": self.writes,
            "watermark": self.watermark.isoformat() if self.watermark else None,
        }


class LifecycleSync:
    """Keeps one registry's packages and the inventory's models in step (see the module docstring)."""

    def __init__(
        self,
        *,
        inventory: Inventory,
        registry: RegistryClient,
        business_entity: str,
        lookback: timedelta = timedelta(minutes=5),
        dashboard_base_url: str | None = None,
        stop_run: Callable[[str, str], bool] | None = None,
        endpoints: EndpointReconciler | None = None,
        log: logging.Logger | None = None,
        write_concurrency: int = WRITE_CONCURRENCY,
        onboard_batch: int = ONBOARD_BATCH,
    ) -> None:
        self.inventory = inventory
        self.registry = registry
        self.business_entity = business_entity
        self.lookback = lookback
        self.dashboard_base_url = dashboard_base_url.rstrip("/") if dashboard_base_url else None
        self.log = log or logging.getLogger(__name__)
        #: Stops an implementation run still going, ``(run_id, reason) -> stopped``; None: cannot stop.
        self.stop_run = stop_run
        #: What endpoints serve (services/endpoints.py): checks Deployment/Complete, reconciles endpoints.
        self.endpoints = endpoints
        self._linked: set[str] | None = None
        self._models: dict[str, Model] | None = None
        self._state_updates: dict[int, tuple[str | None, datetime]] = {}
        self._links: dict[str, GovernanceLinks] | None = None
        #: The one governance write-back (shared with the MLC's status steps).
        self.writeback = GovernanceWriteBack(registry)
        #: Write-backs of a sync pass go to this many threads (1: one after another, as they are decided).
        self.write_concurrency = max(1, write_concurrency)
        self._writes = _ConcurrentWrites(registry)
        self._pending: list[_PendingWrite] = []
        self._deferred: list[_Settle] = []
        self._write_failures: dict[str, tuple[PackageObservation, Exception]] = {}
        #: Versions a pass onboards together (1: each in its own transaction, as it is decided).
        self.onboard_batch = max(1, onboard_batch)
        #: The pass's versions waiting to be onboarded, by ARN (None: outside a pass, onboard in line).
        self._onboarding: dict[str, _Onboard] | None = None

    # -- entry points -----------------------------------------------------------------------------------

    def reconcile(self, *, full: bool = False) -> SyncReport:
        """Incremental: packages modified since the watermark (minus the lookback). Full: every package,
        and governed models missing from SageMaker are decommissioned."""
        mark = self.inventory.sync_watermark(self.business_entity)
        since = None if full else mark.last_modified  # no watermark yet: look at everything once
        full = since is None
        report = SyncReport(self.business_entity, "full" if full else "incremental")
        packages = (
            self.registry.iter_all_packages()
            if since is None
            else self.registry.iter_modified_since(since - self.lookback)
        )
        newest = mark.last_modified
        present: set[str] = set()
        # Read every page before writing anything: the write-back moves a package's LastModifiedTime, and
        # a listing sorted by it would shift under the paginator.
        with self._writing():
            newest = self._reconcile_packages(list(packages), report, present, newest)
        for seen, exc in self._write_failures.values():  # a write SageMaker refused: that package's finding
            self._package_failed(report, seen, exc)
        if full:
            self._decommission_missing(present, report)
        if self.endpoints is not None:
            served = self.endpoints.reconcile()
            report.writes += served.writes
            report.findings.extend(Finding(f.kind, f.package_arn, f.detail) for f in served.findings)
        self._flush_states()
        report.watermark = newest
        self.inventory.advance_sync_watermark(self.business_entity, last_modified=newest, full=full)
        return report

    def _reconcile_packages(
        self,
        packages: list[dict[str, Any]],
        report: SyncReport,
        present: set[str],
        newest: datetime | None,
    ) -> datetime | None:
        for package in packages:
            report.seen += 1
            try:
                seen = observe(package)
            except Exception as exc:  # a package SageMaker describes oddly is skipped, never the reconcile
                self.log.warning("Package %s skipped: %s", package.get("ModelPackageArn"), exc)
                continue
            present.add(seen.package_arn)
            newest = seen.last_modified if newest is None or seen.last_modified > newest else newest
            if self._governed(seen.package_arn):
                try:
                    self._apply(seen, package, report)
                except StatusConflictError as exc:  # the MLC moved it meanwhile: the next sync sees it again
                    self.log.info("Sync of %s skipped: %s", seen.package_arn, exc)
                    self._models = None
                except Exception as exc:  # e.g. a write-back SageMaker refuses: that package's finding
                    self._models = None
                    self._package_failed(report, seen, exc)
        return newest

    def apply_messages(self, messages: Sequence[QueueMessage]) -> SyncReport:
        """Apply queue messages: each names a package; its current state is read in bulk (Search), so a
        late, repeated or reordered event changes nothing that a newer one did not already say."""
        report = SyncReport(self.business_entity, "events")
        by_arn: dict[str, list[QueueMessage]] = {}
        deleted: dict[str, PackageEvent] = {}
        actors: dict[str, str] = {}
        for message in {m.message_id: m for m in messages}.values():
            try:
                event = parse_event(message.body)
            except InvalidInputError as exc:
                report.failed_messages.append((message, str(exc)))
                continue
            except Exception as exc:  # a body no rule foresaw is this message's failure, not the batch's
                report.failed_messages.append((message, f"unreadable event ({type(exc).__name__}: {exc})"))
                continue
            if event is None or not self._governed(event.package_arn):
                report.count(SyncAction.NOTHING)
                report.done_messages.append(message)
                continue
            by_arn.setdefault(event.package_arn, []).append(message)
            if event.deleted:
                deleted[event.package_arn] = event
            if event.actor:  # CloudTrail named the caller: the newest such event's wins
                actors[event.package_arn] = event.actor
        found = (
            {p["ModelPackageArn"]: p for p in self.registry.search_packages(list(by_arn))} if by_arn else {}
        )
        done: dict[str, list[QueueMessage]] = {}
        with self._writing():
            self._apply_found(by_arn, found, deleted, actors, report, done)
        for arn, arn_messages in done.items():
            if arn in self._write_failures:  # its write-back failed: the message stays for a retry
                failure = self._write_failures[arn][1]
                self.log.warning("Sync of %s failed: %s", arn, failure)
                report.failed_messages.extend(
                    (m, redact_text(f"{type(failure).__name__}: {failure}")) for m in arn_messages
                )
            else:
                report.done_messages.extend(arn_messages)
        self._flush_states()
        return report

    def _apply_found(
        self,
        by_arn: dict[str, list[QueueMessage]],
        found: dict[str, dict[str, Any]],
        deleted: dict[str, PackageEvent],
        actors: dict[str, str],
        report: SyncReport,
        done: dict[str, list[QueueMessage]],
    ) -> None:
        for arn, arn_messages in by_arn.items():
            report.seen += 1
            try:
                package = found.get(arn) or self._describe_or_none(arn)
                if package is None:
                    when = deleted[arn].time if arn in deleted else datetime.now(UTC)
                    seen = PackageObservation(arn, None, None, when, deleted=True)
                else:
                    seen = observe(package)
                self._apply(seen, package, report, actor=actors.get(arn))
            except Exception as exc:  # one package's failure must not fail the others
                self.log.warning("Sync of %s failed: %s", arn, exc)
                self._models = None
                report.failed_messages.extend(
                    (m, redact_text(f"{type(exc).__name__}: {exc}")) for m in arn_messages
                )
                continue
            done[arn] = arn_messages

    # -- the rules ---------------------------------------------------------------------------------------

    def _known(self, package_arn: str) -> Model | None:
        """The inventory's model for a package (the registry's models are read once per sync)."""
        if self._models is None:
            self._models = {m.package_arn: m for m in self.inventory.governed_models(self.business_entity)}
        return self._models.get(package_arn)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A sync pass's write-backs run on a small thread pool (``write_concurrency``); every one of them
        has finished (and its failure is in ``_write_failures``) when the pass's states are recorded."""
        self._write_failures = {}
        self._onboarding = {} if self.onboard_batch > 1 else None
        try:
            if self.write_concurrency <= 1:
                try:
                    yield
                finally:
                    self._flush_onboarding()
                return
            with ThreadPoolExecutor(self.write_concurrency, thread_name_prefix="sync-write") as pool:
                self._writes.pool = pool
                try:
                    yield
                finally:
                    self._drain_writes()
                    self._writes.pool = None
        finally:
            self._onboarding = None

    def _drain_writes(self) -> None:
        """Wait for the write-backs in flight; a failed one is not counted, and its package's state is not
        remembered (so the next sync sees it again), exactly as if it had failed in line."""
        self._flush_onboarding()
        self._settle_deferred()
        pending, self._pending = self._pending, []
        for write in pending:
            exc = write.future.exception()
            if exc is None:
                continue
            if not isinstance(exc, Exception):
                raise exc
            self._write_failures[write.seen.package_arn] = (write.seen, exc)
            write.report.writes -= 1
            self._state_updates.pop(write.model_id, None)
            self._models = None

    def _flush_states(self) -> None:
        self._drain_writes()
        if self._state_updates:
            self.inventory.record_sagemaker_states(self._state_updates)
            for model in (self._models or {}).values():  # the cached rows learn what was just recorded
                if model.id in self._state_updates:
                    model.approval_status, model.sagemaker_last_modified = self._state_updates[model.id]
            self._state_updates = {}

    def _remember(self, model: Model) -> Model:
        """Put a model just read or written into the sync's cache of the registry's models."""
        if self._models is not None:
            self._models[model.package_arn] = model
        return model

    def _apply(
        self,
        seen: PackageObservation,
        package: Mapping[str, Any] | None,
        report: SyncReport,
        *,
        actor: str | None = None,
    ) -> None:
        """Apply one observation; ``actor`` is who made the change when the event said (CloudTrail)."""
        if self._onboarding and seen.package_arn in self._onboarding:
            self._flush_onboarding()  # seen again in the same pass: decide on the version as onboarded
        model = self._known(seen.package_arn)
        record = (
            ModelRecord(GovernanceStatus(model.status), model.sagemaker_last_modified)
            if model is not None
            else None
        )
        decision = decide(record, seen)
        if decision.drift and model is not None:
            # About to overwrite SageMaker: decide on the inventory as it is now, not as cached (the MLC
            # may have moved the model since the sync read it, and its own write-back is on the way).
            fresh = self.inventory.get_model(model.id)
            if fresh.status != model.status:
                model = self._remember(fresh)
            history = self.inventory.status_history(model)
            record = ModelRecord(
                GovernanceStatus(model.status),
                model.sagemaker_last_modified,
                status_changed_at=_as_utc(history[-1].created_at) if history else None,
            )
            decision = decide(record, seen)
        if decision.status is GovernanceStatus.DEPLOYED and model is not None and self.endpoints is not None:
            served, words = self.endpoints.confirm_deployed(model, package)  # Deployed means served
            decision = SyncDecision(
                decision.action if served else SyncAction.REVERT_DRIFT,
                decision.status if served else GovernanceStatus(model.status),
                f"{decision.reason}; {words}" if served else words,
            )
        report.count(decision.action)
        action = decision.action
        drift = decision.drift or (decision.reason if action is SyncAction.REVERT_DRIFT else None)
        if action is SyncAction.ONBOARD:
            onboard = _Onboard(
                self._onboarding_of(seen, decision, drift), seen, package, report, drift, actor
            )
            if self._onboarding is not None:  # in a pass: with the others (one transaction per batch)
                self._onboarding[seen.package_arn] = onboard
                if len(self._onboarding) >= self.onboard_batch:
                    self._flush_onboarding()
                return
            model = self._onboard_one(onboard)
        elif action is SyncAction.APPLY:
            assert model is not None and decision.status is not None
            self.inventory.transition(
                model,
                decision.status,
                source=EventSource.SAGEMAKER,
                actor=self._actor(package),
                reason=decision.reason,
                expected_from=model.status,
            )
            if drift is None:  # SageMaker and governance agree again
                self.inventory.resolve_sync_issues(model=model.id, kinds=[SyncIssueKind.DRIFT])
            model = self._choose_run(self.inventory.get_model(model.id))
        elif action is SyncAction.REPORT_UNKNOWN:
            self._finding(
                report, SyncIssueKind.UNKNOWN_LIFECYCLE, seen, model.id if model else None, decision.reason
            )
        elif action is SyncAction.DECOMMISSION:
            assert model is not None
            self._decommission(model.id, seen, decision.reason, report, package)
            self._remember(self.inventory.get_model(model.id))
            return
        if action is not SyncAction.IGNORE_STALE and model is not None:
            changed_now = action in (SyncAction.ONBOARD, SyncAction.APPLY)
            self._follow_up(
                _Settle(model, seen, package, report, drift, actor, action is SyncAction.ONBOARD, changed_now)
            )

    def _follow_up(self, later: _Settle) -> None:
        """The write-back, drift finding and state of an applied observation: now, or deferred."""
        if later.package is not None and later.changed_now and self._writes.pool is not None:
            # A model just onboarded or moved needs its fresh links: read them for a batch at once
            # (one inventory query per batch instead of one per package), then write and settle.
            self._deferred.append(later)
            if len(self._deferred) >= _LINKS_BATCH:
                self._settle_deferred()
            return
        self._settle(later)

    def _onboarding_of(
        self, seen: PackageObservation, decision: SyncDecision, drift: str | None
    ) -> Onboarding:
        assert decision.status is not None
        return Onboarding(
            package_arn=seen.package_arn,
            status=decision.status,
            actor=SYNC_ACTOR,
            reason=f"{decision.reason}; {drift}" if drift else decision.reason,
            source=EventSource.SAGEMAKER,
            approval_status=seen.approval_status,
            sagemaker_last_modified=seen.last_modified,
            # the run _choose_run would assign right after, recorded with the model
            mlc_run_id=(
                mlc_run_id(self.business_entity, seen.package_arn)
                if decision.status is MLC_ENTRY_STATUS
                else None
            ),
        )

    def _onboard_one(self, onboard: _Onboard) -> Model:
        """One version in its own transaction (``upsert_model``), its challenger link and its run."""
        item = onboard.onboarding
        model, _ = self.inventory.upsert_model(
            package_arn=item.package_arn,
            status=item.status,
            actor=item.actor,
            reason=item.reason,
            source=item.source,
            approval_status=item.approval_status,
            sagemaker_last_modified=item.sagemaker_last_modified,
        )
        link_if_challenger(self.inventory, model)  # a model change's next version: its challenger
        return self._choose_run(model)

    def _flush_onboarding(self) -> None:
        """Onboard the pass's waiting versions in one inventory transaction (``onboard_models``), then
        follow each up as ``_apply`` does in line. When the batch fails, each version goes on its own, so a
        failure stays that version's: a finding, or its messages left for a retry (``_write_failures``)."""
        if not self._onboarding:
            return
        batch, self._onboarding = list(self._onboarding.values()), {}
        try:
            results: list[tuple[Model, bool]] | None = self.inventory.onboard_models(
                [onboard.onboarding for onboard in batch]
            )
        except Exception as exc:
            self.log.info("Onboarding %d versions together failed (%s); one at a time", len(batch), exc)
            results = None
        in_change: dict[int, int] = {}
        if results is not None:
            try:
                in_change = self.inventory.lowest_versions_in(
                    GovernanceStatus.MODEL_CHANGE_IN_PROGRESS,
                    {model.model_group_id for model, created in results if created},
                )
            except Exception as exc:
                for onboard in batch:
                    self._write_failures[onboard.seen.package_arn] = (onboard.seen, exc)
                return
        for index, onboard in enumerate(batch):
            try:
                if results is None:
                    model = self._onboard_one(onboard)
                else:
                    model, created = results[index]
                    # A model change's next version is its challenger: the lowest version in a change
                    # is read for the whole batch, and link_if_challenger checks again as it links.
                    if not created or model.version > in_change.get(model.model_group_id, model.version):
                        link_if_challenger(self.inventory, model)
                    model = self._remember(model) if created else self._choose_run(model)
                self._follow_up(
                    _Settle(
                        model,
                        onboard.seen,
                        onboard.package,
                        onboard.report,
                        onboard.drift,
                        onboard.actor,
                        onboarding=True,
                        changed_now=True,
                    )
                )
            except Exception as exc:  # that version's failure, as in line
                self._models = None
                self._write_failures[onboard.seen.package_arn] = (onboard.seen, exc)

    def _settle(self, later: _Settle, links: GovernanceLinks | _Unset | None = _UNSET) -> None:
        """Write governance back into the package where it differs, record drift, remember the state."""
        model, seen, package, report = later.model, later.seen, later.package, later.report
        approval = seen.approval_status
        if package is not None:
            written = self._write_back(
                model,
                package,
                report,
                changed_now=later.changed_now,
                # an unknown pair is reported, not overwritten; no lifecycle at all is left alone too
                write_lifecycle=from_sagemaker(seen.stage or "", seen.stage_status or "") is not None,
                links=links,
            )
            approval = written.get("ModelApprovalStatus", approval)
        if later.drift:
            self._drift_finding(
                report, seen, model.id, later.drift, actor=later.actor, onboarding=later.onboarding
            )
        if model.sagemaker_last_modified != seen.last_modified or (
            approval and approval != model.approval_status
        ):
            # Batched: in a reconcile most packages only have a newer time to remember.
            self._state_updates[model.id] = (approval or model.approval_status, seen.last_modified)
            if len(self._state_updates) >= 500:
                self._flush_states()

    def _settle_deferred(self) -> None:
        """Settle the deferred packages: their links in one inventory read, then each one's write-back
        (to the pool), drift finding and state; a failure is that package's, as in line."""
        batch, self._deferred = self._deferred, []
        if not batch:
            return
        try:
            links = self._governance_links(model_ids=[later.model.id for later in batch])
        except Exception as exc:
            for later in batch:
                self._write_failures[later.seen.package_arn] = (later.seen, exc)
            return
        for later in batch:
            try:
                self._settle(later, links.get(later.seen.package_arn))
            except Exception as exc:
                self._models = None
                self._write_failures[later.seen.package_arn] = (later.seen, exc)

    def _decommission(
        self,
        model_id: int,
        seen: PackageObservation,
        reason: str,
        report: SyncReport,
        package: Mapping[str, Any] | None = None,
    ) -> None:
        model = self.inventory.get_model(model_id)
        for status in (GovernanceStatus.DECOMMISSIONING, GovernanceStatus.DECOMMISSIONED):
            self.inventory.transition(
                model_id, status, source=EventSource.SAGEMAKER, actor=SYNC_ACTOR, reason=reason
            )
        self.inventory.record_sagemaker_state(
            model_id, approval_status=None, last_modified=seen.last_modified
        )
        if not seen.deleted:  # archived: say so in SageMaker too (Archived/Complete); a deleted one is gone
            result = self.writeback.write(
                GovernanceStatus.DECOMMISSIONED,
                package=package,
                arn=seen.package_arn,
                links=self._governance_links(model_ids=[model_id]).get(seen.package_arn),
                token_parts=("lifecycle-sync", "decommission", seen.last_modified.isoformat()),
                description=f"decommissioned by governance: {reason}",
            )
            report.writes += int(result.written)
            report.writes += int(self._archive_card(seen, package if not result.written else None))
        report.findings.append(Finding(DECOMMISSIONED_FINDING, seen.package_arn, reason))
        run_id = model.mlc_run_id
        if run_id and model.status not in _MLC_DONE:
            why = f"model package decommissioned: {reason}"
            if self.stop_run is None:
                report.findings.append(
                    Finding(
                        DECOMMISSIONED_FINDING,
                        seen.package_arn,
                        f"its implementation run {run_id} may still be running; set sync.airflow_api_conn_id "
                        "to have the sync stop it",
                    )
                )
            elif self.stop_run(run_id, why):
                report.findings.append(
                    Finding(RUN_STOPPED_FINDING, seen.package_arn, f"run {run_id} stopped: {why}")
                )

    def _archive_card(self, seen: PackageObservation, package: Mapping[str, Any] | None) -> bool:
        """Archive the package's model card (final: SageMaker refuses any later change), after the links
        went onto it; False when there is no card or it is Archived already."""
        if package is None:
            package = self.registry.describe_model_package(seen.package_arn)
        archived = model_cards.CardStatus.ARCHIVED
        body = model_cards.status_move(seen.package_arn, package.get("ModelCard"), archived)
        if body is None:
            return False
        self.registry.update_model_package(
            seen.package_arn,
            {"ModelCard": body},
            token_parts=("lifecycle-sync", "card-archived", seen.last_modified.isoformat()),
        )
        return True

    def _decommission_missing(self, present: set[str], report: SyncReport) -> None:
        """Governed models the full listing did not return: gone unless a Describe still finds them
        (Search is eventually consistent; Describe is not)."""
        for model in self.inventory.governed_models(self.business_entity, exclude=_GONE):
            if model.package_arn in present:
                continue
            package = self._describe_or_none(model.package_arn)
            if package is not None:
                self._apply(observe(package), package, report)
                continue
            seen = PackageObservation(model.package_arn, None, None, datetime.now(UTC), deleted=True)
            report.count(SyncAction.DECOMMISSION)
            self._decommission(
                model.id, seen, "absent from SageMaker at the full reconcile (deleted)", report
            )

    # -- helpers -----------------------------------------------------------------------------------------

    def _governed(self, package_arn: str) -> bool:
        if self._linked is None:
            self._linked = self.inventory.linked_group_arns(self.business_entity)
        try:
            group_arn = parse_model_package_arn(package_arn).group_arn
        except InvalidInputError:
            return False
        return group_arn.lower() in self._linked

    def _describe_or_none(self, arn: str) -> dict[str, Any] | None:
        try:
            return self.registry.describe_model_package(arn)
        except NotFoundError:
            return None

    def _choose_run(self, model: Model) -> Model:
        """Choose the implementation run of a model that has just become ready for the MLC."""
        if model.status == MLC_ENTRY_STATUS.value and model.mlc_run_id is None:
            model = self.inventory.assign_mlc_run(
                model.id, mlc_run_id(self.business_entity, model.package_arn)
            )
        return self._remember(model)

    def _actor(self, package: Mapping[str, Any] | None) -> str:
        who = ((package or {}).get("LastModifiedBy") or {}).get("UserProfileName")
        return f"sagemaker:{who}" if who else "sagemaker"

    def _package_failed(self, report: SyncReport, seen: PackageObservation, exc: Exception) -> None:
        """Record one package's failure as its own finding; the reconcile goes on with the others."""
        model = self._known(seen.package_arn)
        detail = redact_text(
            f"{type(exc).__name__}: {exc}. The other packages were synced; fix what the message names and "
            "the next reconcile applies this package again."
        )[:4000]
        self.log.warning("Sync of %s failed: %s", seen.package_arn, detail)
        self._finding(report, SyncIssueKind.PACKAGE_ERROR, seen, model.id if model else None, detail)

    def _finding(
        self,
        report: SyncReport,
        kind: SyncIssueKind,
        seen: PackageObservation,
        model_id: int | None,
        detail: str,
    ) -> None:
        _, created = self.inventory.record_sync_issue(
            kind=kind,
            dedup_key=f"{kind.value}:{seen.package_arn}:{seen.last_modified.isoformat()}",
            detail=detail,
            business_entity=self.business_entity,
            model=model_id,
            package_arn=seen.package_arn,
        )
        if created:
            report.findings.append(Finding(kind.value, seen.package_arn, detail))

    def _write_back(
        self,
        model: Model,
        package: Mapping[str, Any],
        report: SyncReport,
        *,
        changed_now: bool,
        write_lifecycle: bool,
        links: GovernanceLinks | _Unset | None = _UNSET,
    ) -> dict[str, Any]:
        """Governance's status, approval status and links into the package, only where they differ (one
        UpdateModelPackage or none); returns what was written. ``links``: already read (deferred batch)."""
        arn = package["ModelPackageArn"]
        if isinstance(links, _Unset):
            links = (
                self._governance_links(model_ids=[model.id]) if changed_now else self._governance_links()
            ).get(arn)
        writeback = self.writeback if self._writes.pool is None else self._writes.writeback
        result = writeback.write(
            GovernanceStatus(model.status),
            package=package,
            links=links,
            write_lifecycle=write_lifecycle,
            # the state it answers: a retry repeats the token, a later change (even back) gets a new one
            token_parts=("lifecycle-sync", str(package.get("LastModifiedTime"))),
            description=f"governance status {model.status} kept by the lifecycle sync",
        )
        if result.written:
            report.writes += 1
            future = self._writes.take_future()
            if future is not None:
                self._pending.append(_PendingWrite(observe(package), model.id, report, future))
        return result.body

    def _drift_finding(
        self,
        report: SyncReport,
        seen: PackageObservation,
        model_id: int,
        drift: str,
        *,
        actor: str | None,
        onboarding: bool,
    ) -> None:
        """Record (once per observation) what was attempted in SageMaker, and by whom."""
        who = (
            actor
            or (seen.created_by if onboarding else seen.modified_by)
            or ("an identity SageMaker did not record")
        )
        verb = "registered by" if onboarding else "changed by"
        self._finding(report, SyncIssueKind.DRIFT, seen, model_id, f"{drift}; {verb} {who}")

    def _governance_links(self, model_ids: Sequence[int] | None = None) -> dict[str, GovernanceLinks]:
        """Links of every governed model of the registry (read once per sync), or fresh for ``model_ids``."""
        if model_ids is None and self._links is not None:
            return self._links
        links = {
            arn: GovernanceLinks.from_inventory(row, self.dashboard_base_url)
            for arn, row in self.inventory.governance_links(self.business_entity, model_ids=model_ids).items()
        }
        if model_ids is None:
            self._links = links
        return links


@dataclass
class _Settle:
    """What is left of applying one observation once the write-back's links are known."""

    model: Model
    seen: PackageObservation
    package: Mapping[str, Any] | None
    report: SyncReport
    drift: str | None
    actor: str | None
    onboarding: bool
    changed_now: bool


@dataclass
class _Onboard:
    """A version a pass onboards with others (``LifecycleSync._flush_onboarding``)."""

    onboarding: Onboarding
    seen: PackageObservation
    package: Mapping[str, Any] | None
    report: SyncReport
    drift: str | None
    actor: str | None


@dataclass
class _PendingWrite:
    seen: PackageObservation
    model_id: int
    report: SyncReport
    future: Future[Any]


def _throttled(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc} {exc.__cause__!r}"
    return "Throttl" in text or "TooManyRequests" in text or "RequestLimitExceeded" in text


class _ConcurrentWrites:
    """Hands a sync's ``UpdateModelPackage`` calls to a thread pool: what to write is decided in line (the
    write-back's body does not depend on the call's answer), the calls run side by side.

    The ClientToken is the same as in line (it comes from the package and the write), so a write repeated
    after throttling is answered, not applied twice. botocore's adaptive retry mode (one token bucket per
    client, shared by the threads) absorbs most throttling; a write still throttled after it backs off
    here (0.5 s, 1 s, 2 s ... with jitter) before failing.
    """

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        self.pool: ThreadPoolExecutor | None = None
        self.writeback = GovernanceWriteBack(self)  # type: ignore[arg-type]
        self._future: Future[Any] | None = None

    def describe_model_package(self, arn: str) -> dict[str, Any]:
        return self.registry.describe_model_package(arn)

    def update_model_package(self, arn: str, body: Mapping[str, Any], *, token_parts: Sequence[str]) -> None:
        assert self.pool is not None
        self._future = self.pool.submit(self._write, arn, dict(body), tuple(token_parts))

    def take_future(self) -> Future[Any] | None:
        future, self._future = self._future, None
        return future

    def _write(self, arn: str, body: dict[str, Any], token_parts: tuple[str, ...]) -> Any:
        delay = _THROTTLE_FIRST_DELAY
        for attempt in range(_THROTTLE_RETRIES + 1):
            try:
                return self.registry.update_model_package(arn, body, token_parts=token_parts)
            except Exception as exc:
                if attempt == _THROTTLE_RETRIES or not _throttled(exc):
                    raise
                time.sleep(delay * (1.0 + random.random()))  # noqa: S311 - jitter, not security
                delay *= 2
        raise AssertionError("unreachable")
