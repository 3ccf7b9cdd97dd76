"""SageMaker ``Search`` expressions (Filters, NestedFilters, SubExpressions, And/Or) over plain records."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sandbox.aws.errors import AwsError

_MISSING = object()
_NEEDS_NO_VALUE = {"Exists", "NotExists"}


def resolve(record: Any, name: str) -> Any:
    """The value at a dotted property name, or _MISSING.

    Map keys may themselves contain dots (customer metadata such as ``governance.model_id``), so at each
    level the whole remainder is tried as a key before splitting on the first dot.
    """
    if name == "":
        return record
    if type(record) is dict or isinstance(record, Mapping):  # dict first: the ABC check is slow
        if name in record:
            return record[name]
        head, dot, rest = name.partition(".")
        if dot and head in record:
            return resolve(record[head], rest)
    return _MISSING


def parse_time(value: str, prop: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise AwsError(
            "ValidationException",
            f"Search filter value '{value}' for '{prop}' is not a timestamp: use ISO 8601 "
            "(2024-01-31T12:00:00Z) or epoch seconds.",
        ) from exc
    if parsed.tzinfo is None:
        raise AwsError(
            "ValidationException",
            f"Search filter value '{value}' for '{prop}' has no time zone: add Z or an offset.",
        )
    return parsed.timestamp()


def _coerce(actual: Any, raw: str, prop: str) -> Any:
    if isinstance(actual, bool):
        return raw.strip().lower() == "true"
    if isinstance(actual, float) and prop.split(".")[-1].endswith("Time"):
        return parse_time(raw, prop)
    if isinstance(actual, int | float):
        try:
            return type(actual)(raw)
        except ValueError as exc:
            raise AwsError(
                "ValidationException", f"Search filter value '{raw}' for '{prop}' is not a number."
            ) from exc
    return raw


def filter_matches(record: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    name = flt["Name"]
    operator = flt.get("Operator", "Equals")
    raw = flt.get("Value")
    if operator not in _NEEDS_NO_VALUE and raw is None:
        raise AwsError(
            "ValidationException",
            f"Search filter on '{name}' with Operator {operator} needs a Value; only Exists and "
            "NotExists take none.",
        )
    actual = resolve(record, name)
    if operator == "Exists":
        return actual is not _MISSING
    if operator == "NotExists":
        return actual is _MISSING
    if actual is _MISSING or (type(actual) is not str and isinstance(actual, Mapping)):
        return False
    assert raw is not None
    if operator == "Contains":
        if isinstance(actual, list):
            return raw in [str(item) for item in actual]
        return raw in str(actual)
    if isinstance(actual, list):
        return False
    if operator == "In":
        if isinstance(actual, str):  # a text property compares the parts as given: one set lookup
            return actual in _in_values(raw)
        return any(actual == _coerce(actual, part.strip(), name) for part in raw.split(","))
    expected = _coerce(actual, raw, name)
    comparisons = {
        "Equals": lambda a, b: a == b,
        "NotEquals": lambda a, b: a != b,
        "GreaterThan": lambda a, b: a > b,
        "GreaterThanOrEqualTo": lambda a, b: a >= b,
        "LessThan": lambda a, b: a < b,
        "LessThanOrEqualTo": lambda a, b: a <= b,
    }
    return bool(comparisons[operator](actual, expected))


@functools.lru_cache(maxsize=1024)
def _in_values(raw: str) -> frozenset[str]:
    """The comma-separated parts of an ``In`` filter's value, stripped (parsed once per value)."""
    return frozenset(part.strip() for part in raw.split(","))


def _nested_matches(record: Mapping[str, Any], nested: Mapping[str, Any]) -> bool:
    prop = nested["NestedPropertyName"]
    items = resolve(record, prop)
    if not isinstance(items, list):
        return False
    prefix = prop + "."
    filters = []
    for flt in nested.get("Filters", []):
        if not flt["Name"].startswith(prefix):
            raise AwsError(
                "ValidationException",
                f"Nested filter name '{flt['Name']}' must start with its NestedPropertyName '{prop}.'",
            )
        filters.append({**flt, "Name": flt["Name"][len(prefix) :]})
    # One element of the list has to satisfy all the nested filters together.
    return any(all(filter_matches(item, flt) for flt in filters) for item in items)


def expression_matches(record: Mapping[str, Any], expression: Mapping[str, Any] | None) -> bool:
    if not expression:
        return True
    results = [filter_matches(record, flt) for flt in expression.get("Filters", [])]
    results += [_nested_matches(record, nested) for nested in expression.get("NestedFilters", [])]
    results += [expression_matches(record, sub) for sub in expression.get("SubExpressions", [])]
    if not results:
        return True
    return any(results) if expression.get("Operator", "And") == "Or" else all(results)


def sort_records(records: list[dict[str, Any]], sort_by: str, descending: bool, key_of: str) -> None:
    """Sort in place by a property; records without it go last; ties break on ``key_of`` for stable pages."""

    def key(rec: dict[str, Any]) -> tuple[Any, ...]:
        value = resolve(rec, sort_by)
        if value is _MISSING or isinstance(value, Mapping | list):
            return (1, "", rec.get(key_of, ""))
        if isinstance(value, bool | int | float):
            return (0, float(value), rec.get(key_of, ""))
        return (0, str(value), rec.get(key_of, ""))

    keyed = [(key(r), r) for r in records]  # each key computed once
    present = [(k, r) for k, r in keyed if k[0] == 0]
    missing = [(k, r) for k, r in keyed if k[0] == 1]
    present.sort(key=lambda item: item[0], reverse=descending)
    missing.sort(key=lambda item: item[1].get(key_of, ""))
    records[:] = [r for _, r in present] + [r for _, r in missing]
