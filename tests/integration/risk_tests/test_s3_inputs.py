"""The risk tests read ``s3://`` inputs and write an ``s3://`` report through the AWS sandbox.

The engine and the CLI only see ``AWS_ENDPOINT_URL`` (boto3 honours it natively), as a SageMaker
Processing job or a worker configured for the sandbox would.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from model_governance.exceptions import RiskTestInputError
from model_governance.risk_tests import RiskTestReport, run_risk_tests
from sandbox.aws.pytest_fixtures import AwsSandbox
from tests.unit.risk_tests.conftest import classification_schema, classification_table

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]


def _env(sandbox: AwsSandbox) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": sandbox.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": sandbox.region,
    }


@pytest.fixture
def bucket(aws_sandbox: AwsSandbox) -> str:
    name = f"risk-tests-{uuid.uuid4().hex[:10]}"
    aws_sandbox.client("s3").create_bucket(Bucket=name)
    return name


def _put_parquet(sandbox: AwsSandbox, bucket: str, key: str, table: pa.Table) -> str:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
    return f"s3://{bucket}/{key}"


def _put_csv(sandbox: AwsSandbox, bucket: str, key: str, table: pa.Table) -> str:
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink)
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
    return f"s3://{bucket}/{key}"


def test_s3_inputs_give_the_same_report_as_local_tables(
    aws_sandbox: AwsSandbox, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = classification_table(4_000, seed=41)
    comp = classification_table(3_000, seed=42, shift=0.1)
    for key, value in _env(aws_sandbox).items():
        monkeypatch.setenv(key, value)
    base_uri = _put_parquet(aws_sandbox, bucket, "data/baseline.parquet", base)
    comp_uri = _put_csv(aws_sandbox, bucket, "data/comparator.csv", comp)
    from_s3 = run_risk_tests(base_uri, comp_uri, classification_schema())
    local = run_risk_tests(base, comp, classification_schema())
    assert from_s3.inputs["baseline"] == {"source": base_uri, "rows": 4_000}
    assert len(from_s3.results) == len(local.results)
    for x, y in zip(from_s3.results, local.results, strict=True):
        assert (x.test, x.feature, x.group, x.status) == (y.test, y.feature, y.group, y.status)
        if x.value is not None:
            assert y.value is not None and np.isclose(x.value, y.value, rtol=1e-9, atol=1e-12)


def test_missing_s3_object_is_a_clear_input_error(
    aws_sandbox: AwsSandbox, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _env(aws_sandbox).items():
        monkeypatch.setenv(key, value)
    comp = classification_table(500, seed=43)
    with pytest.raises(
        RiskTestInputError, match=rf"baseline table 's3://{bucket}/absent.parquet' does not exist"
    ):
        run_risk_tests(f"s3://{bucket}/absent.parquet", comp, classification_schema())


def test_cli_reads_and_writes_s3(aws_sandbox: AwsSandbox, bucket: str, tmp_path: Path) -> None:
    base_uri = _put_parquet(aws_sandbox, bucket, "in/base.parquet", classification_table(3_000, seed=44))
    comp_uri = _put_parquet(
        aws_sandbox, bucket, "in/comp.parquet", classification_table(3_000, seed=45, shift=0.3)
    )
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(classification_schema()), encoding="utf-8")
    out_uri = f"s3://{bucket}/out/report.json"
    command = [sys.executable, "-m", "model_governance.risk_tests", "--baseline", base_uri,
               "--comparator", comp_uri, "--schema", str(schema), "--out", out_uri]  # fmt: skip
    env = {**os.environ, **_env(aws_sandbox)}
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=180, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"report written to {out_uri}" in done.stdout
    body = aws_sandbox.client("s3").get_object(Bucket=bucket, Key="out/report.json")["Body"].read()
    report = RiskTestReport.from_json(body.decode("utf-8"))
    assert report.passed is False and report.inputs["comparator"]["source"] == comp_uri

    missing = [*command[:6], f"s3://{bucket}/in/none.parquet", *command[7:]]
    done = subprocess.run(
        missing, capture_output=True, text=True, env=env, timeout=180, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == 2 and "none.parquet" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_reads_pinned_versions_and_refuses_changed_data(
    aws_sandbox: AwsSandbox, bucket: str, tmp_path: Path
) -> None:
    """How the Processing job runs the CLI: each input by URI, VersionId and SHA-256."""
    s3 = aws_sandbox.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    pinned: dict[str, tuple[str, str]] = {}
    for name, body in (
        ("base", _parquet(classification_table(2_000, seed=46))),
        ("comp", _parquet(classification_table(2_000, seed=47))),
        ("schema", json.dumps(classification_schema()).encode()),
    ):
        version = s3.put_object(Bucket=bucket, Key=f"pinned/{name}", Body=body)["VersionId"]
        pinned[name] = (version, hashlib.sha256(body).hexdigest())
    # Overwritten after the pin: the latest versions are drifted, the pinned ones are not.
    drifted = _parquet(classification_table(2_000, seed=48, shift=1.5))
    s3.put_object(Bucket=bucket, Key="pinned/comp", Body=drifted)
    out_uri = f"s3://{bucket}/out/pinned-report.json"
    command = [sys.executable, "-m", "model_governance.risk_tests", "--out", out_uri]
    for flag, name in (("--baseline", "base"), ("--comparator", "comp"), ("--schema", "schema")):
        version, sha = pinned[name]
        command += [
            flag,
            f"s3://{bucket}/pinned/{name}",
            f"{flag}-version-id",
            version,
            f"{flag}-sha256",
            sha,
        ]
    env = {**os.environ, **_env(aws_sandbox)}
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=180, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    body = s3.get_object(Bucket=bucket, Key="out/pinned-report.json")["Body"].read()
    report = RiskTestReport.from_json(body.decode("utf-8"))
    assert report.inputs["comparator"]["version_id"] == pinned["comp"][0]
    assert report.inputs["comparator"]["sha256"] == pinned["comp"][1]
    assert report.inputs["comparator"]["source"] == f"s3://{bucket}/pinned/comp"
    assert report.inputs["risk_test_schema"]["version_id"] == pinned["schema"][0]
    assert "data_drift.ks_pvalue" not in {r.test for r in report.failed()}, "the pinned, undrifted data"

    # Without the version the CLI reads the latest bytes, whose digest is not the pinned one.
    at = command.index("--comparator-version-id")
    unversioned = command[:at] + command[at + 2 :]
    done = subprocess.run(
        unversioned, capture_output=True, text=True, env=env, timeout=180, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == 4, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"risk tests: PinnedDataChangedError: COMPARATOR_DATA s3://{bucket}/pinned/comp")
    assert f"expected SHA-256 {pinned['comp'][1]}" in line and hashlib.sha256(drifted).hexdigest() in line
    assert "Traceback" not in done.stderr


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
