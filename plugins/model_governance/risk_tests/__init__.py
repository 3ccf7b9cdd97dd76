"""The standard risk tests engine: performance, data and concept drift, stability, bias, regression checks.

A domain module: it imports nothing from Airflow (nor pandas), so it runs in an Airflow worker and,
unchanged, as a SageMaker Processing job (``python -m model_governance.risk_tests``). Entry points::

    from model_governance.risk_tests import run_risk_tests
    report = run_risk_tests("s3://bucket/baseline.parquet", "s3://bucket/comparator.parquet",
                            "schema.json", risk_level="High", threshold_overrides={"High": {...}})
    report.passed            # True / False / None (a reviewer must decide)
    report.to_json()         # the versioned JSON form documented in ``report``

Modules: ``schema`` (the input schema), ``thresholds`` (ModelOp's defaults and per-risk-level overrides),
``data`` (reading Parquet/CSV from a path or S3), ``metrics`` (the numeric kernels), ``engine`` (the
run), ``report`` (the result and its JSON shape).
"""

from model_governance.risk_tests.engine import run_risk_tests
from model_governance.risk_tests.report import (
    ENGINE_VERSION,
    REPORT_SCHEMA_VERSION,
    BinnedDistribution,
    GroupDisparity,
    RiskTestReport,
    TestResult,
)
from model_governance.risk_tests.schema import RiskTestSchema
from model_governance.risk_tests.thresholds import (
    METRICS,
    RISK_LEVELS,
    Bound,
    Thresholds,
    resolve_thresholds,
    validate_threshold_overrides,
)

__all__ = [
    "ENGINE_VERSION",
    "METRICS",
    "REPORT_SCHEMA_VERSION",
    "RISK_LEVELS",
    "BinnedDistribution",
    "Bound",
    "GroupDisparity",
    "RiskTestReport",
    "RiskTestSchema",
    "TestResult",
    "Thresholds",
    "resolve_thresholds",
    "run_risk_tests",
    "validate_threshold_overrides",
]
