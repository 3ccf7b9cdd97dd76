"""Where the standard risk tests run: in the worker on the snapshot's pinned data, or as a SageMaker
Processing job (setting ``risk_tests.runner``); both give a ``RiskTestReport`` whose inputs name the
snapshot's ``s3://`` URIs and, per input, what was actually tested.

In the worker, the objects are read through the business entity's connection into a temporary folder and
handed to the engine as local files, so the engine needs no AWS settings of its own; each object's SHA-256
is verified against the snapshot's pin first. As a Processing job, SageMaker downloads the inputs and the
container verifies the pins itself; the report it writes to the governance bucket says what it tested,
which is checked against the pins here. No Airflow here: the S3 client and the jobs hook are passed in.

A model change's challenger is also compared with its champion on the same comparator data
(``ChampionScores``; ``risk_tests.champion``): in the worker, from the comparator copy the tests read; with
the Processing job runner, after the job, from the pinned comparator read again here (only the label, the
two score columns and the protected attributes are decoded). The comparison goes into the challenger's
report as ``champion``, with the pinned comparator's URI, version and SHA-256.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from model_governance.exceptions import (
    ApprovalRejectedError,
    ModelGovernanceError,
    PinnedDataChangedError,
    RiskTestInputError,
)
from model_governance.pinned_data import (
    DataPin,
    FetchedObject,
    check_pinned,
    fetch_pinned,
    object_sha256,
)
from model_governance.pinned_data import changed as pinned_changed
from model_governance.snapshots import (
    ASSET_KEYS,
    BASELINE_DATA,
    COMPARATOR_DATA,
    RISK_TEST_SCHEMA,
    RiskTestPlan,
    S3Location,
    canonical_json,
)
from model_governance.workloads import ProcessingSettings, risk_test_job_request, thresholds_key

if TYPE_CHECKING:
    from model_governance.config import RiskTestsConfig
    from model_governance.inventory import Snapshot
    from model_governance.risk_tests import RiskTestReport, RiskTestSchema
    from model_governance.risk_tests.report import ChampionComparison
    from model_governance.services.evidence_store import EvidenceStore

ROLES = (BASELINE_DATA, COMPARATOR_DATA, RISK_TEST_SCHEMA)
#: The ``risk_tests`` settings a Processing job takes as they are.
_PROCESSING_SETTINGS = ("image_uri", "role_arn", "instance_type", "volume_size_gb", "max_runtime_seconds")
#: The report's name of each data input.
REPORT_INPUTS = ((BASELINE_DATA, "baseline"), (COMPARATOR_DATA, "comparator"))


@dataclass(frozen=True)
class ChampionScores:
    """A model change's champion, whose scores the challenger's comparator data carries in ``column``."""

    package_arn: str
    version: int
    column: str


def snapshot_reference(snapshot: Snapshot) -> dict[str, Any]:
    return {"id": snapshot.id, "content_hash": snapshot.content_hash, "uri": snapshot.uri}


def _fetch(
    s3_client: Any, conn_id: str | None, plan: RiskTestPlan, folder: str, roles: tuple[str, ...]
) -> dict[str, FetchedObject]:
    """Exactly the bytes the snapshot pinned, or PinnedDataChangedError before anything is tested."""
    fetched: dict[str, FetchedObject] = {}
    for role in roles:
        pin = plan.pins[role]
        # Keep the file name, so its format shows.
        path = Path(folder) / f"{pin.role.lower()}-{PurePosixPath(pin.key).name}"
        fetched[role] = fetch_pinned(s3_client, pin, path, conn_id=conn_id)
    return fetched


def _schema(fetched: Mapping[str, FetchedObject], plan: RiskTestPlan) -> RiskTestSchema:
    from model_governance.risk_tests import RiskTestSchema

    schema_uri = plan.schema.uri
    try:
        data = json.loads(fetched[RISK_TEST_SCHEMA].path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RiskTestInputError(
            f"the risk test schema {schema_uri} is not valid JSON ({exc}); fix the object"
        ) from exc
    return RiskTestSchema.from_dict(data, source=f"the risk test schema {schema_uri}")


def _compare(
    fetched: Mapping[str, FetchedObject], plan: RiskTestPlan, schema: RiskTestSchema, champion: ChampionScores
) -> ChampionComparison:
    """The champion's side on the pinned comparator copy, with the data's provenance and the champion."""
    from model_governance.risk_tests.champion import compare_champion

    item = fetched[COMPARATOR_DATA]
    comparison = compare_champion(
        item.path,
        schema,
        champion.column,
        risk_level=plan.risk_level,
        threshold_overrides={plan.risk_level: dict(plan.overrides)},
        source=item.pin.uri,
    )
    comparison.model = {"package_arn": champion.package_arn, "version": champion.version}
    comparison.dataset = {**item.provenance(), "rows": comparison.rows}
    return comparison


def _local_names(exc: Exception, fetched: Mapping[str, FetchedObject]) -> Exception | None:
    """The error naming the snapshot's URIs instead of this worker's temporary copies (None: it names
    none of them)."""
    message = str(exc)
    for item in fetched.values():
        message = message.replace(str(item.path), item.pin.uri)
    if message == str(exc):
        return None
    return type(exc)(message) if _simple(exc) else RiskTestInputError(message)


def run_in_worker(
    s3_client: Any,
    conn_id: str | None,
    plan: RiskTestPlan,
    snapshot: Snapshot,
    *,
    workers: int | None,
    champion: ChampionScores | None = None,
) -> RiskTestReport:
    """Fetch the pinned inputs through the connection's S3 client and run the engine on the local copies;
    with ``champion``, the champion's side of the comparison first (``ChampionScoresError``: nothing ran)."""
    from model_governance.risk_tests import run_risk_tests

    with tempfile.TemporaryDirectory(prefix="risk-tests-") as folder:
        fetched = _fetch(s3_client, conn_id, plan, folder, ROLES)
        try:
            schema = _schema(fetched, plan)
            # The champion's column is checked before the challenger's tests run (a quick refusal).
            comparison = _compare(fetched, plan, schema, champion) if champion is not None else None
            report = run_risk_tests(
                fetched[BASELINE_DATA].path,
                fetched[COMPARATOR_DATA].path,
                schema,
                risk_level=plan.risk_level,
                threshold_overrides={plan.risk_level: dict(plan.overrides)},
                workers=workers,
            )
        except Exception as exc:
            renamed = _local_names(exc, fetched)
            if renamed is not None:
                raise renamed from exc
            raise
    provenance = {role: fetched[role].provenance() for role in ASSET_KEYS}
    for role, name in REPORT_INPUTS:
        report.inputs[name] = {**report.inputs.get(name, {}), **provenance[role]}
    report.inputs["risk_test_schema"] = provenance[RISK_TEST_SCHEMA]
    report.inputs["snapshot"] = snapshot_reference(snapshot)
    report.champion = comparison
    return report


