"""Indexes of the model packages, so a ``Search`` costs what its matching set costs, as AWS answers it.

AWS serves ``Search`` from an index, not by reading every package: a query that names packages by ARN, by
group or by life-cycle stage, or asks for recent changes, is answered at the cost of what it matches. The
sandbox did a full scan per call (each page of a 1,000-ARN lookup read all 10,000 packages), which made a
bulk read look slower than describing packages one at a time. This module keeps the sandbox's answers
identical and only narrows which packages are tested:

- ``candidates(expression)`` returns a superset of the packages the expression can match (``None``: no
  narrowing), from ``Equals``/``In`` filters on ``ModelPackageArn``, ``ModelPackageGroupName`` and
  ``ModelLifeCycle.Stage`` and from ``GreaterThan``/``GreaterThanOrEqualTo`` on ``LastModifiedTime``;
  ``And`` intersects the narrowed children, ``Or`` unites them (any un-narrowable child: no narrowing).
- Every candidate is still tested with the full expression (``search.expression_matches``), and sorted
  and paged as before, so the results are the same as a full scan's: the tests compare the two on random
  filter sets (``tests/integration/sandbox_aws/test_search_index.py``).
- The errors a full scan raises for a malformed top-level filter (no ``Value``, a time that does not
  parse) are raised first by ``check_expression`` whenever there is at least one package, so a narrowed
  search fails the same way. (Nested filters never narrow: a full scan checks them as before.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.aws import search
from sandbox.aws.errors import AwsError

_NARROWING = {"Equals", "In"}
_RECENT = {"GreaterThan", "GreaterThanOrEqualTo"}


class PackageIndex:
    """ARN -> key maps for groups and stages, and the packages in order of last modification.

    The registry's clock is strictly increasing and every write stamps ``LastModifiedTime`` with it, so
    moving a package to the end of ``_by_modified`` on each write keeps that dict sorted by the time.
    """

    def __init__(self) -> None:
        self._by_group: dict[str, set[str]] = {}
        self._by_stage: dict[str, set[str]] = {}
        self._keys: dict[str, tuple[str | None, str | None]] = {}  # ARN -> (group name, stage)
        self._by_modified: dict[str, float] = {}  # ARN -> LastModifiedTime, oldest first

    def clear(self) -> None:
        self._by_group.clear()
        self._by_stage.clear()
        self._keys.clear()
        self._by_modified.clear()

    def put(self, arn: str, desc: Mapping[str, Any]) -> None:
        """Index (or re-index after a write) the package ``arn`` described by ``desc``."""
        self.remove(arn)
        group = desc.get("ModelPackageGroupName")
        lifecycle = desc.get("ModelLifeCycle")
        stage = lifecycle.get("Stage") if isinstance(lifecycle, Mapping) else None
        group = group if isinstance(group, str) else None
        stage = stage if isinstance(stage, str) else None
        self._keys[arn] = (group, stage)
        if group is not None:
            self._by_group.setdefault(group, set()).add(arn)
        if stage is not None:
            self._by_stage.setdefault(stage, set()).add(arn)
        modified = desc.get("LastModifiedTime")
        newest = next(reversed(self._by_modified.values()), None)
        if isinstance(modified, int | float) and (newest is None or modified >= newest):
            self._by_modified[arn] = float(modified)
        else:
            # Out of order (not written through the registry's clock): keep the dict sorted anyway.
            items = [*self._by_modified.items(), (arn, float(modified or 0.0))]
            items.sort(key=lambda item: item[1])
            self._by_modified = dict(items)

    def remove(self, arn: str) -> None:
        keys = self._keys.pop(arn, None)
        if keys is None:
            return
        group, stage = keys
        for index, key in ((self._by_group, group), (self._by_stage, stage)):
            if key is not None:
                members = index.get(key)
                if members is not None:
                    members.discard(arn)
                    if not members:
                        del index[key]
        self._by_modified.pop(arn, None)

    # -- narrowing ---------------------------------------------------------------------------------------

    def candidates(self, expression: Mapping[str, Any] | None) -> set[str] | None:
        """A superset of the ARNs ``expression`` can match, or None when it cannot be narrowed."""
        if not expression:
            return None
        children: list[set[str] | None] = [self._filter(flt) for flt in expression.get("Filters", [])]
        children += [None for _ in expression.get("NestedFilters", [])]
        children += [self.candidates(sub) for sub in expression.get("SubExpressions", [])]
        if not children:
            return None
        if expression.get("Operator", "And") == "Or":
            if any(child is None for child in children):
                return None
            return set().union(*(child for child in children if child is not None))
        narrowed = [child for child in children if child is not None]
        if not narrowed:
            return None
        narrowed.sort(key=len)
        result = set(narrowed[0])
        for child in narrowed[1:]:
            result &= child
            if not result:
                break
        return result

    def _filter(self, flt: Mapping[str, Any]) -> set[str] | None:
        name, operator, raw = flt.get("Name"), flt.get("Operator", "Equals"), flt.get("Value")
        if not isinstance(raw, str):
            return None
        if operator in _NARROWING:
            values = [raw] if operator == "Equals" else [part.strip() for part in raw.split(",")]
            if name == "ModelPackageArn":
                return {value for value in values if value in self._keys}
            if name == "ModelPackageGroupName":
                return set().union(*(self._by_group.get(value, set()) for value in values))
            if name == "ModelLifeCycle.Stage":
                return set().union(*(self._by_stage.get(value, set()) for value in values))
            return None
        if operator in _RECENT and name == "LastModifiedTime":
            since = search.parse_time(raw, name)
            found: set[str] = set()
            for arn, modified in reversed(self._by_modified.items()):
                if modified < since or (modified == since and operator == "GreaterThan"):
                    break
                found.add(arn)
            return found
        return None


def check_expression(expression: Mapping[str, Any] | None) -> None:
    """Raise what a full scan would raise on any package for a malformed filter of ``expression``."""
    if not expression:
        return
    for flt in expression.get("Filters", []):
        _check_filter(flt)
    for sub in expression.get("SubExpressions", []):
        check_expression(sub)


def _check_filter(flt: Mapping[str, Any]) -> None:
    name, operator, raw = flt["Name"], flt.get("Operator", "Equals"), flt.get("Value")
    if operator in ("Exists", "NotExists"):
        return
    if raw is None:
        raise AwsError(
            "ValidationException",
            f"Search filter on '{name}' with Operator {operator} needs a Value; only Exists and "
            "NotExists take none.",
        )
    if operator == "Contains":
        return
    # Every package has these times, so a full scan coerces the value on the first package it tests.
    parts = [part.strip() for part in raw.split(",")] if operator == "In" else [raw]
    if name in ("CreationTime", "LastModifiedTime"):
        for part in parts:
            search.parse_time(part, name)
