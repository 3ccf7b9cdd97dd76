"""The risk test step of a model change's challenger (services/risk_tests.py over risk_test_runs.py, worker
runner, pinned data from a fake S3): the champion's results on the same comparator data go into the
challenger's report (stored once under its hash); a comparator without the champion's scores fails the step
with the clear error, records the attempt FAILED and stores nothing else; a version with no champion is
tested exactly as before."""

from __future__ import annotations

import hashlib
import io
import json
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model_governance.pinned_data import DataPin
from model_governance.risk_tests import resolve_thresholds
from model_governance.risk_tests.champion import ChampionScoresError
from model_governance.services.risk_tests import (
    CHAMPION_REFUSED,
    Finished,
    Refused,
    RiskTestsService,
)
from model_governance.snapshots import (
    BASELINE_DATA,
    COMPARATOR_DATA,
    RISK_TEST_SCHEMA,
    RiskTestPlan,
    S3Location,
)
from tests.unit.risk_tests.conftest import classification_schema, classification_table

BUCKET = "ml-data"
CHAMPION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


class Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def iter_chunks(self, size: int) -> Any:
        for start in range(0, len(self.data), size):
            yield self.data[start : start + size]


class FakeS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        data = self.objects[Key]
        return {"Body": Body(data), "ETag": '"e"', "ContentLength": len(data), "VersionId": "v1"}


class FakeInventory:
    def __init__(self, champion: Any) -> None:
        self.champion = champion
        self.runs: dict[str, dict[str, Any]] = {}

    def champion_of(self, model: Any) -> Any:
        return self.champion

    def risk_test_runs(self, model: Any, *, run_key_prefix: str) -> list[Any]:
        return [
            SimpleNamespace(run_key=key, **run)
            for key, run in self.runs.items()
            if key.startswith(run_key_prefix)
        ]

    def start_risk_test_run(self, model: Any, *, run_key: str, snapshot_id: int) -> None:
        self.runs[run_key] = {"state": "RUNNING", "error": None, "passed": None, "report": None}

    def finish_risk_test_run(self, key: str, **outcome: Any) -> None:
        state = "FAILED" if outcome.get("error") else "SUCCEEDED"
        self.runs[key] = {"report": None, "report_uri": None, **outcome, "state": state}


class FakeEvidence:
    bucket = "governance"

    def __init__(self) -> None:
        self.puts: list[str] = []

    def put(self, key: str, body: bytes, *, what: str) -> Any:
        self.puts.append(key)
        return SimpleNamespace(uri=f"s3://{self.bucket}/{key}")


def _service(comparator: pa.Table, champion: Any, metadata: dict[str, str] | None = None) -> Any:
    objects = {
        "baseline.parquet": _parquet(classification_table(600, seed=1)),
        "comparator.parquet": _parquet(comparator),
        "schema.json": json.dumps(classification_schema()).encode(),
    }
    pins = {
        role: DataPin(role=role, uri=f"s3://{BUCKET}/{key}", sha256=hashlib.sha256(objects[key]).hexdigest())
        for role, key in (
            (BASELINE_DATA, "baseline.parquet"),
            (COMPARATOR_DATA, "comparator.parquet"),
            (RISK_TEST_SCHEMA, "schema.json"),
        )
    }
    plan = RiskTestPlan(
        baseline=S3Location(BUCKET, "baseline.parquet"),
        comparator=S3Location(BUCKET, "comparator.parquet"),
        schema=S3Location(BUCKET, "schema.json"),
        digests={},
        pins=pins,
        suite_version="1.0.0",
        risk_level="High",
        overrides={},
        thresholds=resolve_thresholds("High").to_dict(),
        group="churn",
        version=2,
    )
    snapshot = SimpleNamespace(
        id=7,
        uri="s3://governance/snapshots/churn/2/" + "a" * 64 + ".json",
        content_hash="a" * 64,
        manifest={"model_package": {"customer_metadata": metadata or {}}},
    )
    notes: list[tuple[str, str]] = []
    service = RiskTestsService(
        config=SimpleNamespace(risk_tests=SimpleNamespace(runner="worker")),  # type: ignore[arg-type]
        inventory=FakeInventory(champion),  # type: ignore[arg-type]
        model=SimpleNamespace(id=2, package_arn=CHAMPION_ARN[:-1] + "2"),  # type: ignore[arg-type]
        snapshot_id=7,
        ti=SimpleNamespace(dag_id="mlc", run_id="run-1", task_id="run_risk_tests", xcom_push=None),
        entity=SimpleNamespace(s3_client=FakeS3(objects), aws_conn_id=None),  # type: ignore[arg-type]
        evidence=FakeEvidence(),  # type: ignore[arg-type]
        approvals=None,  # type: ignore[arg-type]
        jira=None,  # type: ignore[arg-type]
        set_status=lambda status, reason: None,
        notify=lambda subject, body: notes.append((subject, body)),
        log=SimpleNamespace(info=lambda *a: None, error=lambda *a: None, warning=lambda *a: None),
        workers=1,
    )
    service._prepare = lambda: (snapshot, plan)  # type: ignore[method-assign]
    service.notes = notes  # type: ignore[attr-defined]
    return service


