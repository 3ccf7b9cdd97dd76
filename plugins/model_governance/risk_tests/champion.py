"""Champion vs challenger on the same comparator data (a model change, docs/after-go-live.md).

There is no inference here: as data scientists do for a champion/challenger holdout, the challenger's
comparator data carries the champion's scores for the same rows in one column (``champion_score`` unless
the challenger's package metadata key ``CHAMPION_SCORE_COLUMN`` names another). ``compare_champion``
computes the champion's side of the standard performance test from that column with the engine's own
kernels (``engine._Run``: the same metrics, the same thresholds) on exactly the rows the challenger's own
performance and bias results used: rows with a label and a finite challenger score. Bias (classification)
is the engine's positive-prediction and true-positive rate disparities of the champion's predictions over
the same scored rows and groups.

The column must be there and hold a finite number on every row (no nulls, NaN or infinity), and, for a
classification model whose scores are probabilities in [0, 1], within [0, 1] too (the one decision
threshold of the schema judges both sides). Anything else is a ``ChampionScoresError`` naming the dataset,
the column and the fix. No Airflow, no pandas, no SciPy/scikit-learn import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from model_governance.exceptions import RiskTestInputError
from model_governance.risk_tests.data import (
    _csv_header,
    _format_of,
    _is_number,
    load_table,
)
from model_governance.risk_tests.engine import TableSource, _floats, _Run
from model_governance.risk_tests.report import ChampionComparison, GroupDisparity, TestResult
from model_governance.risk_tests.schema import RiskTestSchema
from model_governance.risk_tests.thresholds import resolve_thresholds

__all__ = [
    "CHAMPION_SCORE_COLUMN_KEY",
    "DEFAULT_CHAMPION_SCORE_COLUMN",
    "ChampionScoresError",
    "compare_champion",
]

#: The challenger's customer metadata key (``CustomerMetadataProperties``, like ``COMPARATOR_DATA``) that
#: names the comparator data's column holding the champion's scores.
CHAMPION_SCORE_COLUMN_KEY = "CHAMPION_SCORE_COLUMN"
#: The column's name when the key is not set.
DEFAULT_CHAMPION_SCORE_COLUMN = "champion_score"


class ChampionScoresError(RiskTestInputError):
    """The challenger's comparator data does not carry usable champion scores; the message says the fix."""


def _fix(column: str) -> str:
    return (
        f"Add the champion's scores for these rows as column {column!r} of the comparator data, or set the "
        f"challenger's package metadata key {CHAMPION_SCORE_COLUMN_KEY} (CustomerMetadataProperties) to the "
        "name of the column that holds them; then start a new run of the implementation DAG for this "
        "version (its snapshot pins the data and the metadata as they are then)."
    )


def _problem(source: str, column: str, what: str) -> ChampionScoresError:
    return ChampionScoresError(
        f"The champion vs challenger comparison needs the champion's scores in column {column!r} of the "
        f"challenger's comparator data {source}, but {what}. {_fix(column)}"
    )


def _read_column(comparator: TableSource, column: str, source: str) -> pa.ChunkedArray:
    """The champion's score column as it is stored (its own type, to be checked here)."""
    if isinstance(comparator, pa.Table):
        names = list(comparator.column_names)
        if column not in names:
            raise _problem(source, column, f"it has no such column (its columns: {names[:30]})")
        return comparator.column(column)
    path = Path(comparator)
    try:
        if _format_of(path) == "parquet":
            import pyarrow.parquet as pq

            if path.is_dir():
                names = list(pq.ParquetDataset(path).schema.names)
            else:
                names = list(pq.read_metadata(path).schema.to_arrow_schema().names)
            if column not in names:
                raise _problem(source, column, f"it has no such column (its columns: {names[:30]})")
            if path.is_dir():
                return pq.read_table(path, columns=[column]).column(column)
            with pq.ParquetFile(path) as parquet:
                return parquet.read(columns=[column]).column(column)
        names = _csv_header(path, source, "comparator")
        if column not in names:
            raise _problem(source, column, f"it has no such column (its columns: {names[:30]})")
        import pyarrow.csv as pa_csv

        table = pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(include_columns=[column], strings_can_be_null=True),
        )
        return table.column(column)
    except ChampionScoresError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise _problem(source, column, f"the column cannot be read ({exc})") from exc


