"""Speed of the standard risk tests engine, against Evidently on the same data in the same run.

    python benchmarks/risk_tests.py                  # the issue's rows: Evidently at 500k x 20, fixed cost
    python benchmarks/risk_tests.py --rows 20000 --repeats 1            # quick
    python benchmarks/risk_tests.py --scaling        # the older table: 100k, 1M, 10M rows, peak memory

Default rows (each side a fresh process, timed from the outside: start, imports, reading, tests, report):

1. ``python -m model_governance.risk_tests`` (the CLI, all standard tests, High risk level) on baseline and
   comparator tables of ``--rows`` (500,000) rows x 20 features (15 numeric, 5 categorical) + label, score
   and one protected attribute, against Evidently 0.7.23's ``DataDriftPreset`` alone on the same Parquet
   files (read with ``pandas.read_parquet``; every column is drift-tested: the 20 features, the score, the
   label and the protected attribute). Median of ``--repeats`` runs each, interleaved; the ratio is
   Evidently's median over ours (aim: >= 25x).
2. Fixed cost: the same CLI on 1,000 rows, median of 7 runs (aim: <= 0.4 s), beside the floor of a
   process that only imports NumPy and PyArrow (what any such run must pay).

Synthetic data: the comparator has mild drift in some features and in the score. Evidently 0.7 needs
pandas < 3: ``pip install evidently==0.7.23 pandas==2.3.3`` (the ``bench`` extra). Without it the first row
falls back to a plain per-column SciPy loop (said so in the output). Machines are shared and noisy: the
baseline is measured in the same run, and no test asserts a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC = [f"num_{i:02d}" for i in range(15)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
PROTECTED = ["gender", "age_band"]
SCHEMA = {
    "problem_type": "classification",
    "label": "label",
    "score": "score",
    "positive_class": 1,
    "features": {"numeric": NUMERIC, "categorical": CATEGORICAL},
    "protected_attributes": PROTECTED,
    "reference_groups": {"gender": "male"},
}
CHUNK = 1_000_000


def _chunk(n: int, rng: np.random.Generator, drift: bool, *, one_protected: bool = False) -> pa.Table:
    cols: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        shift = 0.05 * (i % 3) if drift else 0.0  # a third of the features drift a little
        if i % 4 == 3:
            cols[name] = np.round(rng.exponential(2.0 + shift, n), 1)  # ties
        else:
            cols[name] = rng.normal(shift, 1.0 + (0.02 if drift and i % 5 == 0 else 0.0), n)
    levels = ["a", "b", "c", "d", "e", "f"]
    for i, name in enumerate(CATEGORICAL):
        p = np.array([0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
        if drift and i % 2 == 0:
            p = np.array([0.27, 0.25, 0.2, 0.12, 0.1, 0.06])
        cols[name] = pa.array(rng.choice(levels, n, p=p)).dictionary_encode()
    gender = rng.choice(["female", "male", "other"], n, p=[0.48, 0.48, 0.04])
    cols["gender"] = pa.array(gender).dictionary_encode()
    age_band = rng.choice(["<30", "30-50", ">50"], n, p=[0.3, 0.45, 0.25])
    if not one_protected:
        cols["age_band"] = pa.array(age_band).dictionary_encode()
    z = cols["num_00"] + 0.5 * cols["num_01"] - 0.3 * cols["num_02"] + 0.2 * (gender == "female")
    z = z + rng.normal(0.1 if drift else 0.0, 1.0, n)
    cols["score"] = 1.0 / (1.0 + np.exp(-z))
    cols["label"] = (rng.random(n) < cols["score"]).astype(np.int64)
    return pa.table(cols)


def write_data(rows: int, folder: Path, seed: int = 0, *, one_protected: bool = False) -> tuple[Path, Path]:
    paths = []
    for role, drift in (("baseline", False), ("comparator", True)):
        path = folder / f"{role}-{rows}{'-p1' if one_protected else ''}.parquet"
        if not path.exists():
            rng = np.random.default_rng(seed + (1 if drift else 0))
            writer: pq.ParquetWriter | None = None
            for start in range(0, rows, CHUNK):
                table = _chunk(min(CHUNK, rows - start), rng, drift, one_protected=one_protected)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table, row_group_size=256_000)
            assert writer is not None
            writer.close()
        paths.append(path)
    return paths[0], paths[1]


# ---- measured in a child process ---------------------------------------------------------------------


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _columns() -> list[str]:
    return ["label", "score", *NUMERIC, *CATEGORICAL, *PROTECTED]


def child_engine(base: str, comp: str) -> dict[str, Any]:
    from model_governance.risk_tests import run_risk_tests

    before = _current_rss_mb()
    start = time.perf_counter()
    report = run_risk_tests(base, comp, SCHEMA, risk_level="High")
    seconds = time.perf_counter() - start
    peak = _rss_mb()
    read_mb = sum(pq.read_table(p, columns=_columns()).nbytes for p in (base, comp)) / 2**20
    return {
        "seconds": seconds,
        "peak_extra_mb": peak - before,
        "columns_read_mb": read_mb,
        "results": len(report.results),
        "passed": report.passed,
    }


def child_evidently(base: str, comp: str) -> dict[str, Any]:
    import warnings

    import pandas as pd
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset

    warnings.filterwarnings("ignore")
    before = _current_rss_mb()
    start = time.perf_counter()
    frames = [pd.read_parquet(p, columns=_columns()) for p in (base, comp)]
    read_seconds = time.perf_counter() - start
    definition = DataDefinition(
        numerical_columns=[*NUMERIC, "score"],
        categorical_columns=[*CATEGORICAL, *PROTECTED],
        classification=[BinaryClassification(target="label", prediction_probas="score", pos_label=1)],
    )
    reference, current = (Dataset.from_pandas(f, data_definition=definition) for f in frames)
    report = Report([DataDriftPreset(), ClassificationPreset()])
    report.run(current_data=current, reference_data=reference)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "read_seconds": read_seconds,
        "peak_extra_mb": _rss_mb() - before,
        "tool": f"evidently {__import__('evidently').__version__} (DataDriftPreset + ClassificationPreset)",
    }


def child_plain(base: str, comp: str) -> dict[str, Any]:
    """Fallback peer: the textbook per-column loop, SciPy's ks_2samp and scikit-learn's metrics."""
    from scipy import stats
    from sklearn import metrics

    before = _current_rss_mb()
    start = time.perf_counter()
    tables = [pq.read_table(p, columns=_columns()) for p in (base, comp)]
    for name in [*NUMERIC, "score"]:
        stats.ks_2samp(tables[0].column(name).to_numpy(), tables[1].column(name).to_numpy())
    for table in tables:
        y, s = table.column("label").to_numpy() == 1, table.column("score").to_numpy()
        metrics.roc_auc_score(y, s)
        metrics.classification_report(y, s >= 0.5, output_dict=True)
    return {
        "seconds": time.perf_counter() - start,
        "peak_extra_mb": _rss_mb() - before,
        "tool": "plain per-column scipy.stats.ks_2samp + sklearn metrics (Evidently not installed)",
    }


ISSUE_SCHEMA = {**SCHEMA, "protected_attributes": ["gender"], "reference_groups": {"gender": "male"}}


def child_evidently_drift(base: str, comp: str) -> dict[str, Any]:
    """Evidently's DataDriftPreset alone, on every column of the issue's tables (a process of its own)."""
    import warnings

    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    warnings.filterwarnings("ignore")
    columns = ["label", "score", *NUMERIC, *CATEGORICAL, "gender"]
    frames = [pd.read_parquet(p, columns=columns) for p in (base, comp)]
    definition = DataDefinition(
        numerical_columns=[*NUMERIC, "score"], categorical_columns=[*CATEGORICAL, "gender", "label"]
    )
    reference, current = (Dataset.from_pandas(f, data_definition=definition) for f in frames)
    Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    return {"tool": f"evidently {__import__('evidently').__version__} DataDriftPreset alone"}


def child_plain_drift(base: str, comp: str) -> dict[str, Any]:
    """Fallback peer without Evidently: SciPy's ks_2samp / chi-square per column."""
    from scipy import stats

    tables = [pq.read_table(p) for p in (base, comp)]
    for name in [*NUMERIC, "score"]:
        stats.ks_2samp(tables[0].column(name).to_numpy(), tables[1].column(name).to_numpy())
    return {"tool": "plain per-column scipy.stats.ks_2samp (Evidently not installed)"}


