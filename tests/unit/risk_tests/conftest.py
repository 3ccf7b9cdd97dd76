"""Generated tables and schemas for the risk tests engine's tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

NUMERIC = ["income", "age", "balance", "tenure"]
CATEGORICAL = ["region", "channel"]
PROTECTED = ["gender", "age_band"]


def classification_table(
    n: int, seed: int, shift: float = 0.0, *, extra_category: bool = False, nulls: bool = False
) -> pa.Table:
    """A credit-default-like table: a score from a logistic model of two features, a label drawn from it,
    ties in ``age`` (integers) and ``tenure`` (rounded), categories with a shift, two protected attributes."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10 + shift * 0.1, 0.5, n)
    age = rng.integers(18, 80, n).astype(np.float64) + np.round(shift * 3)
    balance = rng.normal(1000 * (1 + shift), 300, n)
    tenure = np.round(rng.exponential(5 + shift, n), 1)
    regions = ["north", "south", "east", "west"] + (["moon"] if extra_category else [])
    weights = np.array([0.4, 0.3, 0.2, 0.1] + ([0.05] if extra_category else []))
    weights = weights / weights.sum()
    region = rng.choice(regions, n, p=weights)
    channel = rng.choice(["web", "branch", "phone"], n, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4])
    gender = rng.choice(["female", "male", "other"], n, p=[0.48, 0.48, 0.04])
    age_band = np.where(age < 30, "<30", np.where(age < 50, "30-50", ">=50"))
    z = (np.log(income) - 10) * 2 + (balance - 1000) / 300 + (gender == "female") * 0.3 + rng.normal(0, 1, n)
    score = 1.0 / (1.0 + np.exp(-z))
    label = (rng.random(n) < score).astype(np.int64)
    columns: dict[str, Any] = {
        "income": income,
        "age": age,
        "balance": balance,
        "tenure": tenure,
        "region": region,
        "channel": channel,
        "gender": gender,
        "age_band": age_band,
        "score": score,
        "label": label,
        "unused": rng.normal(size=n),
    }
    table = pa.table(columns)
    if nulls:
        mask = rng.random(n) < 0.05
        table = table.set_column(table.column_names.index("balance"), "balance", pa.array(balance, mask=mask))
        table = table.set_column(
            table.column_names.index("region"), "region", pa.array(region, mask=rng.random(n) < 0.03)
        )
    return table


def regression_table(n: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(50 + shift, 10, n)
    x2 = 0.6 * x1 + rng.normal(0, 8, n)
    x3 = rng.uniform(0, 1, n)
    # AR(1) noise, so Durbin-Watson is not trivially 2.
    noise = np.empty(n)
    noise[0] = 0.0
    eps = rng.normal(0, 1, n)
    for i in range(1, n):
        noise[i] = 0.3 * noise[i - 1] + eps[i]
    target = 3 * x1 - 2 * x2 + 10 * x3 + noise * 5
    prediction = 3 * x1 - 2 * x2 + 10 * x3 + rng.normal(0, 2, n)
    return pa.table(
        {
            "x1": x1,
            "x2": x2,
            "x3": x3,
            "segment": rng.choice(["a", "b"], n),
            "target": target,
            "prediction": prediction,
        }
    )


def classification_schema(**overrides: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "problem_type": "classification",
        "label": "label",
        "score": "score",
        "positive_class": 1,
        "features": {"numeric": list(NUMERIC), "categorical": list(CATEGORICAL)},
        "protected_attributes": list(PROTECTED),
        "reference_groups": {"gender": "male"},
    }
    schema.update(overrides)
    return schema


def regression_schema(**overrides: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "problem_type": "regression",
        "label": "target",
        "score": "prediction",
        "features": {"numeric": ["x1", "x2", "x3"], "categorical": ["segment"]},
        "protected_attributes": [],
    }
    schema.update(overrides)
    return schema


@pytest.fixture
def write_parquet(tmp_path: Path) -> Callable[[pa.Table, str], Path]:
    def write(table: pa.Table, name: str) -> Path:
        path = tmp_path / name
        pq.write_table(table, path, row_group_size=max(1, table.num_rows // 3))
        return path

    return write


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[Any, str], Path]:
    def write(data: Any, name: str) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write
