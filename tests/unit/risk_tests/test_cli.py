"""The command line / SageMaker Processing entry point on local files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from model_governance.risk_tests import RiskTestReport
from model_governance.risk_tests.__main__ import main

from .conftest import classification_schema, classification_table

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def inputs(
    write_parquet: Callable[[pa.Table, str], Path], write_json: Callable[[Any, str], Path]
) -> dict[str, Path]:
    return {
        "baseline": write_parquet(classification_table(2_000, seed=31), "base.parquet"),
        "comparator": write_parquet(classification_table(2_000, seed=32, shift=0.2), "comp.parquet"),
        "schema": write_json(classification_schema(), "schema.json"),
    }


def _args(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "--baseline", str(inputs["baseline"]),
        "--comparator", str(inputs["comparator"]),
        "--schema", str(inputs["schema"]),
        "--out", str(out),
        *extra,
    ]  # fmt: skip


def test_cli_writes_the_report_and_exits_0_even_when_tests_fail(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "report.json"
    assert main(_args(inputs, out)) == 0
    report = RiskTestReport.from_json(out.read_text(encoding="utf-8"))
    assert report.passed is False and report.risk_level == "High"
    printed = capsys.readouterr().out
    assert printed.startswith("risk tests FAILED:") and "failed data_drift.ks_pvalue [" in printed


def test_cli_applies_threshold_overrides_for_the_risk_level(
    inputs: dict[str, Path], tmp_path: Path, write_json: Callable[[Any, str], Path]
) -> None:
    overrides = write_json({"Low": {"performance.auc": 0.55}, "High": {"performance.auc": 0.99}}, "t.json")
    out = tmp_path / "r.json"
    assert main(_args(inputs, out, "--thresholds", str(overrides), "--risk-level", "Low")) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["risk_level"] == "Low"
    assert data["thresholds"]["bounds"]["performance.auc"]["text"] == ">= 0.55"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"baseline": "missing.parquet"}, "baseline table .*missing.parquet.* does not exist"),
        ({"schema": "missing.json"}, "schema file .*missing.json.* does not exist"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    message: str,
) -> None:
    changed = {**inputs, **{k: tmp_path / v for k, v in change.items()}}
    out = tmp_path / "r.json"
    assert main(_args(changed, out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("risk tests: bad input: ")
    import re

    assert re.search(message, err) and "Traceback" not in err
    assert not out.exists()


def test_cli_bad_thresholds_file_exits_2(
    inputs: dict[str, Path],
    tmp_path: Path,
    write_json: Callable[[Any, str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = write_json({"High": {"performance.auc": [0.9, 0.1]}}, "bad.json")
    assert main(_args(inputs, tmp_path / "r.json", "--thresholds", str(bad))) == 2
    assert "['High']['performance.auc']" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert main(_args(inputs, tmp_path / "r.json", "--thresholds", str(broken))) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_python_dash_m_runs_without_pandas_or_airflow(inputs: dict[str, Path], tmp_path: Path) -> None:
    """The engine is a domain module: it must run where neither pandas nor Airflow can be imported."""
    out = tmp_path / "r.json"
    guard = (
        "import importlib.abc, runpy, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.partition('.')[0] in ('pandas', 'airflow'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r} (blocked by the test)')\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.argv = ['risk_tests', *sys.argv[1:]]\n"
        "runpy.run_module('model_governance.risk_tests', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", guard, *_args(inputs, out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "risk tests FAILED" in done.stdout
    assert json.loads(out.read_text(encoding="utf-8"))["schema_version"] == "1.0"


def test_python_dash_m_bad_input_exit_code(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "model_governance.risk_tests", "--baseline", "a", "--comparator", "b",
         "--schema", str(tmp_path / "none.json"), "--out", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "none.json" in done.stderr


def test_cli_refuses_a_bad_workers_count(inputs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(_args(inputs, tmp_path / "r.json", "--workers", "0"))
    assert exit_info.value.code == 2