def _wall(command: list[str]) -> float:
    """Seconds a process takes from start to exit (it must succeed)."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{done.stderr[-3000:]}")
    return seconds


def _cli(base: Path, comp: Path, schema: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "model_governance.risk_tests", "--baseline", str(base), "--comparator",
        str(comp), "--schema", str(schema), "--out", str(out), "--risk-level", "High",
    ]  # fmt: skip


def issue_rows(folder: Path, rows: int, repeats: int) -> None:
    schema = folder / "schema.json"
    schema.write_text(json.dumps(ISSUE_SCHEMA))
    base, comp = write_data(rows, folder, one_protected=True)
    kind = "evidently" if _evidently_available() else "plain"
    peer = [sys.executable, __file__, "--child", f"{kind}-drift", str(base), str(comp)]
    ours = _cli(base, comp, schema, folder / "report.json")
    _wall(ours)  # warm the page cache and byte-code for both
    tool = dict(
        json.loads(subprocess.run(peer, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    )
    peer_times, our_times = [], []
    for _ in range(repeats):
        peer_times.append(_wall(peer))
        our_times.append(_wall(ours))
    peer_median, our_median = statistics.median(peer_times), statistics.median(our_times)
    print(
        f"1. full standard risk tests, {rows:,} rows x 20 features (+ label, score, 1 protected), "
        "CLI as a process"
    )
    print(f"   vs {tool['tool']} on the same Parquet files, median of {repeats} each (processes, wall time)")
    print(f"   ours  {our_median:8.2f} s   runs {', '.join(f'{t:.2f}' for t in our_times)}")
    print(f"   peer  {peer_median:8.2f} s   runs {', '.join(f'{t:.2f}' for t in peer_times)}")
    print(f"   ratio {peer_median / our_median:8.1f}x faster than the peer (aim: >= 25x)")

    small_base, small_comp = write_data(1_000, folder, one_protected=True)
    small = _cli(small_base, small_comp, schema, folder / "report-1000.json")
    floor = [sys.executable, "-c", "import numpy, pyarrow, pyarrow.parquet"]
    _wall(small)
    small_times, floor_times = [], []
    for _ in range(7):
        small_times.append(_wall(small))
        floor_times.append(_wall(floor))
    print("\n2. fixed cost: the same CLI on 1,000 rows, median of 7 processes")
    print(f"   CLI   {statistics.median(small_times):8.3f} s   (aim: <= 0.4 s)")
    print(f"   floor {statistics.median(floor_times):8.3f} s   (a process importing only NumPy and PyArrow)")


def _run_child(kind: str, base: Path, comp: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(base), str(comp)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _evidently_available() -> bool:
    done = subprocess.run(
        [sys.executable, "-c", "import evidently, pandas"], capture_output=True, text=True, check=False
    )
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=None, help="rows per table (default 500,000; scaling: list)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side for the median")
    parser.add_argument("--scaling", action="store_true", help="the older table: rows, seconds, peak memory")
    parser.add_argument("--compare-rows", type=int, default=1_000_000, help="--scaling: rows for the peer")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep generated Parquet here")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "BASE", "COMP"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, base, comp = args.child
        runner = {
            "engine": child_engine,
            "evidently": child_evidently,
            "plain": child_plain,
            "evidently-drift": child_evidently_drift,
            "plain-drift": child_plain_drift,
        }[kind]
        print(json.dumps(runner(base, comp)))
        return 0

    with tempfile.TemporaryDirectory(prefix="risk-bench-") as tmp:
        folder = args.data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not args.scaling:
            issue_rows(folder, args.rows or 500_000, args.repeats)
            return 0
        rows_list = [args.rows] if args.rows else [100_000, 1_000_000, 10_000_000]
        scaling(folder, rows_list, args.compare_rows)
    return 0


def scaling(folder: Path, rows_list: list[int], compare_rows: int) -> None:
    sizes = sorted(set(rows_list) | ({compare_rows} if compare_rows else set()))
    print("standard risk tests benchmark: 15 numeric + 5 categorical features, score, label, 2 protected")
    print(f"{'rows/table':>11} {'seconds':>8} {'rows/s':>12} {'peak MB':>8} {'read MB':>8} {'peak/read':>9}")
    engine: dict[int, dict[str, Any]] = {}
    for rows in sizes:
        base, comp = write_data(rows, folder)
        engine[rows] = result = _run_child("engine", base, comp)
        total_rows = 2 * rows  # both tables are read and tested
        print(
            f"{rows:>11,} {result['seconds']:>8.2f} {total_rows / result['seconds']:>12,.0f} "
            f"{result['peak_extra_mb']:>8.0f} {result['columns_read_mb']:>8.0f} "
            f"{result['peak_extra_mb'] / result['columns_read_mb']:>9.2f}"
        )
    if compare_rows:
        base, comp = write_data(compare_rows, folder)
        kind = "evidently" if _evidently_available() else "plain"
        peer = _run_child(kind, base, comp)
        ours = engine[compare_rows]
        print(f"\npeer at {compare_rows:,} rows/table: {peer['tool']}")
        print(f"  peer    {peer['seconds']:8.2f} s   peak {peer['peak_extra_mb']:6.0f} MB", end="")
        if "read_seconds" in peer:
            print(f"   (of which pandas.read_parquet {peer['read_seconds']:.2f} s)", end="")
        print(f"\n  engine  {ours['seconds']:8.2f} s   peak {ours['peak_extra_mb']:6.0f} MB")
        print(f"  ratio   {peer['seconds'] / ours['seconds']:8.1f}x faster than the peer (in-process times)")


if __name__ == "__main__":
    sys.exit(main())
