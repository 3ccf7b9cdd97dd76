"""The sample document command (``make sample-doc``): generated data through the risk test engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from model_governance.documents import verify_footer_hash
from model_governance.documents.sample import generate_report, main, sample_context
from model_governance.risk_tests import RiskTestReport
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def sample_report() -> RiskTestReport:
    return generate_report()


def test_generated_data_gives_a_realistic_report(sample_report: RiskTestReport) -> None:
    failed = {(r.test, r.feature, r.group) for r in sample_report.results if r.status == "failed"}
    # The generator drifts income and utilisation and lowers the south region's scores.
    assert ("data_drift.ks_pvalue", "income", None) in failed
    assert ("bias.ppr_disparity", "region", "south") in failed
    assert ("bias.ppr_disparity", "region", "east") not in failed
    assert not any(r.feature == "age" and r.status == "failed" for r in sample_report.results)
    assert sample_report.passed is False
    assert len(sample_report.distributions) == 7 and sample_report.score_distribution is not None


def test_the_generated_report_is_deterministic(sample_report: RiskTestReport) -> None:
    assert generate_report().to_json() == sample_report.to_json()


def test_sample_command_writes_the_three_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "model-review-retail-credit-default-v7.html",
        "model-review-retail-credit-default-v7.md",
        "model-review-retail-credit-default-v7.pdf",
        "risk-test-report.json",
    ]
    assert verify_footer_hash((tmp_path / names[0]).read_bytes())
    assert verify_footer_hash((tmp_path / names[1]).read_bytes())
    assert (tmp_path / names[2]).read_bytes().startswith(b"%PDF-")
    report = json.loads((tmp_path / names[3]).read_text())
    assert report["inputs"]["baseline"]["source"].startswith("s3://")
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_sample_context_uses_the_report(sample_report: RiskTestReport) -> None:
    ctx = sample_context(sample_report)
    assert ctx.risk_report is sample_report
    assert ctx.snapshot.suite_version == sample_report.engine_version


def test_runs_as_a_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "model_governance.documents.sample",
            "--out",
            str(tmp_path),
            "--formats",
            "markdown",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "model-review-retail-credit-default-v7.md").is_file()
