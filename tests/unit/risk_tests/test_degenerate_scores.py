"""A comparator whose score is all null, NaN or infinite (with a protected attribute): a report whose bias
tests say why they could not be judged, never an internal error."""

from __future__ import annotations

import pyarrow as pa
import pytest

from model_governance.risk_tests import run_risk_tests

from .conftest import classification_schema, classification_table


@pytest.mark.parametrize("fill", [None, float("nan"), float("inf"), float("-inf")], ids=str)
@pytest.mark.parametrize("where", ["comparator", "both"])
def test_unusable_scores_make_bias_not_applicable_with_the_reason(fill: float | None, where: str) -> None:
    base = classification_table(2_000, seed=21)
    comp = classification_table(2_000, seed=22, shift=0.1)
    index = comp.schema.get_field_index("score")
    column = pa.array([fill] * comp.num_rows, type=pa.float64())
    comp = comp.set_column(index, "score", column)
    if where == "both":
        base = base.set_column(index, "score", pa.array([fill] * base.num_rows, type=pa.float64()))
    schema = classification_schema()
    assert schema["protected_attributes"]
    report = run_risk_tests(base, comp, schema)
    bias = [r for r in report.results if r.test.startswith("bias.")]
    assert bias and all(r.status == "not_applicable" for r in bias)
    assert all("no comparator row has a finite" in (r.reason or "") for r in bias)
    assert {r.feature for r in bias} == set(schema["protected_attributes"])
    assert len(report.to_dict()["results"]) == len(report.results)
