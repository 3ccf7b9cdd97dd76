"""DAG file parse cost: each file of ``dags/`` against a trivial DAG file, measured in the same run.

    python benchmarks/parse.py [--repeats 7] [--dags dags/]

Each measurement is a fresh Python process (as the DAG processor parses a file in a fresh child): it
imports Airflow and its ``DagBag`` first (the cost every file shares, not timed), then times
``DagBag(dag_folder=<file>)``: importing the file and whatever it imports, and building its DAGs. The trivial
file is one DAG with one ``EmptyOperator``. Each file runs ``--repeats`` times, interleaved with the
trivial file so machine noise hits both alike; the median is reported, with the cost over trivial (ms)
and the ratio. The issue's measure is the worst file's ms over trivial (aim: <= 150 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TRIVIAL = """\
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("trivial", schedule=None):
    EmptyOperator(task_id="nothing")
"""
CHILD = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
path = sys.argv[1]
started = time.perf_counter()
bag = DagBag(dag_folder=path, safe_mode=False)
seconds = time.perf_counter() - started
errors = {k: v[:300] for k, v in bag.import_errors.items()}
print(json.dumps({"seconds": seconds, "dags": sorted(bag.dag_ids), "errors": errors}))
"""


def parse_once(path: Path, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"parsing {path} failed:\n{done.stderr[-3000:]}")
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    if result["errors"] or not result["dags"]:
        raise RuntimeError(f"{path} did not parse cleanly: {result}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dags", type=Path, default=REPO_ROOT / "dags")
    args = parser.parse_args()
    files = sorted(p for p in args.dags.glob("*.py") if not p.name.startswith("_"))
    with tempfile.TemporaryDirectory(prefix="parse-bench-") as tmp:
        home = Path(tmp) / "airflow"
        home.mkdir()
        trivial = Path(tmp) / "trivial_dag.py"
        trivial.write_text(TRIVIAL)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT / "plugins"), os.environ.get("PYTHONPATH")])
            ),
        }
        parse_once(trivial, env)  # warm the page cache and byte-code for both sides
        times: dict[Path, list[float]] = {path: [] for path in [trivial, *files]}
        for path in files:
            parse_once(path, env)
        for _ in range(args.repeats):
            for path in files:
                times[trivial].append(float(parse_once(trivial, env)["seconds"]))  # type: ignore[arg-type]
                times[path].append(float(parse_once(path, env)["seconds"]))  # type: ignore[arg-type]
    base = statistics.median(times[trivial])
    print(
        f"DAG file parse cost, median of {args.repeats} fresh processes each (trivial: one EmptyOperator DAG)"
    )
    print(f"{'file':<40} {'median ms':>10} {'over trivial ms':>16} {'ratio':>7}")
    print(f"{'(trivial DAG)':<40} {base * 1000:>10.1f} {0.0:>16.1f} {1.0:>7.2f}")
    worst = 0.0
    for path in files:
        median = statistics.median(times[path])
        worst = max(worst, median - base)
        print(f"{path.name:<40} {median * 1000:>10.1f} {(median - base) * 1000:>16.1f} {median / base:>7.2f}")
    print(f"\nworst file over trivial: {worst * 1000:.0f} ms (aim: <= 150 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
