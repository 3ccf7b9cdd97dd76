"""Champion vs challenger on the same comparator data (risk_tests.champion): the champion's performance and
bias from its score column equal a direct computation on exactly the rows the challenger's results use,
with the same thresholds; a missing or unusable column is refused naming the data, the column and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from model_governance.risk_tests import RiskTestReport, run_risk_tests
from model_governance.risk_tests.champion import (
    CHAMPION_SCORE_COLUMN_KEY,
    DEFAULT_CHAMPION_SCORE_COLUMN,
    ChampionScoresError,
    compare_champion,
)
from model_governance.services.challengers import champion_score_column
from tests.unit.risk_tests.conftest import (
    classification_schema,
    classification_table,
    regression_schema,
    regression_table,
)

N = 3_000


def _with_champion(
    table: pa.Table, champion: np.ndarray | pa.Array, name: str = "champion_score"
) -> pa.Table:
    return table.append_column(name, champion if isinstance(champion, pa.Array) else pa.array(champion))


def _challenger_data() -> tuple[pa.Table, np.ndarray]:
    """Comparator data with some rows unusable for the challenger (a missing label, a NaN score) and the
    champion's scores (a noisier model of the same rows) in ``champion_score``."""
    table = classification_table(N, seed=21)
    rng = np.random.default_rng(5)
    score = table.column("score").to_numpy().copy()
    score[:40] = np.nan  # the challenger did not score these rows
    label = pa.array(table.column("label").to_numpy(), mask=np.arange(N) % 97 == 0)  # no label here
    table = table.set_column(table.column_names.index("score"), "score", pa.array(score))
    table = table.set_column(table.column_names.index("label"), "label", label)
    champion = np.clip(table.column("score").to_numpy() * 0.7 + rng.normal(0.1, 0.12, N), 0.0, 1.0)
    champion[:40] = rng.random(40)  # the champion scored every row
    return _with_champion(table, champion), champion


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC by brute force over every positive/negative pair (ties count half)."""
    pos, neg = s[y], s[~y]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def test_the_champions_performance_is_a_direct_computation_on_the_challengers_rows() -> None:
    table, champion = _challenger_data()
    comparison = compare_champion(table, classification_schema(), "champion_score", risk_level="High")

    label = table.column("label")
    known = np.asarray(label.is_valid())
    y_all = np.nan_to_num(np.asarray(label.to_numpy(zero_copy_only=False), dtype=float)) == 1
    rows = known & np.isfinite(table.column("score").to_numpy())
    y, s = y_all[rows], champion[rows]
    predicted = s >= 0.5
    tp, fp = int((predicted & y).sum()), int((predicted & ~y).sum())
    fn = int((~predicted & y).sum())
    expected = {
        "performance.auc": _auc(y, s),
        "performance.accuracy": float((predicted == y).mean()),
        "performance.precision": tp / (tp + fp),
        "performance.recall": tp / (tp + fn),
        "performance.f1": 2 * tp / (2 * tp + fp + fn),
    }
    found = {r.test: r for r in comparison.results if r.test.startswith("performance.")}
    assert set(found) == set(expected)
    for test, value in expected.items():
        assert found[test].value == pytest.approx(value, abs=1e-12), test
        assert found[test].details["rows"] == int(rows.sum())
        assert found[test].dataset == "comparator"
    assert comparison.rows == N and comparison.rows_compared == int(rows.sum()) < N
    assert any("both sides leave them out" in w for w in comparison.warnings)

    # The challenger's own results use exactly these rows, with the same thresholds.
    report = run_risk_tests(
        classification_table(N, seed=22), table, classification_schema(), risk_level="High"
    )
    mine = next(r for r in report.results if r.test == "performance.auc" and r.dataset == "comparator")
    assert mine.details["rows"] == comparison.rows_compared
    assert found["performance.auc"].threshold == mine.threshold
    assert found["performance.auc"].status == ("passed" if expected["performance.auc"] >= 0.75 else "failed")

    # Bias: the champion's positive-prediction rate of each gender over the same scored rows.
    gender = np.asarray(table.column("gender").to_pylist())
    scored = np.isfinite(table.column("score").to_numpy())

    def ppr(group: str) -> float:
        in_group = scored & (gender == group)
        return float((champion[in_group] >= 0.5).mean())

    reference, other = "male", "female"  # reference_groups in the schema
    bias = next(
        r
        for r in comparison.results
        if r.test == "bias.ppr_disparity" and r.feature == "gender" and r.group == other
    )
    assert bias.value == pytest.approx(ppr(other) / ppr(reference), abs=1e-12)
    challenger_rows = {
        (g.attribute, g.group): g.rows for g in report.group_disparities if g.attribute == "gender"
    }
    assert {
        (g.attribute, g.group): g.rows for g in comparison.group_disparities if g.attribute == "gender"
    } == (challenger_rows), "the same scored rows per group as the challenger's bias results"


def test_regression_champion_performance() -> None:
    table = regression_table(800, seed=3)
    rng = np.random.default_rng(9)
    label = table.column("target").to_numpy()
    champion = label + rng.normal(0, 7, label.size)
    comparison = compare_champion(_with_champion(table, champion), regression_schema(), "champion_score")
    found = {r.test: r.value for r in comparison.results}
    assert found["performance.rmse"] == pytest.approx(float(np.sqrt(np.mean((label - champion) ** 2))))
    assert found["performance.mae"] == pytest.approx(float(np.mean(np.abs(label - champion))))
    assert not any(r.test.startswith("bias.") for r in comparison.results)


def test_the_comparison_travels_in_the_report_without_changing_its_verdict() -> None:
    table, _ = _challenger_data()
    report = run_risk_tests(classification_table(N, seed=22), table, classification_schema())
    before = report.to_dict()
    assert "champion" not in before, "a report without a champion keeps its shape"
    report.champion = compare_champion(table, classification_schema(), "champion_score")
    after = report.to_dict()
    assert after["champion"]["score_column"] == "champion_score"
    assert {k: v for k, v in after.items() if k != "champion"} == before
    again = RiskTestReport.from_dict(after)
    assert again.champion is not None and again.champion.to_dict() == after["champion"]
    assert again.passed == report.passed


def _write(table: pa.Table, path: Path) -> Path:
    if path.suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_missing_column_names_the_data_the_column_and_the_fix(tmp_path: Path, suffix: str) -> None:
    path = _write(classification_table(200, seed=1), tmp_path / f"comparator{suffix}")
    with pytest.raises(ChampionScoresError) as raised:
        compare_champion(path, classification_schema(), "champion_score", source="s3://data/comparator")
    message = str(raised.value)
    assert "s3://data/comparator" in message and "'champion_score'" in message
    assert "has no such column" in message
    assert "Add the champion's scores for these rows as column 'champion_score'" in message
    assert f"metadata key {CHAMPION_SCORE_COLUMN_KEY}" in message


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (pa.array(["0.1", "high"] * 100), "not numbers"),
        (pa.array([0.2, None] * 100, type=pa.float64()), "100 of its 200 rows are empty (null)"),
        (pa.array([0.2, float("nan")] * 100), "100 of its 200 rows are NaN or infinite"),
        (pa.array([0.2, 1.5] * 100), "100 of its 200 rows lie outside [0, 1]"),
    ],
)
def test_unusable_champion_scores_are_refused(values: pa.Array, problem: str) -> None:
    table = _with_champion(classification_table(200, seed=1), values, "prev_model")
    with pytest.raises(ChampionScoresError, match="prev_model") as raised:
        compare_champion(table, classification_schema(), "prev_model", source="s3://data/c.parquet")
    assert problem in str(raised.value) and "s3://data/c.parquet" in str(raised.value)


def test_non_numeric_csv_column_is_refused(tmp_path: Path) -> None:
    table = _with_champion(classification_table(50, seed=1), pa.array(["n/a-ish"] * 50))
    path = _write(table, tmp_path / "comparator.csv")
    with pytest.raises(ChampionScoresError, match="not numbers"):
        compare_champion(path, classification_schema(), "champion_score")


def test_the_challengers_own_score_is_not_a_champion() -> None:
    with pytest.raises(ChampionScoresError, match="own score column"):
        compare_champion(classification_table(50, seed=1), classification_schema(), "score")


def test_the_column_is_named_by_the_challengers_metadata() -> None:
    assert DEFAULT_CHAMPION_SCORE_COLUMN == "champion_score"
    assert champion_score_column(None) == "champion_score"
    assert champion_score_column({"model_package": {"customer_metadata": {}}}) == "champion_score"
    manifest = {"model_package": {"customer_metadata": {CHAMPION_SCORE_COLUMN_KEY: " prod_score "}}}
    assert champion_score_column(manifest) == "prod_score"
    assert champion_score_column(
        {"model_package": {"customer_metadata": {CHAMPION_SCORE_COLUMN_KEY: ""}}}
    ) == ("champion_score")
