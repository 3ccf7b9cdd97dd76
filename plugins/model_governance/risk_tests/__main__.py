"""Command line / SageMaker Processing entry point of the standard risk tests.

    python -m model_governance.risk_tests --baseline B --comparator C --schema S.json --out R.json \
        [--thresholds T.json] [--risk-level High|Medium|Low] \
        [--baseline-sha256 H [--baseline-version-id V]] [--comparator-sha256 ...] [--schema-sha256 ...]

B and C are Parquet or CSV files, local or ``s3://``; T.json holds threshold overrides keyed by risk
level (see ``thresholds``). The report is written to R.json (a local path or ``s3://``).

Pinned inputs (how the governed Processing job runs): an ``s3://`` input given with ``--<input>-sha256``
is read at ``--<input>-version-id`` when given (``GetObject`` with that VersionId) and its bytes' SHA-256
must match, or nothing is tested; the report's ``inputs`` then say which version and digest were tested.

Exit codes: 0 when the tests ran, whatever they found (the verdict is in the report and on stdout); 2 for
bad input or arguments; 3 when AWS (S3) failed; 4 when pinned data changed (the version is gone or the
digest differs: the message names the input, expected and found); 1 for any other error the tests raised
on purpose.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from model_governance.exceptions import (
    ConfigurationError,
    ExternalServiceError,
    InvalidInputError,
    ModelGovernanceError,
    PinnedDataChangedError,
    RiskTestInputError,
)
from model_governance.risk_tests.engine import run_risk_tests
from model_governance.risk_tests.thresholds import RISK_LEVELS

EXIT_BAD_INPUT = 2
EXIT_SERVICE = 3
EXIT_DATA_CHANGED = 4
#: The CLI's inputs that can be pinned, and the snapshot role each one is.
PINNABLE = {"baseline": "BASELINE_DATA", "comparator": "COMPARATOR_DATA", "schema": "RISK_TEST_SCHEMA"}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model_governance.risk_tests",
        description="Run the standard risk tests on a baseline and a comparator table.",
    )
    parser.add_argument("--baseline", required=True, help="baseline table: Parquet or CSV, path or s3://")
    parser.add_argument("--comparator", required=True, help="comparator table: Parquet or CSV, path or s3://")
    parser.add_argument("--schema", required=True, help="schema JSON file")
    parser.add_argument("--out", required=True, help="where to write the report JSON: path or s3://")
    parser.add_argument("--thresholds", help="threshold overrides JSON file, keyed by risk level")
    parser.add_argument(
        "--risk-level", default="High", choices=RISK_LEVELS, help="the use case's risk level (default High)"
    )
    parser.add_argument("--workers", type=_positive_int, default=None, help="threads for per-feature tests")
    for name in PINNABLE:
        parser.add_argument(
            f"--{name}-sha256", help=f"pinned SHA-256 of the s3:// {name}: refuse other bytes"
        )
        parser.add_argument(f"--{name}-version-id", help=f"S3 VersionId of the {name} to read")
    return parser


@contextmanager
def _pinned_inputs(args: argparse.Namespace) -> Iterator[dict[str, dict[str, Any]]]:
    """Fetch the pinned inputs to a temporary folder (pointing ``args`` at the copies); yields what was
    read per input, for the report."""
    pins = {}
    for name, role in PINNABLE.items():
        sha, version = getattr(args, f"{name}_sha256"), getattr(args, f"{name}_version_id")
        if sha is None:
            if version is not None:
                raise InvalidInputError(f"--{name}-version-id needs --{name}-sha256 (the pinned digest)")
            continue
        from model_governance.pinned_data import DataPin

        pins[name] = DataPin(role=role, uri=str(getattr(args, name)), sha256=sha, version_id=version)
    if not pins:
        yield {}
        return
    import boto3  # only pinned (S3) inputs need it

    client = boto3.client("s3")
    from model_governance.pinned_data import fetch_pinned

    with tempfile.TemporaryDirectory(prefix="risk-tests-pinned-") as folder:
        provenance = {}
        for name, pin in pins.items():
            path = Path(folder) / f"{name}-{PurePosixPath(pin.key).name}"
            fetched = fetch_pinned(client, pin, path)
            setattr(args, name, str(path))
            provenance[name] = fetched.provenance()
        yield provenance


def _read_overrides(path: str) -> dict[str, object]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RiskTestInputError(f"thresholds file {path!r} does not exist; check --thresholds") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RiskTestInputError(f"thresholds file {path!r} cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise RiskTestInputError(
            f"thresholds file {path!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise RiskTestInputError(f"thresholds file {path!r} must hold a JSON object keyed by risk level")
    return data


def _write(out: str, text: str) -> None:
    if out.startswith("s3://"):
        import boto3

        bucket, _, key = out[len("s3://") :].partition("/")
        if not bucket or not key:
            raise RiskTestInputError(f"--out {out!r} is not an s3://bucket/key URI")
        boto3.client("s3").put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType="application/json"
        )
        return
    path = Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RiskTestInputError(f"--out {out!r} cannot be written: {exc}") from exc


def _use_system_allocator() -> None:
    """Arrow's default allocator (mimalloc) returns and re-faults its pages as a large read fills memory:
    about 0.5-1 s of system time on 2 x 500k rows, where the C allocator takes 0.3 s. A process of its own
    (this CLI, a Processing job) can choose; ``ARROW_DEFAULT_MEMORY_POOL`` set by the caller wins."""
    import os

    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if __name__ == "__main__":
        _use_system_allocator()
    try:
        overrides = _read_overrides(args.thresholds) if args.thresholds else None
        with _pinned_inputs(args) as pinned:
            report = run_risk_tests(
                args.baseline,
                args.comparator,
                args.schema,
                risk_level=args.risk_level,
                threshold_overrides=overrides,
                workers=args.workers,
            )
        for name in ("baseline", "comparator"):
            if name in pinned:
                report.inputs[name] = {**report.inputs.get(name, {}), **pinned[name]}
        if "schema" in pinned:
            report.inputs["risk_test_schema"] = pinned["schema"]
        _write(args.out, report.to_json())
    except PinnedDataChangedError as exc:
        # One line, named by the error class: the operator recognises it in the job's FailureReason.
        print(f"risk tests: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_DATA_CHANGED
    except (InvalidInputError, ConfigurationError) as exc:
        print(f"risk tests: bad input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ExternalServiceError as exc:
        print(f"risk tests: external service failed: {exc}", file=sys.stderr)
        return EXIT_SERVICE
    except ModelGovernanceError as exc:
        print(f"risk tests: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # A bug, not bad input: say so plainly, and keep the traceback for whoever fixes it.
        print(f"risk tests: internal error ({type(exc).__name__}: {exc}); please report it", file=sys.stderr)
        traceback.print_exc()
        return 1
    summary = report.summary()
    verdict = {True: "PASSED", False: "FAILED", None: "NEEDS REVIEW"}[report.passed]
    print(
        f"risk tests {verdict}: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['not_applicable']} not applicable, {summary['error']} errored, {summary['info']} info; "
        f"report written to {args.out}"
    )
    for result in report.failed():
        where = " / ".join(x for x in (result.feature, result.group) if x)
        needs = result.threshold.describe() if result.threshold else ""
        print(f"  failed {result.test}{f' [{where}]' if where else ''}: {result.value} (needs {needs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