def champion_in_worker(
    s3_client: Any, conn_id: str | None, plan: RiskTestPlan, champion: ChampionScores
) -> ChampionComparison:
    """The champion's side of the comparison when the challenger's tests ran as a Processing job: the
    pinned comparator and schema read again here (verified like the job's inputs)."""
    with tempfile.TemporaryDirectory(prefix="risk-tests-champion-") as folder:
        fetched = _fetch(s3_client, conn_id, plan, folder, (COMPARATOR_DATA, RISK_TEST_SCHEMA))
        try:
            return _compare(fetched, plan, _schema(fetched, plan), champion)
        except Exception as exc:
            renamed = _local_names(exc, fetched)
            if renamed is not None:
                raise renamed from exc
            raise


def check_pins(s3_client: Any, conn_id: str | None, plan: RiskTestPlan) -> None:
    """Before a job is submitted: refuse data whose pinned version is gone or whose bytes changed.

    The job's container reads the pinned versions itself and verifies every SHA-256 (so a change after
    this check is still refused); this check names the change here, as a refusal, instead of as a failed
    job. An unversioned object with a new ETag but the same size is hashed to decide."""
    for role in ROLES:
        pin = plan.pins[role]
        if check_pinned(s3_client, pin, conn_id=conn_id):
            continue
        sha = object_sha256(s3_client, pin.bucket, pin.key, version_id=pin.version_id, etag=None, what=role)
        if sha != pin.sha256:
            raise pinned_changed(pin, f"SHA-256 {sha}")


