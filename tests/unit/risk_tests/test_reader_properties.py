"""Property tests (Hypothesis) of the risk tests' readers: a schema of any JSON shape, a schema file of any
text, and a data file of any bytes (CSV or Parquet, by name or by content) give a result or a
RiskTestInputError naming the input; never another exception."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_governance.exceptions import RiskTestInputError
from model_governance.risk_tests.data import load_table
from model_governance.risk_tests.schema import RiskTestSchema

from .conftest import classification_schema

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
GOOD = classification_schema()
# A good schema with some of its fields replaced by any JSON value, or dropped.
schema_like = st.builds(
    lambda changes, dropped: {**{k: v for k, v in GOOD.items() if k not in dropped}, **changes},
    st.dictionaries(st.sampled_from(sorted(GOOD)), json_values, max_size=3),
    st.sets(st.sampled_from(sorted(GOOD)), max_size=2),
)


@settings(max_examples=300)
@given(schema_like | st.dictionaries(st.text(max_size=12), json_values, max_size=5))
def test_property_any_schema_object_is_a_schema_or_a_named_input_error(data: dict[str, Any]) -> None:
    try:
        schema = RiskTestSchema.from_dict(data)
    except RiskTestInputError as exc:
        assert str(exc)
        return
    assert isinstance(schema, RiskTestSchema) and schema.label and schema.score


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_property_any_schema_file_is_a_schema_or_a_named_input_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schema.json"
        path.write_text(text, encoding="utf-8")
        try:
            RiskTestSchema.load(path)
        except RiskTestInputError as exc:
            assert "schema" in str(exc)


def _csv_of(rows: list[list[Any]]) -> bytes:
    header = ",".join(["label", "score", "income", "age", "region"])
    return (header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows)).encode()


cells = st.one_of(st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6))
data_files = st.one_of(
    st.binary(max_size=300),
    st.lists(st.lists(cells, min_size=0, max_size=7), max_size=6).map(_csv_of),
    st.just(b"PAR1garbage"),
)


@settings(max_examples=150, deadline=None)
@given(data_files, st.sampled_from(["data.csv", "data.parquet", "data.bin"]))
def test_property_any_data_file_is_a_table_or_a_named_input_error(content: bytes, name: str) -> None:
    schema = RiskTestSchema.from_dict(GOOD)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            loaded = load_table(str(path), "baseline", schema)
        except RiskTestInputError as exc:
            assert "baseline" in str(exc)
            return
        assert loaded.num_rows > 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cells, cells), min_size=1, max_size=5))
def test_property_parquet_of_wrong_types_is_a_named_input_error(rows: list[tuple[Any, Any]]) -> None:
    """Real Parquet files whose columns hold any values (mixed types become strings)."""
    schema = RiskTestSchema.from_dict(GOOD)
    table = pa.table({c: [str(r[i % 2]) for r in rows] for i, c in enumerate(schema.columns())})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.parquet"
        path.write_bytes(buffer.getvalue())
        try:
            load_table(str(path), "comparator", schema)
        except RiskTestInputError as exc:
            assert "comparator" in str(exc)