CHAMPION = SimpleNamespace(package_arn=CHAMPION_ARN, version=1)


def _comparator(column: str | None = "champion_score") -> pa.Table:
    table = classification_table(800, seed=2)
    if column is None:
        return table
    return table.append_column(
        column, pa.array([min(1.0, s * 0.9 + 0.05) for s in table.column("score").to_pylist()])
    )


def test_the_challengers_report_carries_the_champion_on_the_same_data() -> None:
    service = _service(_comparator(), CHAMPION)
    step = service.start()
    assert isinstance(step, Finished)
    (run,) = service.inventory.runs.values()
    champion = run["report"]["champion"]
    assert champion["model"] == {"package_arn": CHAMPION_ARN, "version": 1}
    assert champion["score_column"] == "champion_score" and champion["rows"] == 800
    comparator = run["report"]["inputs"]["comparator"]
    assert (
        champion["dataset"]["sha256"]
        == comparator["sha256"]
        == service._prepare()[1].pins[COMPARATOR_DATA].sha256
    )
    assert champion["dataset"]["source"] == comparator["source"] == f"s3://{BUCKET}/comparator.parquet"
    assert {r["test"] for r in champion["results"]} >= {"performance.auc", "bias.ppr_disparity"}
    assert len(service.evidence.puts) == 1
    # a retried task returns the recorded result: nothing stored twice
    assert isinstance(service.start(), Finished) and len(service.evidence.puts) == 1


def test_the_column_named_by_the_challengers_metadata() -> None:
    service = _service(_comparator("prev_score"), CHAMPION, {"CHAMPION_SCORE_COLUMN": "prev_score"})
    assert isinstance(service.start(), Finished)
    (run,) = service.inventory.runs.values()
    assert run["report"]["champion"]["score_column"] == "prev_score"


def test_missing_champion_scores_fail_the_step_and_record_nothing_else() -> None:
    service = _service(_comparator(None), CHAMPION)
    step = service.start()
    assert isinstance(step, Refused)
    assert f"s3://{BUCKET}/comparator.parquet" in step.message and "'champion_score'" in step.message
    assert "CHAMPION_SCORE_COLUMN" in step.message and CHAMPION_ARN in step.message
    (run,) = service.inventory.runs.values()
    assert run["state"] == "FAILED" and run["error"].startswith(f"{CHAMPION_REFUSED}: ")
    assert run.get("report") is None and service.evidence.puts == []
    assert service.notes and "champion" in service.notes[0][0]
    # a cleared task checks again (the same attempt), and is refused again on the same pinned data
    assert isinstance(service.start(), Refused) and len(service.inventory.runs) == 1


def test_no_champion_no_comparison() -> None:
    service = _service(_comparator(None), None)
    step = service.start()
    assert isinstance(step, Finished)
    (run,) = service.inventory.runs.values()
    assert "champion" not in run["report"], "a version with no champion is tested as before"


@pytest.mark.parametrize("column", ["score", "label"])
def test_the_challengers_own_columns_are_refused(column: str) -> None:
    service = _service(_comparator(None), CHAMPION, {"CHAMPION_SCORE_COLUMN": column})
    step = service.start()
    assert isinstance(step, Refused) and "own" in step.message


def test_after_a_processing_job_the_champion_is_compared_on_the_pinned_comparator() -> None:
    """The Processing job runner's path: the pinned comparator and schema read again in the worker."""
    from model_governance.services import risk_test_runs as runs

    service = _service(_comparator(), CHAMPION)
    _, plan = service._prepare()
    spec = runs.ChampionScores(package_arn=CHAMPION_ARN, version=1, column="champion_score")
    comparison = runs.champion_in_worker(service.entity.s3_client, None, plan, spec)
    assert comparison.dataset["sha256"] == plan.pins[COMPARATOR_DATA].sha256
    assert comparison.dataset["source"] == plan.pins[COMPARATOR_DATA].uri and comparison.rows == 800
    missing = _service(_comparator(None), CHAMPION)
    with pytest.raises(ChampionScoresError, match=r"s3://ml-data/comparator\.parquet.*has no such column"):
        runs.champion_in_worker(missing.entity.s3_client, None, missing._prepare()[1], spec)
