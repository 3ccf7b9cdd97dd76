"""DAG file parse cost: each file of ``dags/`` against a trivial DAG file, measured in the same run.

    python benchmarks/parse.py [--repeats 7] [--dags dags/] [--no-gc-freeze] [--no-bytecode-cache]

Each measurement is a fresh Python process (as the DAG processor parses a file in a fresh child): it
imports Airflow and its ``DagBag`` first (the cost every file shares, not timed), then, as the DAG
processor's manager does before it forks its parse processes (``DagFileProcessorManager.before_run``), calls
``gc.freeze()``, then times ``DagBag(dag_folder=<file>)``: importing the file and whatever it imports, and
building its DAGs. Without the freeze, any file that allocates a few thousand objects pays one full
collection over Airflow's own ~200,000 objects (100-600 ms on a loaded 2-core machine) that a real parse
process never pays; ``--no-gc-freeze`` measures that way anyway. Byte-code is cached (in the run's temporary
folder, even where PYTHONDONTWRITEBYTECODE is set) and warmed by a first parse of every file, as a deployment
has the .pyc files of its packages; ``--no-bytecode-cache`` compiles the package's sources at every parse.
The trivial file is one DAG with one ``EmptyOperator``. Each file runs ``--repeats`` times, interleaved with
the trivial file so machine noise hits both alike; the median is reported, with the cost over trivial (ms)
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
import gc, json, sys, time
from airflow.dag_processing.dagbag import DagBag
if sys.argv[2] == "freeze":
    gc.freeze()  # as the DAG processor's manager does before forking its parse processes
path = sys.argv[1]
started = time.perf_counter()
bag = DagBag(dag_folder=path, safe_mode=False)
seconds = time.perf_counter() - started
errors = {k: v[:300] for k, v in bag.import_errors.items()}
print(json.dumps({"seconds": seconds, "dags": sorted(bag.dag_ids), "errors": errors}))
"""


def parse_once(path: Path, env: dict[str, str], *, freeze: bool = True) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), "freeze" if freeze else "no-freeze"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
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
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="no gc.freeze() after importing Airflow (unlike the DAG processor): every file that allocates "
        "a few thousand objects then pays a full collection over Airflow's objects",
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="PYTHONDONTWRITEBYTECODE=1: sources without a .pyc (the package's) are compiled at every parse",
    )
    args = parser.parse_args()
    files = sorted(p for p in args.dags.glob("*.py") if not p.name.startswith("_"))
    with tempfile.TemporaryDirectory(prefix="parse-bench-") as tmp:
        home = Path(tmp) / "airflow"
        home.mkdir()
        trivial = Path(tmp) / "trivial_dag.py"
        trivial.write_text(TRIVIAL)
        env = {
            # Byte-code is written (to a cache of this run, not next to the sources) and read back, as a
            # deployment reads the .pyc files of its installed packages: with PYTHONDONTWRITEBYTECODE set
            # (these machines set it) every parse would compile the package's sources again.
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT / "plugins"), os.environ.get("PYTHONPATH")])
            ),
        }
        freeze = not args.no_gc_freeze
        if args.no_bytecode_cache:
            env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
            del env["PYTHONPYCACHEPREFIX"]
        parse_once(trivial, env, freeze=freeze)  # warm the page cache and byte-code for both sides
        times: dict[Path, list[float]] = {path: [] for path in [trivial, *files]}
        for path in files:
            parse_once(path, env, freeze=freeze)
        for _ in range(args.repeats):
            for path in files:
                times[trivial].append(float(parse_once(trivial, env, freeze=freeze)["seconds"]))  # type: ignore[arg-type]
                times[path].append(float(parse_once(path, env, freeze=freeze)["seconds"]))  # type: ignore[arg-type]
    base = statistics.median(times[trivial])
    print(
        f"DAG file parse cost, median of {args.repeats} fresh processes each (trivial: one EmptyOperator "
        f"DAG; {'gc.freeze() after importing Airflow, as the DAG processor' if freeze else 'no gc.freeze()'}"
        f"; {'no byte-code cache' if args.no_bytecode_cache else 'byte-code cached'})"
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