def job_request(
    name: str,
    plan: RiskTestPlan,
    settings: RiskTestsConfig,
    evidence: EvidenceStore,
    *,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The Processing job of one attempt; threshold overrides go to the governance bucket by hash first."""
    assert settings.image_uri is not None and settings.role_arn is not None  # checked with the settings
    thresholds = None
    if plan.overrides:
        body = canonical_json({plan.risk_level: dict(plan.overrides)})
        stored = evidence.put(thresholds_key(body), body, what="the threshold overrides")
        thresholds = S3Location(stored.bucket, stored.key)
    return risk_test_job_request(
        job_name=name,
        settings=ProcessingSettings(
            **{field: getattr(settings, field) for field in _PROCESSING_SETTINGS},
            entrypoint=tuple(settings.entrypoint),
        ),
        **{field: getattr(plan, field) for field in ("baseline", "comparator", "schema", "risk_level")},
        output_bucket=evidence.bucket,
        thresholds=thresholds,
        tags=dict(tags),
        pins={
            "baseline": plan.pins[BASELINE_DATA],
            "comparator": plan.pins[COMPARATOR_DATA],
            "schema": plan.pins[RISK_TEST_SCHEMA],
        },
    )


def job_pin(described: Mapping[str, Any], name: str, role: str) -> DataPin | None:
    """The pin a Processing job was given for its input ``name`` (``baseline``, ``comparator``,
    ``schema``), read back from its container arguments (``job_request`` wrote them), as ``role``; None when
    that input was not pinned. What the job tests is what it was given, whatever S3 holds now."""
    args = list((described.get("AppSpecification") or {}).get("ContainerArguments") or [])
    given = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
    uri, sha = given.get(f"--{name}"), given.get(f"--{name}-sha256")
    if uri is None or sha is None:
        return None
    return DataPin(role, uri, sha, given.get(f"--{name}-version-id"))


def container_refusal(reason: str) -> PinnedDataChangedError | None:
    """The refusal a job's container printed when its pinned data had changed (its FailureReason ends with
    the container's last error line), or None for any other failure."""
    marker = f"{PinnedDataChangedError.__name__}:"
    if marker not in reason:
        return None
    return PinnedDataChangedError(reason.split(marker, 1)[1].rsplit(", exit code:", 1)[0].strip())


def read_job_report(evidence: EvidenceStore, location: S3Location) -> RiskTestReport:
    """The report a Processing job wrote to the governance bucket."""
    from model_governance.risk_tests import RiskTestReport

    body = evidence.read(location.key, what="the job's report")
    try:
        return RiskTestReport.from_dict(json.loads(body))
    except (ValueError, TypeError, KeyError) as exc:
        raise RiskTestInputError(f"{location.uri} is not a risk test report ({exc})") from exc


def add_job_provenance(
    report: RiskTestReport,
    plan: RiskTestPlan,
    snapshot: Snapshot,
    described: Mapping[str, Any],
    location: S3Location,
) -> RiskTestReport:
    """The job's report with its inputs checked against the pins (``RiskTestInputError`` when it does not
    show it tested them), the snapshot and the job named."""
    for role, item in REPORT_INPUTS:
        found = report.inputs.get(item, {})
        report.inputs[item] = {**found, **_job_provenance(role, plan, found)}
    report.inputs["risk_test_schema"] = _job_provenance(
        RISK_TEST_SCHEMA, plan, report.inputs.get("risk_test_schema")
    )
    report.inputs["snapshot"] = snapshot_reference(snapshot)
    report.inputs["processing_job"] = {
        "name": str(described.get("ProcessingJobName")),
        "arn": described.get("ProcessingJobArn"),
        "image": (described.get("AppSpecification") or {}).get("ImageUri"),
        "report": location.uri,
    }
    return report


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


def _simple(exc: BaseException) -> bool:
    """True when ``type(exc)(message)`` rebuilds the exception (our single-message error classes)."""
    return isinstance(exc, ModelGovernanceError) and not isinstance(exc, ApprovalRejectedError)
