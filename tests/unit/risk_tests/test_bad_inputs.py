"""Each bad input of issue 4: a clear error naming the input, or a result marked not applicable with the
reason; never a bare traceback, never a silently wrong number."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from scipy import stats

from model_governance.exceptions import RiskTestInputError
from model_governance.risk_tests import RiskTestReport, TestResult, run_risk_tests

from .conftest import classification_schema, classification_table, regression_schema, regression_table

Writer = Callable[[pa.Table, str], Path]


def _results(report: RiskTestReport, test: str, feature: str | None = None) -> list[TestResult]:
    return [r for r in report.results if r.test == test and (feature is None or r.feature == feature)]


@pytest.fixture(scope="module")
def base() -> pa.Table:
    return classification_table(3_000, seed=11)


@pytest.fixture(scope="module")
def comp() -> pa.Table:
    return classification_table(3_000, seed=12, shift=0.1)


def test_missing_file_names_the_path(tmp_path: Path, comp: pa.Table) -> None:
    missing = tmp_path / "nowhere.parquet"
    with pytest.raises(RiskTestInputError, match=r"baseline table .*nowhere\.parquet.* does not exist"):
        run_risk_tests(missing, comp, classification_schema())


def test_unreadable_parquet_names_the_file(tmp_path: Path, comp: pa.Table) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(RiskTestInputError, match=r"baseline table .*broken\.parquet.* not readable Parquet"):
        run_risk_tests(broken, comp, classification_schema())


def test_truncated_parquet_is_refused(
    tmp_path: Path, base: pa.Table, comp: pa.Table, write_parquet: Writer
) -> None:
    good = write_parquet(comp, "comp.parquet")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(RiskTestInputError, match=r"comparator table .*cut\.parquet.* not readable Parquet"):
        run_risk_tests(base, cut, classification_schema())


def test_missing_columns_are_listed(base: pa.Table, comp: pa.Table, write_parquet: Writer) -> None:
    path = write_parquet(comp.drop_columns(["income", "gender"]), "comp.parquet")
    with pytest.raises(
        RiskTestInputError, match=r"comparator table .* lacks column\(s\) \['income', 'gender'\]"
    ):
        run_risk_tests(base, path, classification_schema())


def test_missing_columns_in_csv_are_listed(tmp_path: Path, base: pa.Table, comp: pa.Table) -> None:
    pa_csv.write_csv(comp.drop_columns(["score"]), tmp_path / "comp.csv")
    with pytest.raises(RiskTestInputError, match=r"lacks column\(s\) \['score'\]"):
        run_risk_tests(base, tmp_path / "comp.csv", classification_schema())


def test_text_in_a_numeric_parquet_column_is_refused(base: pa.Table, comp: pa.Table) -> None:
    bad = comp.set_column(0, "income", pa.array([str(v) for v in comp.column("income").to_pylist()]))
    with pytest.raises(
        RiskTestInputError, match=r"column 'income' of the comparator table .* is string.*numbers"
    ):
        run_risk_tests(base, bad, classification_schema())


def test_text_in_a_numeric_csv_column_is_refused(tmp_path: Path, base: pa.Table, comp: pa.Table) -> None:
    values = comp.column("balance").to_pylist()
    values[7] = "twelve"
    bad = comp.set_column(comp.column_names.index("balance"), "balance", pa.array([str(v) for v in values]))
    pa_csv.write_csv(bad, tmp_path / "comp.csv")
    with pytest.raises(RiskTestInputError, match=r"comp\.csv.* not readable CSV.*twelve"):
        run_risk_tests(base, tmp_path / "comp.csv", classification_schema())


def test_float_categorical_column_is_refused(base: pa.Table, comp: pa.Table) -> None:
    schema = classification_schema(features={"numeric": ["age"], "categorical": ["income"]})
    with pytest.raises(RiskTestInputError, match=r"column 'income' .* is double.*features.numeric"):
        run_risk_tests(base, comp, schema)


def test_label_with_one_class_makes_auc_not_applicable(base: pa.Table, comp: pa.Table) -> None:
    only_negative = comp.set_column(
        comp.column_names.index("label"), "label", pa.array(np.zeros(comp.num_rows, dtype=np.int64))
    )
    report = run_risk_tests(base, only_negative, classification_schema())
    auc = next(r for r in report.results if r.test == "performance.auc" and r.dataset == "comparator")
    assert auc.status == "not_applicable" and auc.value is None and auc.passed is None
    assert "one class" in (auc.reason or "")
    recall = next(r for r in report.results if r.test == "performance.recall" and r.dataset == "comparator")
    assert recall.status == "not_applicable" and "no positive" in (recall.reason or "")
    # Bias TPR has no actual positives to judge; the gated AUC could not be judged: a reviewer decides.
    assert all(r.status == "not_applicable" for r in _results(report, "bias.tpr_disparity"))
    assert "performance.auc" in report.not_judged and report.passed in (None, False)


def test_positive_class_absent_from_both_tables_is_an_error(base: pa.Table, comp: pa.Table) -> None:
    with pytest.raises(
        RiskTestInputError, match=r"positive_class 2 occurs in neither table's label .*\[0, 1\]"
    ):
        run_risk_tests(base, comp, classification_schema(positive_class=2))


def test_all_nan_column_is_not_applicable(base: pa.Table, comp: pa.Table) -> None:
    empty = pa.array([None] * comp.num_rows, type=pa.float64())
    report = run_risk_tests(base, comp.set_column(1, "age", empty), classification_schema())
    for test in ("data_drift.ks_statistic", "data_drift.ks_pvalue", "stability.csi"):
        (result,) = _results(report, test, "age")
        assert result.status == "not_applicable" and "no finite value in the comparator" in (
            result.reason or ""
        )
    chart = next(d for d in report.distributions if d.feature == "age")
    assert chart.comparator_missing == comp.num_rows and sum(chart.comparator_counts) == 0
    # The other features are still judged.
    assert _results(report, "data_drift.ks_pvalue", "income")[0].status in ("passed", "failed")


def test_all_missing_categorical_is_not_applicable(base: pa.Table, comp: pa.Table) -> None:
    empty = pa.array([None] * base.num_rows, type=pa.string())
    report = run_risk_tests(base.set_column(4, "region", empty), comp, classification_schema())
    (chi2,) = _results(report, "data_drift.chi2_pvalue", "region")
    assert chi2.status == "not_applicable" and "only missing values in the baseline" in (chi2.reason or "")


def test_constant_numeric_column_gives_exact_ks_and_a_note(base: pa.Table, comp: pa.Table) -> None:
    constant_base = base.set_column(1, "age", pa.array(np.full(base.num_rows, 40.0)))
    constant_comp = comp.set_column(1, "age", pa.array(np.full(comp.num_rows, 40.0)))
    report = run_risk_tests(constant_base, constant_comp, classification_schema())
    (ks,) = _results(report, "data_drift.ks_pvalue", "age")
    assert ks.value == 1.0 and ks.details["constant_in_baseline"] == 40.0
    (csi,) = _results(report, "stability.csi", "age")
    assert csi.value == 0.0
    # A constant baseline against a moving comparator: KS sees it (the exact SciPy number).
    report = run_risk_tests(constant_base, comp, classification_schema())
    (ks,) = _results(report, "data_drift.ks_statistic", "age")
    want = stats.ks_2samp(np.full(base.num_rows, 40.0), comp.column("age").to_numpy())
    assert ks.value is not None and math.isclose(ks.value, want.statistic, abs_tol=1e-12)


def test_single_category_column_is_not_applicable_for_chi2(base: pa.Table, comp: pa.Table) -> None:
    one = pa.array(["web"] * base.num_rows)
    report = run_risk_tests(
        base.set_column(5, "channel", one), comp.set_column(5, "channel", one), classification_schema()
    )
    (chi2,) = _results(report, "data_drift.chi2_pvalue", "channel")
    assert chi2.status == "not_applicable" and "single category" in (chi2.reason or "")
    (js,) = _results(report, "data_drift.js_distance", "channel")
    assert js.value == 0.0 and js.status == "passed"


def test_empty_tables_are_refused(
    tmp_path: Path, base: pa.Table, comp: pa.Table, write_parquet: Writer
) -> None:
    with pytest.raises(RiskTestInputError, match=r"comparator table .* has no rows"):
        run_risk_tests(base, write_parquet(comp.slice(0, 0), "empty.parquet"), classification_schema())
    header_only = tmp_path / "empty.csv"
    pa_csv.write_csv(base.slice(0, 0), header_only)
    with pytest.raises(RiskTestInputError, match=r"baseline table .*empty\.csv.* has no rows"):
        run_risk_tests(header_only, comp, classification_schema())
    blank = tmp_path / "blank.csv"
    blank.write_text("", encoding="utf-8")
    with pytest.raises(RiskTestInputError, match=r"blank\.csv.* empty"):
        run_risk_tests(blank, comp, classification_schema())


def test_schema_naming_a_column_twice_is_refused(base: pa.Table, comp: pa.Table) -> None:
    schema = classification_schema(
        features={"numeric": ["income", "age"], "categorical": ["gender"]}, protected_attributes=["gender"]
    )
    with pytest.raises(
        RiskTestInputError, match=r"column 'gender' twice \(as features.categorical and as protected"
    ):
        run_risk_tests(base, comp, schema)


def test_small_groups_are_reported_as_too_small(base: pa.Table, comp: pa.Table) -> None:
    report = run_risk_tests(base, comp, classification_schema(min_group_size=200))
    other = [r for r in report.results if r.test == "bias.ppr_disparity" and r.group == "other"]
    assert len(other) == 1 and other[0].status == "not_applicable"
    assert "fewer than min_group_size 200" in (other[0].reason or "")
    female = [r for r in report.results if r.test == "bias.ppr_disparity" and r.group == "female"]
    assert female[0].status in ("passed", "failed")
    # Judged groups remain, so the small group alone does not make the verdict undecided.
    assert "bias.ppr_disparity" not in report.not_judged


def test_unknown_reference_group_is_not_applicable_with_the_groups_seen(
    base: pa.Table, comp: pa.Table
) -> None:
    report = run_risk_tests(base, comp, classification_schema(reference_groups={"gender": "Male"}))
    gender = [r for r in report.results if r.feature == "gender" and r.test.startswith("bias.")]
    assert gender and all(r.status == "not_applicable" for r in gender)
    assert "'Male'" in (gender[0].reason or "") and "male" in (gender[0].reason or "")


def test_no_protected_attribute_leaves_bias_to_a_reviewer(base: pa.Table, comp: pa.Table) -> None:
    report = run_risk_tests(base, comp, classification_schema(protected_attributes=[], reference_groups={}))
    (ppr,) = _results(report, "bias.ppr_disparity")
    assert ppr.status == "not_applicable" and "no protected attribute" in (ppr.reason or "")
    assert "bias.ppr_disparity" in report.not_judged and report.passed in (None, False)


def test_boolean_and_string_labels(base: pa.Table, comp: pa.Table) -> None:
    def relabel(table: pa.Table, values: pa.Array) -> pa.Table:
        return table.set_column(table.column_names.index("label"), "label", values)

    as_bool = [relabel(t, pa.array(t.column("label").to_numpy() == 1)) for t in (base, comp)]
    as_text = [
        relabel(t, pa.array(np.where(t.column("label").to_numpy() == 1, "yes", "no"))) for t in (base, comp)
    ]
    reference = run_risk_tests(base, comp, classification_schema())
    for tables, positive in ((as_bool, True), (as_text, "yes")):
        report = run_risk_tests(tables[0], tables[1], classification_schema(positive_class=positive))
        assert [r.value for r in report.results] == [r.value for r in reference.results]
    with pytest.raises(RiskTestInputError, match=r"holds numbers, but positive_class is 'yes'"):
        run_risk_tests(base, comp, classification_schema(positive_class="yes"))


def test_missing_labels_and_scores_are_left_out_with_a_warning(base: pa.Table, comp: pa.Table) -> None:
    score = comp.column("score").to_numpy().copy()
    score[:10] = np.nan
    label = pa.array(comp.column("label").to_numpy(), mask=np.arange(comp.num_rows) < 25)
    patched = comp.set_column(comp.column_names.index("score"), "score", pa.array(score))
    patched = patched.set_column(patched.column_names.index("label"), "label", label)
    report = run_risk_tests(base, patched, classification_schema())
    assert any("25 of 3000 rows of the comparator" in w for w in report.warnings)
    accuracy = next(
        r for r in report.results if r.test == "performance.accuracy" and r.dataset == "comparator"
    )
    assert accuracy.details["rows"] == comp.num_rows - 25


def test_regression_with_a_constant_label_and_collinear_features() -> None:
    base = regression_table(500, seed=21)
    comp = regression_table(400, seed=22)
    comp = comp.set_column(comp.column_names.index("target"), "target", pa.array(np.full(400, 7.0)))
    x1 = comp.column("x1").to_numpy()
    comp = comp.set_column(comp.column_names.index("x2"), "x2", pa.array(2 * x1 + 1))
    report = run_risk_tests(base, comp, regression_schema())
    r2 = next(r for r in report.results if r.test == "performance.r2" and r.dataset == "comparator")
    assert r2.status == "not_applicable" and "constant" in (r2.reason or "")
    vif = _results(report, "regression.vif")
    assert {r.feature for r in vif if r.status == "failed"} >= {"x1", "x2"}
    assert all("multicollinearity" in (r.reason or "") for r in vif if r.status == "failed")
    assert report.passed is False


def test_regression_label_must_be_numeric() -> None:
    base = regression_table(200, seed=23)
    text = base.set_column(base.column_names.index("target"), "target", pa.array(["x"] * 200))
    with pytest.raises(
        RiskTestInputError, match=r"column 'target' of the baseline .* numeric columns must hold"
    ):
        run_risk_tests(text, base, regression_schema())


def test_a_folder_of_parquet_parts_is_one_table(tmp_path: Path, base: pa.Table, comp: pa.Table) -> None:
    import pyarrow.parquet as pq

    folder = tmp_path / "comparator"
    folder.mkdir()
    pq.write_table(comp.slice(0, 1_000), folder / "part-0.parquet")
    pq.write_table(comp.slice(1_000), folder / "part-1.parquet")
    report = run_risk_tests(base, folder, classification_schema())
    assert report.inputs["comparator"]["rows"] == comp.num_rows
    assert [r.value for r in report.results] == [
        r.value for r in run_risk_tests(base, comp, classification_schema()).results
    ]
    with pytest.raises(RiskTestInputError, match=r"comparator table .* lacks column\(s\) \['nope'\]"):
        with_nope = base.append_column("nope", base.column("income"))
        run_risk_tests(with_nope, folder, classification_schema(features={"numeric": ["nope"]}))