def _champion_scores(
    column: pa.ChunkedArray, name: str, source: str, challenger: NDArray[np.float64], classification: bool
) -> NDArray[np.float64]:
    """The champion's scores as float64, refused unless every row holds a finite number in range."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not _is_number(kind) or pa.types.is_boolean(kind):
        raise _problem(source, name, f"the column holds {kind}, not numbers")
    rows = len(column)
    if column.null_count:
        raise _problem(source, name, f"{column.null_count} of its {rows} rows are empty (null)")
    values = _floats(column)
    _refuse_rows(
        source,
        name,
        values,
        ~np.isfinite(values),
        "{count} of its {rows} rows are NaN or infinite (the first is row {first}: {value})",
    )
    if classification:
        finite = challenger[np.isfinite(challenger)]
        if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
            _refuse_rows(
                source,
                name,
                values,
                (values < 0.0) | (values > 1.0),
                "{count} of its {rows} rows lie outside [0, 1] (the first is row {first}: {value:g}), while "
                "the challenger's scores are probabilities in [0, 1] judged by the same decision threshold",
            )
    return values


def _refuse_rows(
    source: str, name: str, values: NDArray[np.float64], wrong: NDArray[np.bool_], why: str
) -> None:
    """Refuse the column when ``wrong`` marks any of its rows. ``why`` is a ``str.format`` template of
    ``count`` (rows marked), ``rows`` (all rows), ``first`` (the first one marked) and ``value`` (its
    value)."""
    if wrong.any():
        first = int(np.argmax(wrong))
        raise _problem(
            source,
            name,
            why.format(count=int(wrong.sum()), rows=len(values), first=first, value=values[first]),
        )


def compare_champion(
    comparator: TableSource,
    schema: RiskTestSchema | Mapping[str, Any] | str | Path,
    column: str,
    *,
    risk_level: str = "High",
    threshold_overrides: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> ChampionComparison:
    """The champion's performance (and bias) from ``column`` of the comparator data, on the rows the
    challenger's own results use; ``ChampionScoresError`` when the column is missing or unusable.
    ``source`` names the data in errors (say its ``s3://`` URI when ``comparator`` is a local copy)."""
    schema = RiskTestSchema.load(schema)
    name = source or ("<in-memory comparator table>" if isinstance(comparator, pa.Table) else str(comparator))
    if not isinstance(column, str) or not column.strip():
        raise _problem(name, str(column), "no column name is given")
    if column in (schema.score, schema.label):
        role = "score" if column == schema.score else "label"
        raise _problem(
            name,
            column,
            f"that is the challenger's own {role} column (the schema's {role!r}): the comparison would "
            "compare a model with itself or with the truth",
        )
    thresholds = resolve_thresholds(risk_level, threshold_overrides)
    raw = _read_column(comparator, column, name)
    # The label, the challenger's score and the protected attributes, read and checked as the run does.
    reading = replace(schema, numeric_features=(), categorical_features=())
    comp = load_table(comparator, "comparator", reading)
    comp = replace(comp, source=name)
    challenger = _floats(comp.table.column(schema.score))
    classification = schema.problem_type == "classification"
    champion = _champion_scores(raw, column, name, challenger, classification)
    if champion.size != comp.num_rows:  # one file read twice: cannot differ, but never compare misaligned
        raise _problem(name, column, f"it has {champion.size} rows where the table has {comp.num_rows}")
    run = _Run(replace(schema, score=column), thresholds, comp, comp, workers=1)
    results: list[TestResult] = []
    disparities: list[GroupDisparity] = []
    if classification:
        y, known = run._positive_mask(comp)
        usable = known & np.isfinite(challenger)
        results += run._classification_performance("comparator", y[usable], champion[usable], True)
        # The same scored rows as the challenger's bias results: its score finite.
        scored = np.where(np.isfinite(challenger), champion, np.nan)
        bias_results, disparities = run._bias(y, known, scored)
        results += bias_results
    else:
        label = _floats(comp.table.column(schema.label))
        usable = np.isfinite(label) & np.isfinite(challenger)
        results += run._regression_performance("comparator", label[usable], champion[usable], True)
    compared = int(usable.sum())
    warnings = list(run.warnings)
    if compared < comp.num_rows:
        warnings.append(
            f"{comp.num_rows - compared} of {comp.num_rows} rows of the comparator data have a missing label "
            "or a missing / non-finite challenger score; both sides leave them out"
        )
    return ChampionComparison(
        score_column=column,
        rows=comp.num_rows,
        rows_compared=compared,
        results=results,
        group_disparities=disparities,
        warnings=warnings,
    )
