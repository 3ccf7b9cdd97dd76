"""DAG files stay cheap to parse: parsing one imports no heavy client or data library (issue 18).

Each DAG file of ``dags/`` is parsed by Airflow's ``DagBag`` in a fresh process (as the DAG processor
parses a file); the modules it imported beyond what Airflow and ``DagBag`` had imported already must not
include the AWS SDK, the Jira client, the data stack or the HTTP clients: those belong in hooks'
``get_conn()`` and operators' ``execute``. A behavioural check on ``sys.modules``, not a timing one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, airflow_env

#: Top-level packages no DAG file may pull in at parse time.
HEAVY = (
    "boto3",
    "botocore",
    "aiobotocore",
    "s3transfer",
    "jira",
    "requests",
    "pyarrow",
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "weasyprint",
    "markdown",
)

PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
before = set(sys.modules)
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
added = sorted({name.split(".")[0] for name in set(sys.modules) - before})
print(json.dumps({"errors": bag.import_errors, "dags": sorted(bag.dag_ids), "added": added}))
"""

DAG_FILES = sorted(p for p in (REPO_ROOT / "dags").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[p.stem for p in DAG_FILES])
def test_parsing_a_dag_file_imports_no_heavy_library(dag_file: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in airflow_env(tmp_path).items() if not k.startswith("MODEL_GOVERNANCE")}
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}, result["errors"]
    assert result["dags"] == [dag_file.stem]
    imported = sorted(set(result["added"]) & set(HEAVY))
    assert imported == [], f"parsing {dag_file.name} imported {imported}; defer them to execute/get_conn"
