"""SageMaker ``Search`` expressions (Filters, NestedFilters, SubExpressions, And/Or) over plain records."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sandbox.aws.errors import AwsError

_MISSING = object()
_NEEDS_NO_VALUE = {"Exists", "NotExists"}
#: Operators that test a text property against given values (compile_expression's fast path).
_LOOKUPS = ("Equals", "In")


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


Predicate = Callable[[Mapping[str, Any]], bool]


def compile_expression(expression: Mapping[str, Any] | None) -> Predicate:
    """``expression_matches`` as a predicate built once per search: each filter's name, operator and value
    are read once instead of once per record, and a text property tested with ``Equals``/``In`` (ARNs,
    group names, stages) is one set lookup. Same answers and same errors: nothing short-circuits (a
    filter that raises on a record raises as before), and anything off the fast path is
    ``filter_matches`` itself. The full scan keeps ``expression_matches``, so the
    index's contract tests (``test_search_index.py``) compare the two."""
    if not expression:
        return _always
    filters = expression.get("Filters", [])
    any_of = expression.get("Operator", "And") == "Or"
    tests: list[Predicate]
    if any_of and len(filters) > 1 and _one_text_lookup(filters):
        # ``Or`` of Equals/In filters on one property (a bulk read by ARN: 20 filters of ~12 ARNs): one set
        # of all their values, tested once per record instead of once per filter.
        tests = [_compile_filter(filters[0], extra=filters[1:])]
    else:
        tests = [_compile_filter(flt) for flt in filters]
    tests += [functools.partial(_nested_on, nested) for nested in expression.get("NestedFilters", [])]
    tests += [compile_expression(sub) for sub in expression.get("SubExpressions", [])]
    if not tests:
        return _always
    if any_of:
        return lambda record: any([test(record) for test in tests])
    return lambda record: all([test(record) for test in tests])


def _always(record: Mapping[str, Any]) -> bool:
    return True


def _nested_on(nested: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    return _nested_matches(record, nested)


def _one_text_lookup(filters: Sequence[Mapping[str, Any]]) -> bool:
    first = filters[0].get("Name")
    return all(
        flt.get("Name") == first
        and flt.get("Operator", "Equals") in _LOOKUPS
        and isinstance(flt.get("Value"), str)
        for flt in filters
    )


def _compile_filter(flt: Mapping[str, Any], extra: Sequence[Mapping[str, Any]] = ()) -> Predicate:
    """One filter (or, with ``extra``, the ``Or`` of filters on the same property, all Equals/In)."""
    if flt.get("Operator", "Equals") not in _LOOKUPS or not isinstance(flt.get("Value"), str):
        return functools.partial(_filter_on, flt)
    every = [flt, *extra]
    name = flt["Name"]
    # filter_matches on a str property: Equals compares with the raw value (_coerce leaves text as it is),
    # In looks it up among the value's stripped parts; so a str is in the union of those. Any other type
    # goes through filter_matches itself, filter by filter as expression_matches would.
    values = frozenset().union(
        *(
            _in_values(f["Value"]) if f.get("Operator", "Equals") == "In" else frozenset([f["Value"]])
            for f in every
        )
    )

    def test(record: Mapping[str, Any]) -> bool:
        actual = record[name] if type(record) is dict and name in record else resolve(record, name)
        if type(actual) is str:
            return actual in values
        return any([filter_matches(record, f) for f in every])

    return test


def _filter_on(flt: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    return filter_matches(record, flt)


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
